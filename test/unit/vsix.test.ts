// The .vsix holds the bundle, the Python runtime, the examples, the walkthrough and the docs
// (with the README's images), and none of the sources, tests,
// node_modules or source maps. The package is built from a staged copy of the repository with
// the current dist/ (the prepublish build is dropped from the copy), so this test never
// rewrites dist/ while other test files run against it in parallel.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXAMPLE_LANGUAGES, EXAMPLES } from '../../src/core/examples';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

// Names of the entries in a zip's central directory: enough of the format for a listing,
// so nothing like `unzip` has to be installed.
function zipEntryNames(zip: Buffer): string[] {
  const EOCD = 0x06054b50;
  const CENTRAL = 0x02014b50;
  let eocd = -1;
  // The end record is 22 bytes plus a comment of at most 65535.
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a zip file: no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== CENTRAL) throw new Error(`bad central directory entry at ${at}`);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

// Every Python file of the runtime (a package, with the patches as a subpackage), relative to
// src/runtime: the .vsix must carry each one, or a process of the user's run fails to import it.
function runtimeSources(dir = path.join(repoRoot, 'src', 'runtime'), rel = ''): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const name = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory() && entry.name !== '__pycache__') found.push(...runtimeSources(dir, name));
    else if (entry.isFile() && entry.name.endsWith('.py')) found.push(name);
  }
  return found;
}

function stageRepository(): string {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-vsix-'));
  const skip = new Set(['node_modules', '.git', '.vscode-test', 'out']);
  fs.cpSync(repoRoot, stage, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(repoRoot, src);
      return !skip.has(rel.split(path.sep)[0]) && !rel.endsWith('.vsix');
    },
  });
  const manifestPath = path.join(stage, 'package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  delete manifest.scripts['vscode:prepublish'];
  fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  // Decoys for what must stay out, whatever the current build happens to have produced.
  const decoys = [
    'node_modules/decoy/index.js',
    'dist/decoy.js.map',
    'dist/runtime/__pycache__/decoy.cpython-311.pyc',
    'dist/runtime/decoy.pyc',
    'out/decoy.js',
    'test/decoy.test.js',
  ];
  for (const rel of decoys) {
    fs.mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
    fs.writeFileSync(path.join(stage, rel), '// decoy\n');
  }
  return stage;
}

test('the .vsix ships the bundle, the Python runtime, the examples and the walkthrough, and no sources, tests or maps', () => {
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'extension.js'))) {
    const built = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'inherit' });
    assert.equal(built.status, 0, 'npm run build failed');
  }
  const stage = stageRepository();
  try {
    const vsix = path.join(stage, 'mptree.vsix');
    const packed = spawnSync(process.execPath,
      [path.join(repoRoot, 'test', 'harness', 'packageVsix.mjs'), '--cwd', stage, '--out', vsix],
      { encoding: 'utf8' });
    assert.equal(packed.status, 0, `packaging failed:\n${packed.stdout}\n${packed.stderr}`);

    const names = zipEntryNames(fs.readFileSync(vsix));
    for (const required of [
      'extension/package.json',
      'extension/package.nls.json',
      'extension/package.nls.zh-cn.json',
      'extension/l10n/bundle.l10n.json',
      'extension/l10n/bundle.l10n.zh-cn.json',
      'extension/dist/extension.js',
      'extension/dist/runtime/sitecustomize.py',
      'extension/media/mptree.svg',
      'extension/media/mptree.png',
      'extension/package.nls.json',
      'extension/package.nls.zh-cn.json',
      'extension/readme.md',
      'extension/changelog.md',
      'extension/LICENSE.txt',
    ]) {
      assert.ok(names.includes(required), `${required} missing from the .vsix; it holds:\n${names.join('\n')}`);
    }
    // Every example in every language, every walkthrough page and what the README shows.
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    const shipped = (rel: string) => assert.ok(names.includes(`extension/${rel}`), `${rel} missing from the .vsix`);
    shipped(manifest.icon);
    for (const { id } of EXAMPLES) for (const language of EXAMPLE_LANGUAGES) shipped(`examples/${language}/${id}.py`);
    for (const walkthrough of manifest.contributes.walkthroughs) {
      for (const step of walkthrough.steps) {
        shipped(step.media.markdown);
        shipped(step.media.markdown.replace(/\.md$/, '.nls.zh-cn.md'));
      }
    }
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    for (const [, image] of readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)) {
      if (!/^\w+:/.test(image)) shipped(image.replace(/^\.\//, ''));
    }
    const runtime = runtimeSources();
    assert.ok(runtime.includes('mptree_runtime/patches/__init__.py'), `runtime sources: ${runtime.join(', ')}`);
    const missing = runtime.filter((rel) => !names.includes(`extension/dist/runtime/${rel}`));
    assert.deepEqual(missing, [], `runtime files missing from the .vsix; it holds:\n${names.join('\n')}`);
    const unwanted = names.filter((n) =>
      /^extension\/(src|test|out|node_modules|bench|\.vscode|\.ci)\//.test(n)
      || /\.map$|\.pyc$|__pycache__|\.ts$|\.vsix$/.test(n));
    assert.deepEqual(unwanted, [], `the .vsix holds files it should not:\n${unwanted.join('\n')}`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
});
