// The example programs shipped in the package: examples/<language>/<id>.py, the same code in
// every language, only the comments translated. The list here is the one the Open Example
// command, the walkthrough and the unit test (which runs every file) agree on.

import * as path from 'node:path';

/** Languages the examples' comments are written in, by folder name. */
export type ExampleLanguage = 'en' | 'zh-cn';
export const EXAMPLE_LANGUAGES: readonly ExampleLanguage[] = ['en', 'zh-cn'];

/** A pattern of the tutorials, or a pitfall a hint recognises (docs/hints.md). */
export type ExampleKind = 'pattern' | 'pitfall';

export const EXAMPLES = [
  { id: 'process_args', kind: 'pattern' },
  { id: 'process_subclass', kind: 'pattern' },
  { id: 'start_join_terminate', kind: 'pattern' },
  // The daemon and zombie examples are also the pitfalls of daemon-killed-with-parent and
  // unjoined-child: the pattern is the mistake.
  { id: 'daemon', kind: 'pattern' },
  { id: 'zombie', kind: 'pattern' },
  { id: 'pool', kind: 'pattern' },
  { id: 'queue_timeouts', kind: 'pattern' },
  { id: 'pipe', kind: 'pattern' },
  { id: 'lock', kind: 'pattern' },
  { id: 'value_array', kind: 'pattern' },
  { id: 'manager', kind: 'pattern' },
  { id: 'pitfall_queue_full', kind: 'pitfall' },
  { id: 'pitfall_queue_empty', kind: 'pitfall' },
  { id: 'pitfall_non_daemon_exit', kind: 'pitfall' },
  { id: 'pitfall_pool_not_closed', kind: 'pitfall' },
  { id: 'pitfall_missing_main_guard', kind: 'pitfall' },
] as const satisfies ReadonlyArray<{ id: string; kind: ExampleKind }>;

export type ExampleId = (typeof EXAMPLES)[number]['id'];

export function isExampleId(value: unknown): value is ExampleId {
  return typeof value === 'string' && EXAMPLES.some((e) => e.id === value);
}

/**
 * The comment language for a display language (VS Code's `vscode.env.language`, or a POSIX
 * locale such as `zh_CN.UTF-8`): Chinese of any region reads the Simplified Chinese comments,
 * every other language the English ones.
 */
export function exampleLanguageFor(displayLanguage: string): ExampleLanguage {
  return /^zh([-_]|$)/i.test(displayLanguage) ? 'zh-cn' : 'en';
}

/** Where an example's file lies under the extension's (or the repository's) root. */
export function examplePath(root: string, language: ExampleLanguage, id: ExampleId): string {
  return path.join(root, 'examples', language, `${id}.py`);
}

/**
 * The name of the user's copy: `<id>.py`, else `<id>-2.py`, `<id>-3.py`… The first name that
 * is free or holds the shipped text unchanged is taken, so a copy the user edited is never
 * overwritten, and opening an example again does not pile up identical copies.
 */
export async function copyNameFor(id: ExampleId, original: string, existing: (name: string) => Promise<string | undefined>): Promise<string> {
  for (let n = 1; n < 1000; n++) {
    const name = n === 1 ? `${id}.py` : `${id}-${n}.py`;
    const text = await existing(name);
    if (text === undefined || text === original) return name;
  }
  throw new Error(`too many edited copies of the example ${id}`);
}
