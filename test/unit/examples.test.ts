// The shipped examples (examples/<language>/<id>.py) do what their comments promise: each runs
// for real under `mptree run --snapshot`, and its tree has the processes, names, daemon flags,
// exit codes, joins, queues, pools and hints its comments describe. Nothing of a run is left
// afterwards (every process of it is found in /proc by a variable only this test sets). The
// Chinese copies have the same code as the English ones, and the catalog lists every file.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyNameFor, EXAMPLE_LANGUAGES, EXAMPLES, exampleLanguageFor, examplePath, type ExampleId } from '../../src/core/examples';
import type { SnapshotJson } from '../../src/core/types';
import { processesWithEnvironment, processesWithEnvironmentLeftAfter } from '../common/osTruth';
import { cliPath, repoRoot, stillThere } from './cliProcess';

const linux = process.platform === 'linux';
const MARKER = 'MPTREE_EXAMPLE_TEST';
type Snapshot = SnapshotJson;
type Proc = Snapshot['processes'][number];

interface Outcome {
  snap: Snapshot;
  stdout: string;
  stderr: string;
  code: number | null;
}

let tmp: string;
let defaultStartMethod: string;

function runExample(language: string, id: ExampleId): Promise<Outcome> {
  const snapshotFile = path.join(tmp, `${language}-${id}.json`);
  const marker = crypto.randomUUID();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'run', '--quiet', '--snapshot', snapshotFile, examplePath(repoRoot, language as 'en', id)], {
      cwd: tmp,
      env: { ...process.env, [MARKER]: marker },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // Every example ends on its own within a few seconds; this is only the net under a
    // loaded machine.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      for (const pid of processesWithEnvironment(MARKER, marker)) process.kill(pid, 'SIGKILL');
      reject(new Error(`${id} did not end within 60 s\n${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', async (code) => {
      clearTimeout(timer);
      try {
        const snap = JSON.parse(fs.readFileSync(snapshotFile, 'utf8')) as Snapshot;
        // Nothing of the run may outlive it: neither a process the OS knows by the marker,
        // nor any pid the tree showed.
        assert.deepEqual(await processesWithEnvironmentLeftAfter(MARKER, marker, 5000), [], `${id}: processes left after the run`);
        assert.deepEqual(await stillThere(snap.processes.map((p) => p.pid), 5000), [], `${id}: a pid of the tree is still there`);
        resolve({ snap, stdout, stderr, code });
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.end();
  });
}

function describeTree(snap: Snapshot): string {
  return snap.processes.map((p) => `${p.name}[${p.pid}] ${p.kind} ${p.state} exit=${p.exitCode} daemon=${p.daemon} joined=${p.joined} parent=${p.parentPid}`).join('\n') +
    `\nqueues: ${JSON.stringify(snap.queues)}\npools: ${JSON.stringify(snap.pools)}\nhints: ${(snap.hints ?? []).map((h) => h.kind).join(', ')}`;
}

/** The one process of that name, a child of the run's main process. */
function child(snap: Snapshot, name: string): Proc {
  const found = snap.processes.filter((p) => p.name === name);
  assert.equal(found.length, 1, `one process named ${name}:\n${describeTree(snap)}`);
  assert.equal(found[0].parentPid, main(snap).pid, `${name} is a child of main`);
  return found[0];
}

function main(snap: Snapshot): Proc {
  const mains = snap.processes.filter((p) => p.kind === 'main');
  assert.equal(mains.length, 1, describeTree(snap));
  return mains[0];
}

/** The children started with Process (not pool workers, not helpers), by name. */
function childNames(snap: Snapshot): string[] {
  return snap.processes.filter((p) => p.kind === 'process').map((p) => p.name).sort();
}

/** Exited with this code (negative: killed by that signal), joined, with the default start method. */
function assertEnded(p: Proc, exitCode: number, joined: boolean | null = true, startMethod = defaultStartMethod): void {
  assert.equal(p.state, 'exited', `${p.name} exited`);
  assert.equal(p.exitCode, exitCode, `${p.name}'s exit code`);
  if (joined !== null) assert.equal(p.joined, joined, `${p.name} joined`);
  assert.equal(p.startMethod, startMethod, `${p.name}'s start method`);
}

function hintKinds(snap: Snapshot): string[] {
  return [...new Set((snap.hints ?? []).map((h) => h.kind))].sort();
}

/** What each example's comments promise, checked on its tree. */
const promises: Record<ExampleId, (o: Outcome) => void> = {
  process_args: ({ snap, stdout }) => {
    assert.deepEqual(childNames(snap), ['greeter-ada', 'greeter-lin']);
    for (const name of ['greeter-ada', 'greeter-lin']) {
      const p = child(snap, name);
      assertEnded(p, 0);
      assert.equal(p.target, 'greet');
      assert.equal(p.daemon, false);
    }
    // Not anchored to lines: print() writes its text and its newline apart, so the lines of
    // processes printing at once may interleave.
    assert.equal((stdout.match(/Hi, Lin!/g) ?? []).length, 3, 'kwargs times=3 reached greet');
    assert.equal((stdout.match(/Hello, Ada!/g) ?? []).length, 1);
    assert.deepEqual(hintKinds(snap), []);
  },
  process_subclass: ({ snap }) => {
    assert.deepEqual(childNames(snap), ['countdown-2', 'countdown-3']);
    for (const name of ['countdown-2', 'countdown-3']) {
      const p = child(snap, name);
      assertEnded(p, 0);
      assert.equal(p.target, 'Countdown.run', 'the work is run() itself');
    }
    assert.deepEqual(hintKinds(snap), []);
  },
  start_join_terminate: ({ snap, stdout }) => {
    assert.deepEqual(childNames(snap), ['quick', 'sleeper']);
    assertEnded(child(snap, 'quick'), 0);
    const sleeper = child(snap, 'sleeper');
    assertEnded(sleeper, -15);
    assert.equal(sleeper.signal, 'SIGTERM');
    assert.match(stdout, /sleeper still alive after join\(timeout=1\): True/);
    assert.match(stdout, /sleeper after terminate: False exit code -15/);
  },
  daemon: ({ snap }) => {
    const beat = child(snap, 'heartbeat');
    assert.equal(beat.daemon, true);
    // Collected by the exit handler, by join or by active_children(): joined is not promised.
    assertEnded(beat, -15, null);
    assert.equal(beat.signal, 'SIGTERM');
    const writer = child(snap, 'writer');
    assert.equal(writer.daemon, false);
    // Waited for by multiprocessing's exit handler, not joined by the program's code.
    assertEnded(writer, 0, false);
    assert.equal(writer.collectedBy, 'exit');
    assert.deepEqual(hintKinds(snap), ['daemon-killed-with-parent']);
    assert.equal(snap.hints!.find((h) => h.kind === 'daemon-killed-with-parent')!.pid, beat.pid);
  },
  zombie: ({ snap, stdout }) => {
    const quick = child(snap, 'quick');
    assertEnded(quick, 3);
    assert.match(stdout, /joined quick, exit code 3/);
    // Seen while it lasted (a zombie for six seconds), even though main joined it in the end.
    assert.deepEqual(hintKinds(snap), ['unjoined-child']);
    assert.equal(snap.hints![0].pid, quick.pid);
  },
  pool: ({ snap, stdout }) => {
    assert.equal(snap.pools.length, 1);
    const pool = snap.pools[0];
    assert.equal(pool.size, 3);
    assert.equal(pool.workers.length, 3, 'no worker replaced: the failing task does not kill one');
    // apply 1 + apply_async 1 + map 3 + map_async 12 + the failing apply_async 1.
    assert.equal(pool.submitted, 18);
    assert.equal(pool.completed, 18);
    assert.equal(pool.pending, 0);
    for (const pid of pool.workers) {
      const worker = snap.processes.find((p) => p.pid === pid);
      assert.ok(worker, `worker ${pid} in the tree`);
      assert.equal(worker.kind, 'pool-worker');
      assertEnded(worker, 0, null);
    }
    // The callbacks print from the pool's result thread, beside the main thread's prints.
    assert.match(stdout, /apply: 4\b/);
    assert.match(stdout, /map: \[16, 25, 36\]/);
    assert.match(stdout, /callback got 9\b/);
    assert.match(stdout, /callback got \[64, 81, [\d, ]*361\]/);
    assert.match(stdout, /error_callback got ValueError\('7 is unlucky'\)/);
    assert.deepEqual(hintKinds(snap), [], 'closed and joined: no pool-not-closed');
  },
  queue_timeouts: ({ snap, stdout }) => {
    assert.deepEqual(childNames(snap), ['consumer', 'producer']);
    assertEnded(child(snap, 'producer'), 0);
    assertEnded(child(snap, 'consumer'), 0);
    assert.equal(snap.queues.length, 1);
    const q = snap.queues[0];
    assert.deepEqual([q.kind, q.maxsize, q.depth, q.puts], ['Queue', 3, 0, 6]);
    assert.match(stdout, /main: put\(timeout=0\.2\) raised queue\.Full/);
    assert.match(stdout, /consumer: nothing for a second, done/);
    // Two processes print at once: their lines may interleave mid-line.
    assert.equal((stdout.match(/consumer: got/g) ?? []).length, 6);
    assert.doesNotMatch(stdout, /giving up/);
  },
  pipe: ({ snap, stdout }) => {
    assert.deepEqual(childNames(snap), ['echo']);
    const echo = child(snap, 'echo');
    assertEnded(echo, 0);
    assert.match(stdout, new RegExp(`echo: pid ${echo.pid}\\b`), 'the pid in the tree is the one the child prints');
    assert.match(stdout, /sent hello got back HELLO/);
  },
  lock: ({ snap, stdout }) => {
    assert.deepEqual(childNames(snap), ['printer-1', 'printer-2', 'printer-3']);
    for (const name of ['printer-1', 'printer-2', 'printer-3']) assertEnded(child(snap, name), 0);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 6);
    for (const line of lines) assert.match(line, /^\[printer-\d line \d\]$/, 'each line printed whole');
  },
  value_array: ({ snap, stdout, code }) => {
    assert.deepEqual(childNames(snap), ['adder-0', 'adder-1', 'adder-2', 'adder-3']);
    // A child that ends before a later start() is collected by that start(): joined is not promised.
    for (let i = 0; i < 4; i++) assertEnded(child(snap, `adder-${i}`), 0, null);
    assert.equal(snap.run.exitCode, 0, 'the program checked its shared memory');
    assert.equal(code, 0);
    assert.match(stdout, /counter: 4000 squares: \[0, 1, 4, 9\]/);
  },
  manager: ({ snap, stdout }) => {
    assert.deepEqual(childNames(snap), ['worker-0', 'worker-1']);
    assertEnded(child(snap, 'worker-0'), 0, null);
    assertEnded(child(snap, 'worker-1'), 0);
    const servers = snap.processes.filter((p) => p.kind === 'helper' && p.role === 'manager');
    assert.equal(servers.length, 1, describeTree(snap));
    assert.equal(servers[0].state, 'exited', 'the server ends with the with block');
    assert.equal(snap.queues.length, 1);
    const q = snap.queues[0];
    assert.deepEqual([q.kind, q.puts, q.gets, q.depth, q.ownerPid], ['ManagerQueue', 2, 2, 0, servers[0].pid]);
    assert.match(stdout, /dict: \{.*'worker-0': 0.*\} list: \[0, 1\]/);
  },
  pitfall_queue_full: ({ snap }) => {
    assertEnded(child(snap, 'producer'), 0);
    const q = snap.queues[0];
    assert.deepEqual([q.kind, q.maxsize, q.puts, q.depth], ['Queue', 2, 5, 0]);
    assert.deepEqual(hintKinds(snap), ['queue-full-blocked']);
  },
  pitfall_queue_empty: ({ snap, stdout }) => {
    assertEnded(child(snap, 'producer'), 0);
    assertEnded(child(snap, 'consumer'), 0);
    const q = snap.queues[0];
    assert.deepEqual([q.kind, q.puts, q.depth], ['Queue', 3, 0]);
    assert.match(stdout, /consumer: gave up waiting/);
    assert.deepEqual(hintKinds(snap), ['queue-empty-no-producers']);
  },
  pitfall_non_daemon_exit: ({ snap }) => {
    const straggler = child(snap, 'straggler');
    assert.equal(straggler.daemon, false);
    // Joined by multiprocessing's exit handler, not by the program's code.
    assertEnded(straggler, 0, false);
    assert.equal(straggler.collectedBy, 'exit');
    assert.deepEqual(hintKinds(snap), ['non-daemon-blocks-exit']);
    assert.equal(snap.hints![0].pid, straggler.pid, 'shown on the child that keeps main from exiting');
  },
  pitfall_pool_not_closed: ({ snap, stdout }) => {
    assert.equal(snap.pools.length, 1);
    assert.equal(snap.pools[0].size, 2);
    assert.equal(snap.pools[0].completed, 8);
    assert.match(stdout, /^\[0, 1, 4, 9, 16, 25, 36, 49\]$/m);
    assert.deepEqual(hintKinds(snap), ['pool-not-closed']);
  },
  pitfall_missing_main_guard: ({ snap, stderr }) => {
    // The example picks spawn itself: the guard matters only there.
    assertEnded(child(snap, 'greeter'), 1, true, 'spawn');
    assert.equal(snap.run.exitCode, 0, 'main carries on');
    assert.match(stderr, /An attempt has been made to start a new process before the\s+current process has finished its bootstrapping phase/);
    assert.deepEqual(hintKinds(snap), ['missing-main-guard']);
  },
};

/** Python's tokens of a file without its comments: the code, whatever language the comments are in. */
function codeTokens(file: string): string {
  const script = 'import sys, tokenize\n' +
    'with open(sys.argv[1], "rb") as f:\n' +
    '    for t in tokenize.tokenize(f.readline):\n' +
    '        if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING):\n' +
    '            print(tokenize.tok_name[t.type], repr(t.string), "" if t.type == tokenize.NEWLINE else t.start[1])\n';
  const result = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

describe('examples', () => {
  before(() => {
    assert.ok(fs.existsSync(cliPath), `${cliPath} is missing: run \`npm run build\` before the unit tests`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-examples-'));
    const method = spawnSync('python3', ['-c', 'import multiprocessing as mp; print(mp.get_start_method())'], { encoding: 'utf8' });
    assert.equal(method.status, 0, method.stderr);
    defaultStartMethod = method.stdout.trim();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the catalog lists exactly the files of every language, and the Chinese copies have the same code', () => {
    const ids = EXAMPLES.map((e) => e.id).sort();
    for (const language of EXAMPLE_LANGUAGES) {
      const files = fs.readdirSync(path.join(repoRoot, 'examples', language)).filter((f) => f.endsWith('.py')).map((f) => f.slice(0, -3)).sort();
      assert.deepEqual(files, ids, `examples/${language}/ and the catalog differ`);
    }
    for (const { id } of EXAMPLES) {
      const english = examplePath(repoRoot, 'en', id);
      const chinese = examplePath(repoRoot, 'zh-cn', id);
      assert.equal(codeTokens(chinese), codeTokens(english), `${id}: zh-cn's code differs from en's`);
      const zhComments = fs.readFileSync(chinese, 'utf8').split('\n').filter((l) => l.trimStart().startsWith('#'));
      const untranslated = zhComments.filter((l) => l.trim().length > 3 && !/[\u4e00-\u9fff]/.test(l) && !/^#\s*$/.test(l.trim()));
      // A line may be all code words (a quoted error message); most must be Chinese.
      assert.ok(untranslated.length <= 2, `${id}: comments left in English in zh-cn:\n${untranslated.join('\n')}`);
      assert.ok(Object.prototype.hasOwnProperty.call(promises, id), `${id} has no assertions here`);
    }
  });

  it('picks the comment language from the display language', () => {
    assert.equal(exampleLanguageFor('zh-cn'), 'zh-cn');
    assert.equal(exampleLanguageFor('zh-tw'), 'zh-cn');
    assert.equal(exampleLanguageFor('zh_CN.UTF-8'), 'zh-cn');
    assert.equal(exampleLanguageFor('en'), 'en');
    assert.equal(exampleLanguageFor('de'), 'en');
    assert.equal(exampleLanguageFor('zu'), 'en');
  });

  it('a copy never overwrites an edited one, and an unchanged one is reused', async () => {
    const files: Record<string, string> = {};
    const read = async (name: string) => files[name];
    assert.equal(await copyNameFor('pool', 'shipped', read), 'pool.py');
    files['pool.py'] = 'shipped';
    assert.equal(await copyNameFor('pool', 'shipped', read), 'pool.py');
    files['pool.py'] = 'edited by the user';
    assert.equal(await copyNameFor('pool', 'shipped', read), 'pool-2.py');
    files['pool-2.py'] = 'edited too';
    assert.equal(await copyNameFor('pool', 'shipped', read), 'pool-3.py');
  });

  // Two at a time: each example is mostly sleeping, and the machine is shared.
  describe('each runs under mptree and its tree is what its comments say', { skip: !linux && '/proc', concurrency: 2 }, () => {
    for (const { id } of EXAMPLES) {
      it(id, async () => {
        const outcome = await runExample('en', id);
        assert.equal(outcome.code, 0, `${id} failed:\n${outcome.stderr}`);
        try {
          promises[id](outcome);
        } catch (error) {
          (error as Error).message += `\n--- tree ---\n${describeTree(outcome.snap)}\n--- stdout ---\n${outcome.stdout}\n--- stderr ---\n${outcome.stderr.slice(-1500)}`;
          throw error;
        }
      });
    }
    // The Chinese copies run too (same code, so the same tree): one is enough to show that a
    // file with Chinese comments runs as it is.
    it('zh-cn daemon', async () => {
      const outcome = await runExample('zh-cn', 'daemon');
      assert.equal(outcome.code, 0, outcome.stderr);
      promises.daemon(outcome);
    });
  });
});
