// Hundreds of runs of consumers that end while the main program reads their last results,
// through a real session (socket server, model, OS scan): not one queue count may be lost.
// The longer version is `npm run bench:exit-counts` (same test, MPTREE_STRESS_RUNS=...).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { RunSession } from '../../src/core/session';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const program = path.join(root, 'test', 'fixtures', 'stress', 'consumers_at_exit.py');
const methods = ['fork', 'spawn', 'forkserver'] as const;
const variants = ['done-then-put', 'put-then-done', 'joined', 'simple', 'daemon'] as const;
/**
 * Runs per start method, each variant getting its share; MPTREE_STRESS_SCALE multiplies them
 * (the bench runs 5×). Fork runs are many: a fork child ends within milliseconds of its last
 * put, where the loss was seen most; a spawn or forkserver run costs 4-10 times as much.
 */
const scale = Number(process.env.MPTREE_STRESS_SCALE ?? 1);
const runsPer: Record<string, number> = { fork: 120 * scale, spawn: 20 * scale, forkserver: 20 * scale };
const totalRuns = methods.reduce((n, m) => n + runsPer[m], 0);
const parallel = Number(process.env.MPTREE_STRESS_PARALLEL ?? 4);

interface Outcome {
  label: string;
  problems: string[];
}

async function runOnce(method: string, variant: string): Promise<Outcome> {
  const label = `${method}/${variant}`;
  // Tasks of 10 ms: the consumers end within the same ~50 ms flush period as their last put.
  const session = await RunSession.create({ target: { script: program, args: [method, variant, '0.01'] }, cwd: root, runtimeDir });
  try {
    const child = session.start('pipe');
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.resume();
    const info = await session.ended;
    const problems: string[] = [];
    if (info.exitCode !== 0) problems.push(`exit ${info.exitCode}`);
    const truth = JSON.parse(stdout.trim().split('\n').pop() || '{}');
    const snapshot = session.model.toSnapshot(info);
    const tasks = snapshot.queues.find((q) => q.kind === 'JoinableQueue');
    const results = snapshot.queues.find((q) => q.kind !== 'JoinableQueue');
    if (!tasks || !results || !truth.tasks) {
      problems.push(`queues missing: ${JSON.stringify(snapshot.queues)}`);
      return { label, problems };
    }
    const seen = { tasks: [tasks.puts, tasks.gets, tasks.unfinished], results: [results.puts, results.gets, results.depth] };
    const want = { tasks: [truth.tasks.puts, truth.tasks.puts, truth.tasks.puts - truth.tasks.taskDone], results: [truth.results.puts, truth.results.gets, 0] };
    if (JSON.stringify(seen) !== JSON.stringify(want)) problems.push(`seen ${JSON.stringify(seen)}, program saw ${JSON.stringify(want)}`);
    return { label, problems };
  } finally {
    session.dispose();
  }
}

describe('queue counts at a consumer\'s exit', { skip: process.platform === 'win32' && 'POSIX start methods' }, () => {
  it(`${totalRuns} runs (fork ${runsPer.fork}, spawn ${runsPer.spawn}, forkserver ${runsPer.forkserver}), ${variants.length} variants: no count lost`, { timeout: 3_600_000 }, async () => {
    const jobs: Array<[string, string]> = [];
    for (const method of methods) for (let i = 0; i < runsPer[method]; i++) jobs.push([method, variants[i % variants.length]]);
    // Interleaved, so each batch mixes the start methods as a real machine's load would.
    jobs.sort((a, b) => jobs.indexOf(a) % 7 - jobs.indexOf(b) % 7);
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const [method, variant] = jobs[next++];
        const outcome = await runOnce(method, variant);
        for (const problem of outcome.problems) failures.push(`${outcome.label}: ${problem}`);
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: parallel }, worker));
    console.log(`# ${jobs.length} runs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failures.length} with a count lost`);
    assert.deepEqual(failures, [], `${failures.length} of ${jobs.length} runs lost counts`);
  });
});
