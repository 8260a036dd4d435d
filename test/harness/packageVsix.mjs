#!/usr/bin/env node
// npm run package: writes mptree.vsix at the repository root with vsce, never prompting.
// vsce rewrites README's relative links to absolute ones and detects the base only for
// GitHub/GitLab; for any other host the bases come from package.json's repository URL here,
// so they follow that field if it changes. With no repository field the links stay relative
// (see below). vsce's output is checked for warnings: a warning fails the packaging.
//
// Usage: node test/harness/packageVsix.mjs [--out FILE] [--cwd DIR]
// (--cwd packs another folder laid out like this repository: test/unit/vsix.test.ts uses it
// on a staged copy so it never rebuilds dist/ under other tests' feet.)
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: opts } = parseArgs({ options: { out: { type: 'string' }, cwd: { type: 'string' } } });
const cwd = resolve(opts.cwd ?? repoRoot);
const out = resolve(cwd, opts.out ?? 'mptree.vsix');
const manifest = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
const repoUrl = (typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url ?? '')
  .replace(/^git\+/, '').replace(/\.git$/, '');

const args = ['package', '--no-dependencies', '--out', out];
if (!repoUrl) {
  // No public repository to load the README's images from: the links stay relative and the
  // images ship in the package (.vscodeignore). VS Code's extension page resolves them in the
  // installed extension; the Marketplace's web page rewrites relative images to the
  // repository's, so it shows them only once package.json names a public repository.
  args.push('--allow-missing-repository', '--no-rewrite-relative-links');
} else if (!/github\.com|gitlab\.com/.test(repoUrl)) {
  args.push('--baseContentUrl', `${repoUrl}/blob/HEAD`, '--baseImagesUrl', `${repoUrl}/raw/HEAD`);
}
const vsce = join(dirname(createRequire(import.meta.url).resolve('@vscode/vsce/package.json')), 'vsce');
const started = Date.now();
// stdin closed: any question vsce would ask fails instead of waiting forever.
const result = spawnSync(process.execPath, [vsce, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
process.stdout.write(result.stdout ?? '');
process.stderr.write(result.stderr ?? '');
if (result.status !== 0) {
  console.error(`[package] vsce ${args.join(' ')} failed (${result.signal ?? `exit code ${result.status}`})`);
  process.exit(result.status || 1);
}
// A warning is a defect of the manifest or the README that the Marketplace would show.
const warnings = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => /\bWARNING\b/.test(line));
if (warnings.length > 0) {
  console.error(`[package] vsce warned:\n${warnings.join('\n')}`);
  process.exit(1);
}
const kib = (statSync(out).size / 1024).toFixed(1);
console.log(`[package] ${out} (${kib} KiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
