import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PythonError, defaultInterpreters, findOnPath, findPython } from '../../src/core/python';

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
    assert.match(await code(findPython({ env: { PATH: empty } })), /^not-found: No Python found: none of python3, python is on PATH/);
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

  // Windows' lookup, on fake interpreters: Path and PathExt spelled as Windows does, the
  // Store's python.exe placeholder (prints how to install, exits 9009), then the py launcher.
  describe('the Windows lookup', () => {
    it('skips the Store placeholder and runs what py -3 finds as that interpreter itself', async () => {
      const bin = fs.mkdtempSync(path.join(dir, 'win-'));
      fs.writeFileSync(path.join(bin, 'python.EXE'), '#!/bin/sh\necho "Python was not found; run without arguments to install from the Microsoft Store" >&2; exit 9009\n', { mode: 0o755 });
      // py -3 -c PROBE: the launcher passes what follows -3 to the newest Python 3.
      fs.writeFileSync(path.join(bin, 'py.EXE'), `#!/bin/sh\n[ "$1" = -3 ] || exit 5\nshift\nexec '${process.execPath}' -e 'console.log("3 12 4"); console.log("C:\\\\Python312\\\\python.exe")' -- "$@"\n`, { mode: 0o755 });
      const info = await findPython({ platform: 'win32', env: { Path: `"${bin}";C:\\nowhere`, PathExt: '.COM;.EXE' } });
      assert.deepEqual(info.version, [3, 12, 4]);
      assert.equal(info.executable, 'C:\\Python312\\python.exe');
      // The run spawns the interpreter py chose, not py: no launcher between us and the program.
      assert.equal(info.command, 'C:\\Python312\\python.exe');
    });

    it('reports the first failure when no candidate answers, and names all three when none is there', async () => {
      const bin = fs.mkdtempSync(path.join(dir, 'win-'));
      fs.writeFileSync(path.join(bin, 'python.EXE'), '#!/bin/sh\necho "Python was not found" >&2; exit 9009\n', { mode: 0o755 });
      assert.match(await code(findPython({ platform: 'win32', env: { PATH: bin, PATHEXT: '.EXE' } })), /^failed: .*Python was not found/);
      const empty = fs.mkdtempSync(path.join(dir, 'win-empty-'));
      assert.match(await code(findPython({ platform: 'win32', env: { PATH: empty } })), /none of python, py -3, python3 is on PATH/);
    });

    it('an explicit Windows path may come quoted, with backslashes', async () => {
      assert.match(await code(findPython({ platform: 'win32', explicit: '"C:\\Program Files\\Python312\\python.exe"' })), /^not-found: Python interpreter not found: C:\\Program Files/);
      assert.deepEqual(defaultInterpreters('linux').map((c) => c.name), ['python3', 'python']);
    });
  });
});
