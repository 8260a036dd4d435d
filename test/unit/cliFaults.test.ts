// The CLI when things go wrong, through the bundled CLI (dist/cli.js; `npm run build` first): bad
// input gets one clear line and no stack trace, nothing of the program's own output or exit
// code is lost, faults show up as what they are, and an interrupted CLI leaves no process
// behind (checked through the OS). The cases are independent, so they run concurrently.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SnapshotJson } from '../../src/core/types';
import { startInGroup, stillThere } from './cliProcess';

const root = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const fixtures = path.join(root, 'test', 'fixtures', 'faults');
const cliFixtures = path.join(root, 'test', 'fixtures', 'cli');
const posix = process.platform !== 'win32';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, env: { ...process.env, MPTREE_DEBUG: '', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mptree ${args.join(' ')} timed out\n${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

const NODE_STACK = /\n\s+at .+[(:]\d+/;

let tmp: string;
let realPython: string;
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** A fake interpreter that runs mptree's real version probe as Python `version` would answer it. */
function fakePython(name: string, version: [number, number, number]): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(
    file,
    [
      `#!${realPython}`,
      'import sys',
      "if len(sys.argv) >= 3 and sys.argv[1] == '-c':",
      `    sys.version_info = (${version.join(', ')}, 'final', 0)`,
      `    sys.executable = '/usr/bin/python${version[0]}.${version[1]}'`,
      "    exec(sys.argv[2], {'__name__': '__main__'})",
      'else:',
      "    sys.stderr.write('fake python: asked to run a program\\n')",
      '    sys.exit(9)',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return file;
}

describe('the CLI when things go wrong', { skip: !posix && 'POSIX processes and signals', concurrency: true }, () => {
  before(() => {
    assert.ok(fs.existsSync(cli), `${cli} is missing: run \`npm run build\` before the unit tests`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-cli-faults-'));
    realPython = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('Python 2.7 and 3.6 are refused by name, and the program is never run', async () => {
    const script = path.join(cliFixtures, 'echo_stdin.py');
    const py27 = await runCli(['run', '--python', fakePython('python2.7', [2, 7, 18]), script]);
    assert.equal(py27.code, 2);
    assert.match(py27.stderr, /^mptree: .*python2\.7 is Python 2\.7\.18; mptree needs Python 3\.8 or newer \(Python 2 is not supported\)\n$/);
    const py36 = await runCli(['run', '--python', fakePython('python3.6', [3, 6, 15]), script]);
    assert.equal(py36.code, 2);
    assert.match(py36.stderr, /^mptree: .*python3\.6 is Python 3\.6\.15; mptree needs Python 3\.8 or newer\n$/);
    for (const result of [py27, py36]) {
      assert.doesNotMatch(result.stderr, /asked to run a program/);
      assert.doesNotMatch(result.stderr, NODE_STACK);
      assert.equal(result.stdout, '');
    }
  });

  it('a binary file is refused in one line; a text file that is not Python gets Python’s own error', async () => {
    const binary = path.join(tmp, 'program');
    fs.writeFileSync(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]));
    const bin = await runCli(['run', binary]);
    assert.equal(bin.code, 2);
    assert.equal(bin.stderr, `mptree: ${binary} is not a Python file (it has binary content)\n`);
    const text = path.join(tmp, 'notes.txt');
    fs.writeFileSync(text, 'Buy milk, then eggs.\n');
    const notes = await runCli(['run', '--no-live', text]);
    assert.equal(notes.code, 1, 'Python’s exit code');
    assert.match(notes.stderr, /notes\.txt", line 1[\s\S]*SyntaxError/);
    assert.match(notes.stderr, /exited 1|exit 1/);
    assert.doesNotMatch(notes.stderr, NODE_STACK);
    // A zip application (binary, but runnable by Python) is not refused.
    const zipapp = path.join(tmp, 'app.pyz');
    const zipSource = fs.mkdtempSync(path.join(tmp, 'zip-'));
    fs.writeFileSync(path.join(zipSource, '__main__.py'), "print('zip app ran')\n");
    execFileSync(realPython, ['-m', 'zipapp', zipSource, '-o', zipapp]);
    const zip = await runCli(['run', '--quiet', zipapp]);
    assert.equal(zip.code, 0, zip.stderr);
    assert.equal(zip.stdout, 'zip app ran\n');
  });

  it('a program that crashes at once: its traceback, its exit code, nothing of ours', async () => {
    const result = await runCli(['run', '--no-live', path.join(fixtures, 'crash.py')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Traceback \(most recent call last\)[\s\S]*RuntimeError: 崩溃 at import/);
    assert.match(result.stderr, /mptree .*crash\.py {2}exit 1/);
    assert.doesNotMatch(result.stderr, NODE_STACK);
  });

  it('isolated mode (-I, -S) through a #!-less --python wrapper: the OS view, and a notice', async () => {
    const variants = ['-I', '-S'].map(async (flag) => {
      const wrapper = path.join(tmp, `python${flag}`);
      // No #!: the shell runs it (execvp's ENOEXEC fallback), as it would from a terminal.
      fs.writeFileSync(wrapper, `exec '${realPython}' ${flag} "$@"\n`, { mode: 0o755 });
      const snapshot = path.join(tmp, `isolated${flag}.json`);
      const truthFile = path.join(tmp, `isolated${flag}-truth.json`);
      const result = await runCli(['run', '--no-live', '--python', wrapper, '--snapshot', snapshot, path.join(cliFixtures, 'family.py'), '4'], {
        env: { MPTREE_TRUTH: truthFile },
      });
      assert.equal(result.code, 4, result.stderr);
      assert.equal(result.stdout, 'family: done\n');
      assert.match(result.stderr, /did not report to mptree: Python was probably started in isolated mode/);
      const truth = readJson<Record<string, { pid: number } | number>>(truthFile);
      const snap = readJson<SnapshotJson>(snapshot);
      const main = snap.processes.find((p) => p.pid === truth.main)!;
      assert.equal(main.kind, 'main');
      assert.equal(main.exitCode, 4);
      for (const name of ['quitter', 'victim', 'sleep']) {
        const node = snap.processes.find((p) => p.pid === (truth[name] as { pid: number }).pid);
        assert.ok(node, `${flag}: ${name} seen by the OS scan`);
        assert.equal(node.kind, 'os', `${flag}: ${name} known only to the OS`);
        assert.equal(node.parentPid, truth.main);
        assert.equal(node.state, 'exited');
      }
    });
    await Promise.all(variants);
  });

  it('the user’s own sitecustomize and PYTHONPATH still work, and so does mptree', async () => {
    const snapshot = path.join(tmp, 'userpath.json');
    const result = await runCli(['run', '--quiet', '--snapshot', snapshot, path.join(fixtures, 'uses_userpath.py')], {
      env: { PYTHONPATH: path.join(fixtures, 'userpath') },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'sitecustomize=loaded helper=42 child=0\n');
    const child = readJson<SnapshotJson>(snapshot).processes.find((p) => p.name === 'user-child');
    assert.ok(child, 'the runtime reported the child by name');
    assert.equal(child.kind, 'process');
    assert.equal(child.exitCode, 0);
  });

  it('a script in a directory named in Chinese, processes named in Chinese', async () => {
    const dir = path.join(tmp, '进程 测试');
    fs.mkdirSync(dir, { recursive: true });
    const script = path.join(dir, '脚本.py');
    fs.copyFileSync(path.join(fixtures, 'names.py'), script);
    const snapshot = path.join(dir, '快照.json');
    const truthFile = path.join(dir, '真相.json');
    const result = await runCli(['run', '--no-live', '--snapshot', snapshot, script, '参数', 'ü'], { env: { MPTREE_TRUTH: truthFile } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '完成: 参数 ü\n');
    const truth = readJson<{ main: number; children: Record<string, number> }>(truthFile);
    const snap = readJson<SnapshotJson>(snapshot);
    assert.equal(snap.run.script, script);
    assert.deepEqual(snap.run.args, ['参数', 'ü']);
    for (const [name, pid] of Object.entries(truth.children)) {
      const node = snap.processes.find((p) => p.pid === pid);
      assert.equal(node?.name, name);
      assert.equal(node?.parentPid, truth.main);
      assert.match(result.stderr, new RegExp(`${name} \\[${pid}\\]`), 'the final tree shows the name');
    }
    assert.deepEqual(Object.keys(truth.children).sort(), ['工人-1', '工人-2', '生产者'].sort());
  });

  it('a child that starts a grandchild and is SIGKILLed: killed by SIGKILL; the grandchild stays under it, orphaned', async () => {
    const snapshot = path.join(tmp, 'orphan.json');
    const truthFile = path.join(tmp, 'orphan-truth.json');
    const result = await runCli(['run', '--no-live', '--snapshot', snapshot, path.join(fixtures, 'orphan.py')], { env: { MPTREE_TRUTH: truthFile } });
    assert.equal(result.code, 0, result.stderr);
    const truth = readJson<{ main: number; parent: number; orphan: number; parentExit: number }>(truthFile);
    assert.equal(truth.parentExit, -9);
    const snap = readJson<SnapshotJson>(snapshot);
    const byPid = (pid: number) => snap.processes.find((p) => p.pid === pid)!;
    assert.deepEqual([byPid(truth.parent).state, byPid(truth.parent).exitCode, byPid(truth.parent).signal], ['exited', -9, 'SIGKILL']);
    const orphan = byPid(truth.orphan);
    assert.equal(orphan.parentPid, truth.parent, 'under its logical parent');
    assert.equal(orphan.orphaned, true);
    assert.equal(orphan.state, 'exited', 'the run waited for it');
    assert.equal(orphan.exitCode, 5, 'its own last word (process.exiting), as its parent is gone');
    assert.equal(byPid(truth.parent).orphaned, false);
    // Tree order: the orphan right below its dead parent.
    const order = snap.processes.map((p) => p.pid);
    assert.equal(order.indexOf(truth.orphan), order.indexOf(truth.parent) + 1);
    assert.match(result.stderr, /doomed-parent \[\d+\].*killed by SIGKILL( · .*)?\n.*orphan \[\d+\] orphaned {2}exited 5/);
    assert.deepEqual(await stillThere([truth.orphan]), []);
  });



  // A signal to mptree alone reached nobody else: mptree stops the run and exits 128+N of
  // the signal it got, whatever the program's processes died of.
  for (const [signal, times, code] of [
    ['SIGHUP', 1, 129],
    ['SIGINT', 1, 130],
  ] as const) {
    it(`${signal}${times > 1 ? ` ×${times}` : ''} to mptree alone: every process of the run ends (ESRCH)`, async () => {
      const truthFile = path.join(tmp, `leftovers-${signal}.json`);
      const run = startInGroup([path.join(cliFixtures, 'leftovers.py')], truthFile);
      try {
        await run.ready();
        const truth = readJson<{ main: number; child: number; helper: number }>(truthFile);
        assert.deepEqual(await stillThere([truth.main, truth.child, truth.helper], 0), [truth.main, truth.child, truth.helper], 'all alive before');
        for (let i = 0; i < times; i++) {
          process.kill(run.child.pid!, signal);
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(await run.exited, code, `mptree got ${signal}\n${run.stderr()}`);
        assert.deepEqual(await stillThere([truth.main, truth.child, truth.helper]), []);
      } finally {
        run.cleanup();
      }
    });
  }
});
