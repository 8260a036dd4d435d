// End to end: real Python programs through the bundled CLI (dist/cli.js; `npm run build` first).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { liveness } from '../../src/core/osScan';
import type { SnapshotJson } from '../../src/core/types';
import { startInGroup } from './cliProcess';

const root = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const fixtures = path.join(root, 'test', 'fixtures', 'cli');
const posix = process.platform !== 'win32';

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mptree ${args.join(' ')} timed out\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

let tmp: string;
const tmpFile = (name: string) => path.join(tmp, name);
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

describe('mptree CLI', { skip: !posix && 'POSIX signals and process groups' }, () => {
  before(() => {
    assert.ok(fs.existsSync(cli), `${cli} is missing: run \`npm run build\` before the unit tests`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-cli-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--help and --version', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /mptree run \[options\] SCRIPT\.py/);
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^mptree \d+\.\d+\.\d+\n$/);
    const bad = await runCli(['run', '--frobnicate', 'x.py']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^mptree: unknown option --frobnicate\n/);
  });

  it('snapshot matches what the program itself saw', async () => {
    const snapshotFile = tmpFile('family.json');
    const truthFile = tmpFile('family-truth.json');
    const result = await runCli(['run', '--snapshot', snapshotFile, path.join(fixtures, 'family.py'), '7'], { env: { MPTREE_TRUTH: truthFile } });
    assert.equal(result.code, 7, result.stderr);
    assert.equal(result.stdout, 'family: done\n', 'the program’s stdout is its own');
    const truth = readJson<Record<string, { pid: number; exitCode: number } | number>>(truthFile);
    const snap = readJson<SnapshotJson>(snapshotFile);
    const byPid = (pid: number) => snap.processes.filter((p) => p.pid === pid);
    const main = byPid(truth.main as number);
    assert.equal(main.length, 1);
    assert.equal(main[0].kind, 'main');
    assert.equal(main[0].exitCode, 7);
    assert.equal(snap.run.exitCode, 7);
    assert.deepEqual(snap.run.args, ['7']);
    assert.ok(snap.run.endedAt! >= snap.run.startedAt);
    for (const name of ['quitter', 'victim', 'sleep']) {
      const { pid } = truth[name] as { pid: number };
      const nodes = byPid(pid);
      assert.equal(nodes.length, 1, `${name} (${pid}) once in ${JSON.stringify(snap.processes)}`);
      assert.equal(nodes[0].state, 'exited', name);
      assert.equal(nodes[0].parentPid, truth.main, `${name} under main`);
    }
    const sleeper = byPid((truth.sleep as { pid: number }).pid)[0];
    assert.equal(sleeper.kind, 'os', 'a non-Python subprocess is seen by the OS scan only');
    assert.equal(sleeper.name, 'sleep');
    // multiprocessing's own account of its children: needs the runtime in the program.
    const quitter = byPid((truth.quitter as { pid: number }).pid)[0];
    const victim = byPid((truth.victim as { pid: number }).pid)[0];
    assert.deepEqual([quitter.kind, quitter.name, quitter.exitCode, quitter.signal], ['process', 'quitter', 3, null]);
    assert.deepEqual([victim.kind, victim.name, victim.exitCode, victim.signal], ['process', 'victim', -9, 'SIGKILL']);
    assert.equal(quitter.startMethod, 'fork');
    // The final tree goes to stderr.
    assert.match(result.stderr, /quitter \[\d+\].*exited 3/);
    assert.match(result.stderr, /victim \[\d+\].*killed by SIGKILL/);
  });

  it('passes stdin through and returns the exit code; runs -m modules', async () => {
    const result = await runCli(['run', '--quiet', path.join(fixtures, 'echo_stdin.py')], { input: 'hello mptree\n' });
    assert.equal(result.stdout, 'HELLO MPTREE\n');
    assert.equal(result.code, 13);
    const module = await runCli(['run', '--quiet', '-m', 'echo_stdin'], { input: 'ab', cwd: fixtures });
    assert.equal(module.stdout, 'AB');
    assert.equal(module.code, 2);
  });

  it('exit status 128+N when the program dies by signal N', async () => {
    const result = await runCli(['run', path.join(fixtures, 'self_kill.py')]);
    assert.equal(result.code, 137);
    assert.match(result.stderr, /killed by SIGKILL/);
  });

  it('a syntax error shows Python’s own message and exit code', async () => {
    const result = await runCli(['run', path.join(fixtures, 'syntax_error.py')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /SyntaxError/);
    assert.match(result.stderr, /syntax_error\.py", line 1/);
  });

  it('one clear line, no stack trace, for launch errors', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['run', 'no/such/script.py'], /^mptree: no such file: no\/such\/script\.py\n$/],
      [['run', fixtures], /^mptree: .*cli is a directory, not a Python file\n$/],
      [['run', '--python', '/no/such/python', path.join(fixtures, 'echo_stdin.py')], /^mptree: Python interpreter not found: \/no\/such\/python\n$/],
      [['run'], /^mptree: no script given\n/],
    ];
    for (const [args, pattern] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
    const old = tmpFile('python3.7');
    fs.writeFileSync(old, '#!/bin/sh\necho "3 7 1"; echo /usr/bin/python3.7\n', { mode: 0o755 });
    const tooOld = await runCli(['run', '--python', old, path.join(fixtures, 'echo_stdin.py')]);
    assert.equal(tooOld.code, 2);
    assert.match(tooOld.stderr, /^mptree: .* is Python 3\.7\.1; mptree needs Python 3\.8 or newer\n$/);
    const noPython = await runCli(['run', path.join(fixtures, 'echo_stdin.py')], { env: { PATH: tmp } });
    assert.equal(noPython.code, 2);
    assert.match(noPython.stderr, /^mptree: No Python found/);
  });



  function assertNothingLeft(pids: number[]) {
    for (const pid of pids) assert.notEqual(liveness(pid), 'alive', `pid ${pid} is still running`);
  }

  it('Ctrl+C: the program handles it as bare, then nothing of the run is left', async () => {
    const truthFile = tmpFile('leftovers-int.json');
    const run = startInGroup([path.join(fixtures, 'leftovers.py')], truthFile);
    try {
      await run.ready();
      const truth = readJson<{ main: number; child: number; helper: number }>(truthFile);
      assert.equal(liveness(truth.child), 'alive');
      // What the terminal does on Ctrl+C: SIGINT to the whole foreground process group.
      process.kill(-run.child.pid!, 'SIGINT');
      const code = await run.exited;
      assert.equal(code, 130, run.output().stderr);
      assertNothingLeft([truth.main, truth.child, truth.helper]);
    } finally {
      try {
        process.kill(-run.child.pid!, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
  });

  it('SIGTERM to mptree alone stops the whole run', async () => {
    const truthFile = tmpFile('leftovers-term.json');
    const run = startInGroup([path.join(fixtures, 'leftovers.py')], truthFile);
    try {
      await run.ready();
      const truth = readJson<{ main: number; child: number; helper: number }>(truthFile);
      process.kill(run.child.pid!, 'SIGTERM');
      const code = await run.exited;
      assert.equal(code, 128 + 15, run.output().stderr);
      assertNothingLeft([truth.main, truth.child, truth.helper]);
    } finally {
      try {
        process.kill(-run.child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
});
