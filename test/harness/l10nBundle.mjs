// Writes l10n/bundle.l10n.json from the messages the sources use (see test/common/l10nStrings.ts),
// and lists the messages l10n/bundle.l10n.zh-cn.json lacks or no longer needs.
// Usage: npm run l10n:bundle (it compiles the tests first).
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { repoRoot, sourceFiles, collectMessages, englishBundle } = require('../../out/test/common/l10nStrings.js');
const { messages, nonLiteral } = collectMessages(sourceFiles(join(repoRoot, 'src')));
for (const line of nonLiteral) console.error(`not a literal message: ${line}`);
const bundle = englishBundle(messages);
writeFileSync(join(repoRoot, 'l10n', 'bundle.l10n.json'), JSON.stringify(bundle, null, 2) + '\n');
const zh = JSON.parse(readFileSync(join(repoRoot, 'l10n', 'bundle.l10n.zh-cn.json'), 'utf8'));
const missing = Object.keys(bundle).filter((m) => !(m in zh));
const stale = Object.keys(zh).filter((m) => !(m in bundle));
console.log(`${Object.keys(bundle).length} messages; zh-cn lacks ${missing.length}, has ${stale.length} unused`);
for (const m of missing) console.log(`missing: ${JSON.stringify(m)}`);
for (const m of stale) console.log(`unused: ${JSON.stringify(m)}`);
process.exitCode = nonLiteral.length ? 1 : 0;
