import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PythonError, findOnPath, findPython } from '../../src/core/python';

const posix = process.platform !== 'win32';

describe('findPython', { skip: !posix && 'fake interpreters are shell scripts' }, () => {
  let dir: string;
  // A fake interpreter answers the version probe like the real one would.
  const fake = (name: string, body: string, mode = 0o755) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode });
    return file;
  };
  const code = async (promise: Promise<unknown>) => {
    try {
      await promise;
      return 'ok';
    } catch (error) {
      assert.ok(error instanceof PythonError, String(error));
      return `${error.code}: ${error.message}`;
    }
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-py-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds the real python3 and reports its version and executable', async () => {
    const info = await findPython();
    assert.equal(info.version[0], 3);
    assert.ok(info.version[1] >= 8);
    assert.ok(path.isAbsolute(info.executable));
    assert.equal(info.versionString, info.version.join('.'));
  });

  it('explicit path that does not exist', async () => {
    assert.match(await code(findPython({ explicit: path.join(dir, 'nope', 'python') })), /^not-found: Python interpreter not found: /);
  });

  it('explicit path that is not executable', async () => {
    const file = fake('noexec', 'exit 0', 0o644);
    assert.match(await code(findPython({ explicit: file })), /^not-executable: /);
    assert.match(await code(findPython({ explicit: dir + '/' })), /^not-executable: /, 'a directory');
  });

  it('Python 2 is named as such', async () => {
    const file = fake('python2', 'echo "2 7 18"; echo /usr/bin/python2.7');
    assert.match(await code(findPython({ explicit: file })), /^python2: .* is Python 2\.7\.18; mptree needs Python 3\.8 or newer/);
  });

  it('Python older than 3.8', async () => {
    const file = fake('python37', 'echo "3 7 9"; echo /usr/bin/python3.7');
    assert.match(await code(findPython({ explicit: file })), /^too-old: .* is Python 3\.7\.9; mptree needs Python 3\.8 or newer/);
  });

  it('something that is not a Python', async () => {
    const file = fake('notpython', 'echo "unknown option -c" >&2; exit 2');
    assert.match(await code(findPython({ explicit: file })), /^failed: .*unknown option -c/);
    const chatty = fake('chatty', 'echo hello');
    assert.match(await code(findPython({ explicit: chatty })), /^failed: .*did not report a Python version/);
  });

  it('nothing on PATH', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
    assert.match(await code(findPython({ env: { PATH: empty } })), /^not-found: No Python found: neither python3 nor python is on PATH/);
  });

  it('falls back to python when python3 is missing, and looks up an explicit command name on PATH', async () => {
    const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
    fs.writeFileSync(path.join(bin, 'python'), '#!/bin/sh\necho "3 12 1"; echo /opt/python\n', { mode: 0o755 });
    const info = await findPython({ env: { PATH: bin } });
    assert.equal(info.command, path.join(bin, 'python'));
    assert.equal(info.executable, '/opt/python');
    assert.deepEqual(info.version, [3, 12, 1]);
    assert.equal((await findPython({ explicit: 'python', env: { PATH: bin } })).command, path.join(bin, 'python'));
    assert.match(await code(findPython({ explicit: 'python9', env: { PATH: bin } })), /^not-found: Python interpreter not found on PATH: python9/);
  });

  it('findOnPath skips non-executable files', () => {
    const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
    fs.writeFileSync(path.join(bin, 'python3'), '', { mode: 0o644 });
    assert.equal(findOnPath('python3', { PATH: bin }), null);
  });
});
