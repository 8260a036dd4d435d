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
import { processesLeftAfter, processesOfRun } from '../common/osTruth';

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

  it('prints the hints under the final tree, in the words of the snapshot (and the VS Code tree)', async () => {
    const snapshotFile = tmpFile('hinted.json');
    const result = await runCli(['run', '--snapshot', snapshotFile, path.join(root, 'test', 'fixtures', 'hints', 'pool_not_closed_bad.py')]);
    assert.equal(result.code, 0, result.stderr);
    const snap = readJson<SnapshotJson & { hints: Array<{ kind: string; message: string }> }>(snapshotFile);
    const hint = snap.hints.find((h) => h.kind === 'pool-not-closed');
    assert.ok(hint, JSON.stringify(snap.hints));
    const lines = result.stderr.split('\n');
    const treeEnd = lines.findIndex((line) => line.includes('⚠'));
    assert.ok(treeEnd > 0, `no hint printed:\n${result.stderr}`);
    assert.ok(lines.slice(0, treeEnd).some((line) => line.includes('Pool')), 'the hint comes under the tree');
    assert.ok(lines.includes(`⚠ ${hint.message}`), result.stderr);
    for (const h of snap.hints) assert.ok(lines.includes(`⚠ ${h.message}`), `hint ${h.kind} not printed`);
  });

  it("a pool's header: its size and the workers that replaced others, as the program saw them", async () => {
    const truthFile = tmpFile('maxtasks-truth.json');
    const result = await runCli(['run', path.join(root, 'test', 'fixtures', 'pool_maxtasks.py'), 'fork', truthFile]);
    assert.equal(result.code, 0, result.stderr);
    const truth = readJson<{ pools: Array<{ size: number; workers: number[]; completed: number }> }>(truthFile);
    const [pool] = truth.pools;
    assert.ok(pool.workers.length > pool.size, 'maxtasksperchild=1 replaced workers');
    const header = result.stderr.split('\n').find((line) => / Pool p\d+-\d+ /.test(line));
    assert.ok(header, result.stderr);
    assert.match(header, new RegExp(`  ${pool.size} workers · ${pool.workers.length - pool.size} replaced · 0 pending · ${pool.completed} done`));
  });

  for (const method of ['fork', 'spawn', 'forkserver']) {
    it(`ppid of every child is its OS parent, as the child itself saw it (${method})`, async () => {
      const snapshotFile = tmpFile(`ppids-${method}.json`);
      const truthFile = tmpFile(`ppids-${method}-truth.json`);
      const result = await runCli(['run', '--quiet', '--snapshot', snapshotFile, path.join(fixtures, 'ppids.py'), method], { env: { MPTREE_TRUTH: truthFile } });
      assert.equal(result.code, 0, result.stderr);
      const truth = readJson<Record<string, number>>(truthFile);
      const snap = readJson<SnapshotJson>(snapshotFile);
      for (const [pid, ppid] of Object.entries(truth)) {
        assert.equal(snap.processes.find((p) => p.pid === Number(pid))?.ppid, ppid, `pid ${pid}`);
      }
    });
  }

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

  it('the snapshot\'s queues, pools and hints match what the program knows', async () => {
    const snapshotFile = tmpFile('parts.json');
    const truthFile = tmpFile('parts-truth.json');
    const result = await runCli(['run', '--quiet', '--snapshot', snapshotFile, path.join(fixtures, 'snapshot_parts.py')], { env: { MPTREE_TRUTH: truthFile } });
    assert.equal(result.code, 0, result.stderr);
    const truth = readJson<{ main: number; queueDepth: number; tasksDepth: number; workers: number[] }>(truthFile);
    const snap = readJson<SnapshotJson>(snapshotFile);
    const queue = snap.queues.find((q) => q.kind === 'Queue')!;
    const tasks = snap.queues.find((q) => q.kind === 'JoinableQueue')!;
    assert.equal(snap.queues.length, 2, JSON.stringify(snap.queues));
    assert.deepEqual(
      [queue.ownerPid, queue.maxsize, queue.depth, queue.puts, queue.gets, queue.unfinished],
      [truth.main, 10, truth.queueDepth, 5, 2, null],
    );
    assert.deepEqual(
      [tasks.ownerPid, tasks.maxsize, tasks.depth, tasks.puts, tasks.gets, tasks.unfinished],
      [truth.main, 0, truth.tasksDepth, 3, 1, 2],
    );
    assert.equal(snap.pools.length, 1);
    const [pool] = snap.pools;
    assert.deepEqual(
      [pool.kind, pool.ownerPid, pool.size, [...pool.workers].sort((a, b) => a - b), pool.submitted, pool.completed, pool.pending],
      ['Pool', truth.main, 2, truth.workers, 8, 8, 0],
    );
    // The pool was never closed: the hint names it, its process and the line that made it.
    const hint = snap.hints?.find((h) => h.kind === 'pool-not-closed');
    assert.ok(hint, `hints: ${JSON.stringify(snap.hints)}`);
    assert.equal(hint.pid, truth.main);
    assert.match(hint.message, new RegExp(`^Pool ${pool.id} \\(created at snapshot_parts\\.py:\\d+\\) was never closed`));
    assert.match(hint.site ?? '', /snapshot_parts\.py:\d+$/);
  });

  it('--quiet: nothing on stderr but the program\'s own; without it, the tree', async () => {
    const script = tmpFile('speaks_on_stderr.py');
    fs.writeFileSync(script, [
      'import multiprocessing as mp, sys',
      'def child():',
      '    sys.stderr.write("child says\\n")',
      'if __name__ == "__main__":',
      '    p = mp.get_context("fork").Process(target=child, name="speaker")',
      '    p.start()',
      '    p.join()',
      '    sys.stderr.write("main says\\n")',
      '',
    ].join('\n'));
    const quiet = await runCli(['run', '--quiet', script]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, 'child says\nmain says\n', 'only the program\'s own words');
    const loud = await runCli(['run', script]);
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stderr, /^child says\nmain says\n/);
    assert.match(loud.stderr, /└─ MainProcess \[\d+\]  exited 0( · .*)?\n.*speaker \[\d+\] joined  exited 0/);
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
  // A signal to mptree alone (as a CI runner or a script sends it) reaches only
  // mptree, one to its process group reaches the program too; either way the run ends, the
  // final tree is printed, the exit code is the conventional one and nothing is left,
  // which /proc checks by the run id every process of the run inherited.
  const linux = process.platform === 'linux';

  const signalCases: { signal: NodeJS.Signals; group: boolean; code: number }[] = [
    { signal: 'SIGINT', group: false, code: 130 },
    { signal: 'SIGINT', group: true, code: 130 },
    { signal: 'SIGTERM', group: false, code: 143 },
    { signal: 'SIGTERM', group: true, code: 143 },
    { signal: 'SIGHUP', group: false, code: 129 },
    { signal: 'SIGHUP', group: true, code: 129 },
  ];
  for (const { signal, group, code } of signalCases) {
    it(`${signal} to ${group ? 'the process group of mptree' : 'mptree alone'}: the run stops, tree printed, exit ${code}, nothing left`, { skip: !linux && '/proc' }, async () => {
      const truthFile = tmpFile(`deep-${signal}-${group}.json`);
      const run = startInGroup([path.join(fixtures, 'deep_tree.py')], truthFile, 30_000, { quiet: false });
      try {
        await run.ready();
        const truth = readJson<{ runId: string; main: number }>(truthFile);
        assert.equal(processesOfRun(truth.runId).length, 13, 'main, 4 children, 4 grandchildren, 4 sleeps');
        const started = Date.now();
        process.kill(group ? -run.child.pid! : run.child.pid!, signal);
        const exit = await run.exited;
        const { stderr } = run.output();
        assert.equal(exit, code, stderr);
        // Nothing here ignores SIGTERM, so the stop needs no more than its 3 s grace. Measured:
        // 0.13-2.12 s at a load average of 6 on 2 cores with a second copy of this file
        // running; 4.5 s is that promise with the load's margin (the issue saw 15 s).
        const tookMs = Date.now() - started;
        assert.ok(tookMs <= 4500, `the run took ${tookMs} ms to stop`);
        assert.match(stderr, new RegExp(`^mptree .*deep_tree\\.py .*\\n└─ MainProcess \\[${truth.main}\\]`, 'm'));
        assert.equal((stderr.match(/Process-\d+:1 \[/g) ?? []).length, 4, stderr);
        assert.deepEqual(await processesLeftAfter(truth.runId, 5000), []);
      } finally {
        run.cleanup();
      }
    });
  }

  it('SIGTERM to mptree alone also ends the orphans of the run (reparented to init, unknown to the OS scan)', { skip: !linux && '/proc' }, async () => {
    const truthFile = tmpFile('deep-orphans.json');
    const run = startInGroup([path.join(fixtures, 'deep_tree.py'), 'orphans'], truthFile, 30_000, { quiet: false });
    try {
      await run.ready();
      const truth = readJson<{ runId: string; family: [number, null, number][] }>(truthFile);
      const sleeps = truth.family.map((f) => f[2]);
      for (const pid of sleeps) assert.equal(fs.readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ')[1], '1', `sleep ${pid} is not an orphan`);
      process.kill(run.child.pid!, 'SIGTERM');
      assert.equal(await run.exited, 143, run.output().stderr);
      assert.deepEqual(await processesLeftAfter(truth.runId, 5000), []);
      for (const pid of sleeps) assert.notEqual(liveness(pid), 'alive', `orphan ${pid} is still running`);
    } finally {
      run.cleanup();
    }
  });

  it('a third Ctrl+C stops the whole run, even a program that ignores it; two do not', { skip: !linux && '/proc' }, async () => {
    const truthFile = tmpFile('deaf.json');
    const run = startInGroup([path.join(fixtures, 'ignores_ctrl_c.py')], truthFile);
    try {
      await run.ready();
      const truth = readJson<{ runId: string; main: number; child: number }>(truthFile);
      // Presses half a second apart, as a hand makes them: two SIGINTs sent at once can merge
      // into one pending signal before mptree is scheduled to take the first.
      const ctrlC = async () => {
        process.kill(-run.child.pid!, 'SIGINT');
        await new Promise((r) => setTimeout(r, 500));
      };
      let exited = false;
      void run.exited.then(() => (exited = true));
      await ctrlC();
      await ctrlC();
      // Two presses: the program ignores them and mptree lets it be. An absence is seen only
      // after the time a stop takes (4.5 s at most, as the signal tests above measure).
      await new Promise((r) => setTimeout(r, 5000));
      assert.equal(exited, false, `mptree ended after two Ctrl+C:\n${run.stderr()}`);
      assert.deepEqual(processesOfRun(truth.runId).sort(), [truth.main, truth.child].sort(), 'both still run');
      const started = Date.now();
      process.kill(-run.child.pid!, 'SIGINT');
      assert.equal(await run.exited, 130, run.stderr());
      const tookMs = Date.now() - started;
      assert.ok(tookMs <= 4500, `the stop took ${tookMs} ms`);
      assert.deepEqual(await processesLeftAfter(truth.runId, 5000), []);
    } finally {
      run.cleanup();
    }
  });

  it('a SIGINT to the group is the program\'s Ctrl+C (it goes on as bare), one to mptree alone stops it', { skip: !linux && '/proc' }, async () => {
    for (const group of [true, false]) {
      const run = startInGroup([path.join(fixtures, 'survives_ctrl_c.py')], tmpFile('unused.json'));
      try {
        await run.ready();
        process.kill(group ? -run.child.pid! : run.child.pid!, 'SIGINT');
        const exit = await run.exited;
        const { stdout, stderr } = run.output();
        if (group) {
          assert.equal(exit, 0, stderr);
          assert.match(stdout, /^ready\ninterrupted\n$/);
        } else {
          assert.equal(exit, 130, stderr);
          assert.equal(stdout, 'ready\n');
        }
      } finally {
        run.cleanup();
      }
    }
  });
});
