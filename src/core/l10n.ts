// Words the core shows to people, in their language. The core cannot import `vscode`, so it
// never translates by itself: it builds Phrases (the English text with {0}-style placeholders,
// and the arguments) and whoever shows them passes a Localizer. The extension passes
// vscode.l10n.t; the CLI one made from the same bundle (l10n/bundle.l10n.zh-cn.json), so there
// is one translation of every core message, keyed by its English text as vscode.l10n.t wants.
// Extraction (test/unit/l10n.test.ts) finds the messages as the literal first argument of
// calls to `t(...)`, `*.t(...)` and `phrase(...)`: keep them literal.

export type Localizer = (message: string, ...args: Array<string | number>) => string;

/** A message not yet put into words: rendered by the Localizer of whoever shows it. */
export interface Phrase {
  readonly message: string;
  readonly args: readonly PhraseArg[];
}
export type PhraseArg = string | number | Phrase;

export function phrase(message: string, ...args: PhraseArg[]): Phrase {
  return { message, args };
}

/** {0}, {1}… replaced by the arguments; a placeholder without one stays as written. */
export function format(template: string, args: ReadonlyArray<string | number>): string {
  return template.replace(/\{(\d+)\}/g, (whole, index: string) => {
    const i = Number(index);
    return i < args.length ? String(args[i]) : whole;
  });
}

export const english: Localizer = (message, ...args) => format(message, args);

/** A Localizer over a bundle (English message → translation); an untranslated message stays English. */
export function bundleLocalizer(bundle: Readonly<Record<string, string | { message: string }>>): Localizer {
  return (message, ...args) => {
    const entry = Object.prototype.hasOwnProperty.call(bundle, message) ? bundle[message] : undefined;
    const translated = typeof entry === 'string' ? entry : entry?.message ?? message;
    return format(translated, args);
  };
}

/** Nested phrases are rendered first, with the same Localizer. */
export function render(p: Phrase, t: Localizer = english): string {
  return t(p.message, ...p.args.map((a) => (typeof a === 'object' ? render(a, t) : a)));
}

/**
 * The language of a terminal, as gettext picks it: LC_ALL, then LC_MESSAGES, then LANG, the
 * first one set. Simplified Chinese is the one translation (zh_CN, zh_SG, zh_Hans, or a bare
 * zh); zh_TW and zh_HK read Traditional characters and get English rather than the wrong script.
 */
export function languageFromEnv(env: NodeJS.ProcessEnv): 'zh-cn' | 'en' {
  const value = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  const tag = value.split(/[.@]/)[0].toLowerCase().replace('-', '_');
  if (tag === 'zh' || tag === 'zh_cn' || tag === 'zh_sg' || tag.startsWith('zh_hans')) return 'zh-cn';
  return 'en';
}

/** An error whose message the user reads: `message` is English, `text` renders in theirs. */
export class LocalizedError extends Error {
  constructor(readonly text: Phrase) {
    super(render(text));
    this.name = 'LocalizedError';
  }
}

/** What to show for any caught error: a LocalizedError in the user's language, others as they are. */
export function errorText(error: unknown, t: Localizer): string {
  if (error instanceof LocalizedError) return render(error.text, t);
  return (error as Error)?.message ?? String(error);
}
