// The interpreter check remembered by file identity: the real interpreter (a binary) is asked
// once and then read from the cache while it is the same file; a changed identity, a broken
// or foreign cache file are ignored; a script or a version manager's shim is never remembered.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InterpreterCache } from '../../src/core/interpreterCache';
import { checkPython, findPython, isVersionManagerShim } from '../../src/core/python';
import { RunSession } from '../../src/core/session';

const posix = process.platform !== 'win32';
const realPython = execFileSync(process.env.MPTREE_TEST_PYTHON || 'python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

describe('the interpreter check cache', { skip: !posix && 'fake interpreters are shell scripts' }, () => {
  let dir: string;
  let n = 0;
  const freshCache = () => {
    const cacheDir = path.join(dir, `cache-${n++}`);
    return { cacheDir, cache: new InterpreterCache(cacheDir), file: path.join(cacheDir, 'interpreters.json') };
  };
  const entries = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')).entries as Record<string, { version: number[]; identity: { ino: number } }>;
  const rewrite = (file: string, change: (entry: { version: number[]; identity: { ino: number } }) => void) => {
    const all = entries(file);
    for (const entry of Object.values(all)) change(entry);
    fs.writeFileSync(file, JSON.stringify({ v: 1, entries: all }), { mode: 0o600 });
  };

  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-icache-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the real interpreter is asked once, then read from the cache while it is the same file', async () => {
    const { cache, file } = freshCache();
    const asked = await checkPython(realPython, { cache });
    assert.equal(asked.version[0], 3);
    assert.equal(Object.keys(entries(file)).length, 1);
    // A version no interpreter here has: only the cache can answer it.
    rewrite(file, (entry) => (entry.version = [3, 99, 0]));
    const remembered = await checkPython(realPython, { cache });
    assert.equal(remembered.versionString, '3.99.0');
    assert.equal(remembered.executable, asked.executable);
    // Another file at that path (an upgrade): asked again.
    rewrite(file, (entry) => (entry.identity.ino += 1));
    assert.deepEqual((await checkPython(realPython, { cache })).version, asked.version);
    assert.deepEqual(entries(file)[Object.keys(entries(file))[0]].version, asked.version, 'the new answer replaced the old');
  });

  it('a broken or foreign cache file is ignored (and a broken one rewritten)', async () => {
    const { cache, file, cacheDir } = freshCache();
    const real = await checkPython(realPython, { cache });
    fs.writeFileSync(file, '{"v":1,"entries":{"oops', { mode: 0o600 });
    assert.deepEqual((await checkPython(realPython, { cache })).version, real.version);
    assert.equal(Object.keys(entries(file)).length, 1, 'rewritten whole');
    // Writable by others: a planted entry would choose what the run launches.
    rewrite(file, (entry) => (entry.version = [3, 99, 0]));
    fs.chmodSync(file, 0o666);
    assert.deepEqual((await checkPython(realPython, { cache })).version, real.version);
    fs.chmodSync(cacheDir, 0o777);
    assert.equal(cache.get(realPython), null, 'a folder others can write is not read');
  });

  it('a script, with or without #!, is never remembered', async () => {
    const { cache, file } = freshCache();
    const script = path.join(dir, 'wrapper');
    fs.writeFileSync(script, `#!/bin/sh\nexec ${realPython} "$@"\n`, { mode: 0o755 });
    assert.equal((await checkPython(script, { cache })).version[0], 3);
    // Without #!, run by the shell (execvp's fallback), as a terminal would.
    const bare = path.join(dir, 'wrapper-without-hashbang');
    fs.writeFileSync(bare, `exec ${realPython} "$@"\n`, { mode: 0o755 });
    assert.equal((await checkPython(bare, { cache })).version[0], 3);
    assert.equal(fs.existsSync(file), false);
  });

  it('a version manager’s shim is taken unchecked by a run and checked otherwise', async () => {
    const shims = path.join(dir, 'shims');
    fs.mkdirSync(shims);
    const shim = path.join(shims, 'python3');
    fs.writeFileSync(shim, `#!/bin/sh\nexec ${realPython} "$@"\n`, { mode: 0o755 });
    assert.equal(isVersionManagerShim(shim), true);
    assert.equal(isVersionManagerShim(realPython), false);
    const forRun = await findPython({ explicit: shim, uncheckedShims: true });
    assert.equal(forRun.unchecked, true);
    assert.equal(forRun.command, shim);
    const checked = await findPython({ explicit: shim, cache: null });
    assert.equal(checked.unchecked, undefined);
    assert.equal(checked.version[0], 3);
  });

  it('a run through a shim: the program runs through it and reports; one that cannot is asked why afterwards', async () => {
    const shims = path.join(dir, 'run', 'shims');
    fs.mkdirSync(shims, { recursive: true });
    const good = path.join(shims, 'python3');
    fs.writeFileSync(good, `#!/bin/sh\nexec ${realPython} "$@"\n`, { mode: 0o755 });
    const script = path.join(dir, 'hello.py');
    fs.writeFileSync(script, 'import os\nprint(os.getpid())\n');
    const runtimeDir = path.resolve(__dirname, '..', '..', '..', 'src', 'runtime');
    const session = await RunSession.create({ target: { script, args: [] }, cwd: dir, python: good, runtimeDir });
    assert.equal(session.launch.command, good, 'launched through the shim, as bare');
    session.start('ignore');
    const info = await session.ended;
    assert.equal(info.exitCode, 0);
    assert.equal(session.model.processByPid(info.rootPid!)?.instrumented, true, 'the program said hello: its Python is fine');
    assert.equal(info.notice, null);
    session.dispose();
    // A shim that resolves to Python 2 (a fake that answers the probe and ignores the script).
    const old = path.join(shims, 'python');
    fs.writeFileSync(old, '#!/bin/sh\necho "2 7 18"; echo /usr/bin/python2.7\n', { mode: 0o755 });
    const silent = await RunSession.create({ target: { script, args: [] }, cwd: dir, python: old, runtimeDir });
    silent.start('ignore');
    const told = await silent.ended;
    assert.equal(told.exitCode, 0);
    assert.match(told.notice ?? '', /is Python 2\.7\.18; mptree needs Python 3\.8 or newer/);
    silent.dispose();
  });
});
