// Every word a user reads has an English entry and a Simplified Chinese one, and none bypasses
// localization: package.json's %key%s against package.nls*.json, the code's messages (the
// literal first argument of l10n.t / t / phrase, see test/common/l10nStrings.ts) against
// l10n/bundle.l10n*.json, placeholders kept, and src/vscode scanned for text shown as a literal.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { collectMessages, englishBundle, findBypasses, repoRoot, sourceFiles } from '../common/l10nStrings';

const readJson = (rel: string) => JSON.parse(fs.readFileSync(path.join(repoRoot, rel), 'utf8')) as Record<string, unknown>;
const placeholders = (text: string) => [...new Set(text.match(/\{\d+\}/g) ?? [])].sort();

function manifestKeys(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    const m = /^%(.+)%$/.exec(value);
    if (m) found.add(m[1]);
  } else if (Array.isArray(value)) for (const v of value) manifestKeys(v, found);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) manifestKeys(v, found);
  return found;
}

test('package.json: every %key% is in package.nls.json and package.nls.zh-cn.json, and nls has no key zh-cn lacks', () => {
  const manifest = readJson('package.json');
  const nls = readJson('package.nls.json');
  const zh = readJson('package.nls.zh-cn.json');
  const used = manifestKeys(manifest);
  assert.ok(used.size > 40, `only ${used.size} %key%s in package.json`);
  assert.deepEqual([...used].filter((k) => !(k in nls)), [], 'keys missing from package.nls.json');
  assert.deepEqual([...used].filter((k) => !(k in zh)), [], 'keys missing from package.nls.zh-cn.json');
  assert.deepEqual(Object.keys(nls).filter((k) => !(k in zh)), [], 'package.nls.json keys missing from package.nls.zh-cn.json');
  assert.deepEqual(Object.keys(zh).filter((k) => !(k in nls)), [], 'zh-cn keys that package.nls.json does not have');
  for (const [key, value] of Object.entries(zh)) {
    assert.ok(typeof value === 'string' && value.trim() !== '', `${key} is empty in zh-cn`);
    assert.notEqual(value, nls[key] === 'mptree' ? undefined : nls[key], `${key} is not translated`);
  }
  assert.equal(manifest.l10n, './l10n');
});

test('package.json: contributed text is %key%s, not literal English', () => {
  const manifest = readJson('package.json') as { contributes: Record<string, unknown>; displayName: string; description: string };
  const literal: string[] = [];
  const shown = new Set(['title', 'name', 'description', 'markdownDescription', 'label', 'contents', 'enumDescriptions', 'markdownEnumDescriptions', 'category']);
  const visit = (value: unknown, key: string, where: string) => {
    if (typeof value === 'string') {
      if (shown.has(key) && !/^%.+%$/.test(value) && !where.includes('.body')) literal.push(`${where}: ${value}`);
    } else if (Array.isArray(value)) value.forEach((v, i) => visit(v, shown.has(key) ? key : String(i), `${where}[${i}]`));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, k, `${where}.${k}`);
  };
  visit(manifest.contributes, '', 'contributes');
  visit(manifest.displayName, 'title', 'displayName');
  visit(manifest.description, 'description', 'description');
  assert.deepEqual(literal, []);
});

test('l10n/bundle.l10n.json holds exactly the messages the sources use, and zh-cn translates each with the same placeholders', () => {
  const { messages, nonLiteral } = collectMessages(sourceFiles(path.join(repoRoot, 'src')));
  assert.deepEqual(nonLiteral, [], 'a message must be a literal to be found in a bundle');
  assert.ok(messages.size > 150, `only ${messages.size} messages found: is the scan broken?`);
  const bundle = readJson('l10n/bundle.l10n.json');
  const expected = englishBundle(messages);
  const missing = Object.keys(expected).filter((m) => !(m in bundle));
  const stale = Object.keys(bundle).filter((m) => !(m in expected));
  assert.deepEqual({ missing, stale }, { missing: [], stale: [] }, 'l10n/bundle.l10n.json is out of date: run npm run l10n:bundle');
  const zh = readJson('l10n/bundle.l10n.zh-cn.json');
  assert.deepEqual(Object.keys(expected).filter((m) => !(m in zh)), [], 'messages without a zh-cn translation');
  assert.deepEqual(Object.keys(zh).filter((m) => !(m in expected)), [], 'zh-cn translations of messages no source uses');
  for (const [message, translated] of Object.entries(zh)) {
    assert.equal(typeof translated, 'string', message);
    assert.deepEqual(placeholders(translated as string), placeholders(message), `placeholders differ for ${JSON.stringify(message)}`);
  }
});

test('src/vscode shows no literal text: messages, tree items, quick picks, status bar, progress, tooltips go through vscode.l10n.t', () => {
  const files = sourceFiles(path.join(repoRoot, 'src', 'vscode'));
  assert.ok(files.length > 20);
  assert.deepEqual(findBypasses(files), []);
});

test('the timeline webview reads only words the extension injects, and shows no literal English', () => {
  const script = fs.readFileSync(path.join(repoRoot, 'media', 'timeline.js'), 'utf8');
  const provided = fs.readFileSync(path.join(repoRoot, 'src', 'vscode', 'timeline', 'timelineStrings.ts'), 'utf8');
  const keys = new Set([...provided.matchAll(/^\s+(\w+): t\(/gm)].map((m) => m[1]));
  const read = new Set([...script.matchAll(/\bS\.(\w+)/g)].map((m) => m[1]));
  assert.ok(read.size > 15, `the script reads only ${read.size} strings`);
  assert.deepEqual([...read].filter((k) => !keys.has(k)), [], 'keys timeline.js reads that timelineStrings() lacks');
  // What it draws or sets as text: fillText(...) and textContent = ..., never a literal with words.
  const literal = [...script.matchAll(/(?:fillText\(|textContent\s*=\s*|lines\.push\()\s*('[^']*'|`[^`]*`)/g)]
    .map((m) => m[1])
    .filter((text) => /[A-Za-z]{2}/.test(text.replace(/\$\{[^}]*\}/g, '')));
  assert.deepEqual(literal, []);
});

test('the bypass scan catches what it is meant to', () => {
  // The scan itself, on a sample of each shape it must reject and of the ones it must accept.
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'mptree-l10n-'));
  const file = path.join(dir, 'sample.ts');
  fs.writeFileSync(file, [
    "vscode.window.showInformationMessage('Hello there');",
    'vscode.window.showWarningMessage(`No run ${x}`, l10n.t("OK"));',
    'vscode.window.showErrorMessage(l10n.t("Fine"), "Retry");',
    "item.tooltip = 'A tooltip';",
    "const pick = { label: 'Run', description: l10n.t('fine') };",
    "new vscode.TreeItem('Label');",
    "status.text = '$(sync~spin) Running ' + count;",
    "tip.appendMarkdown(`**${name}** — pid ${pid}`);",
    "new vscode.Diagnostic(range, cond ? l10n.t('a') : 'plain');",
    // Accepted: localized, or no words.
    "item.description = `${a} · ${b}`;",
    "status.text = `$(play) ${l10n.t('Run')}`;",
    "vscode.window.showInformationMessage(l10n.t('Hello {0}', name));",
  ].join('\n'));
  const found = findBypasses([file]).map((line) => Number(/sample\.ts:(\d+)/.exec(line)?.[1]));
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(found, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
