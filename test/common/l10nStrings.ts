// Reads the sources for their localizable messages and for user-facing text that bypasses
// localization, with the TypeScript parser (a regex would miss escapes, nested parentheses and
// multi-line calls). Used by test/unit/l10n.test.ts and by `npm run l10n:bundle`, which writes
// l10n/bundle.l10n.json from what this finds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

function where(source: ts.SourceFile, node: ts.Node): string {
  const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return `${path.relative(repoRoot, source.fileName)}:${line + 1}`;
}

/** `t(...)`, `l10n.t(...)`, `vscode.l10n.t(...)`, `options.t(...)` and `phrase(...)`. */
function isLocalizerCall(node: ts.CallExpression): boolean {
  const callee = node.expression;
  if (ts.isIdentifier(callee)) return callee.text === 't' || callee.text === 'phrase';
  return ts.isPropertyAccessExpression(callee) && callee.name.text === 't';
}

export interface Messages {
  /** Every literal message, with where it is used. */
  messages: Map<string, string[]>;
  /** Localizer calls whose message is not a literal: no bundle could hold them. */
  nonLiteral: string[];
}

// The seam itself passes messages through (render, bundleLocalizer): nothing to extract there.
const PASS_THROUGH = new Set([path.join('src', 'core', 'l10n.ts')]);

export function collectMessages(files: readonly string[]): Messages {
  const messages = new Map<string, string[]>();
  const nonLiteral: string[] = [];
  for (const file of files) {
    const source = parse(file);
    const passThrough = PASS_THROUGH.has(path.relative(repoRoot, file));
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && isLocalizerCall(node) && node.arguments.length > 0) {
        const first = node.arguments[0];
        if (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)) {
          const list = messages.get(first.text) ?? [];
          list.push(where(source, node));
          messages.set(first.text, list);
        } else if (!passThrough) nonLiteral.push(`${where(source, node)}: ${node.getText(source).slice(0, 80)}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { messages, nonLiteral };
}

// Codicons ($(play)), the product's name, file extensions and punctuation are not words; a
// literal with a letter left is.
const hasWords = (text: string) => /\p{L}/u.test(text.replace(/\$\([a-z-~]+\)|\bmptree\b|\.(py|json)\b/g, ''));

/** The English words an expression puts on screen without going through a Localizer. */
function rawText(expr: ts.Expression, source: ts.SourceFile): string | null {
  if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr)) return rawText(expr.expression, source);
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return hasWords(expr.text) ? expr.text : null;
  if (ts.isTemplateExpression(expr)) {
    const literal = [expr.head.text, ...expr.templateSpans.map((s) => s.literal.text)].join('…');
    if (hasWords(literal)) return literal;
    for (const span of expr.templateSpans) {
      const inner = rawText(span.expression, source);
      if (inner) return inner;
    }
    return null;
  }
  if (ts.isBinaryExpression(expr) && expr.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    return rawText(expr.left, source) ?? rawText(expr.right, source);
  }
  if (ts.isConditionalExpression(expr)) return rawText(expr.whenTrue, source) ?? rawText(expr.whenFalse, source);
  if (ts.isBinaryExpression(expr) && (expr.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || expr.operatorToken.kind === ts.SyntaxKind.BarBarToken)) {
    return rawText(expr.right, source);
  }
  if (ts.isArrayLiteralExpression(expr)) {
    for (const e of expr.elements) {
      const inner = ts.isExpression(e) ? rawText(e, source) : null;
      if (inner) return inner;
    }
  }
  return null;
}

// What people read: tree items, quick picks, status bar, progress, input boxes, diagnostics.
const SHOWN_PROPERTIES = new Set(['label', 'description', 'detail', 'tooltip', 'title', 'placeHolder', 'placeholder', 'prompt', 'text', 'message', 'openLabel', 'saveLabel']);
// First argument is text: messages, tree items, Markdown; `[index]` names other text arguments.
const SHOWN_ARGUMENTS = new Map<string, number[]>(Object.entries({
  showInformationMessage: [0, 1, 2, 3, 4],
  showWarningMessage: [0, 1, 2, 3, 4],
  showErrorMessage: [0, 1, 2, 3, 4],
  setStatusBarMessage: [0],
  appendMarkdown: [0],
  appendText: [0],
  appendTable: [1],
  createWebviewPanel: [1],
}));
const SHOWN_CONSTRUCTORS = new Map<string, number[]>(Object.entries({
  TreeItem: [0],
  MarkdownString: [0],
  Diagnostic: [1],
  FileDecoration: [1],
  DiagnosticRelatedInformation: [1],
}));

/** User-facing text in `files` given as a literal instead of a Localizer call. */
export function findBypasses(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const source = parse(file);
    const report = (node: ts.Node, text: string) => found.push(`${where(source, node)}: ${JSON.stringify(text.slice(0, 60))}`);
    const check = (node: ts.Node, expr: ts.Expression | undefined) => {
      if (!expr) return;
      const text = rawText(expr, source);
      if (text) report(node, text);
    };
    const visit = (node: ts.Node) => {
      if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && SHOWN_PROPERTIES.has(node.name.text)) check(node, node.initializer);
      if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(node.left) && SHOWN_PROPERTIES.has(node.left.name.text)) {
        check(node, node.right);
      }
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
        for (const i of SHOWN_ARGUMENTS.get(name) ?? []) check(node, node.arguments[i]);
      }
      if (ts.isNewExpression(node)) {
        const callee = node.expression;
        const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
        for (const i of SHOWN_CONSTRUCTORS.get(name) ?? []) check(node, node.arguments?.[i]);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** l10n/bundle.l10n.json as it must be: every message once, English to English. */
export function englishBundle(messages: Map<string, string[]>): Record<string, string> {
  const bundle: Record<string, string> = {};
  for (const message of [...messages.keys()].sort()) bundle[message] = message;
  return bundle;
}
