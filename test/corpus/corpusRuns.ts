// Running a program nobody here wrote, bare and under `mptree run --snapshot`, with the truth
// recorder of truth_hook/ in every one of its processes, and comparing what mptree says with
// what the program knew. Shared by the corpus tests.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SnapshotJson } from '../../src/core/types';
import { processesWithEnvironmentLeftAfter } from '../common/osTruth';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
const corpusDir = path.join(repoRoot, 'test', 'corpus');
const cli = path.join(repoRoot, 'dist', 'cli.js');
const python = 'python3';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Pids of the run still alive a few seconds after it ended (should be none). */
  left: number[];
}

/** One process's record, as truth_hook/corpus_truth.py writes it. */
export interface TruthRecord {
  pid: number;
  ppid: number;
  started: Array<{
    pid: number;
    name: string;
    daemon: boolean;
    joined: boolean;
    exitCode: number | null;
    poolList: number | null;
    uncollectedAtExit: boolean | null;
    collectedBy: string | null;
  }>;
  queues: Record<string, { kind: string; maxsize: number; ownerPid: number; order: number }>;
  counts: Record<string, { puts: number; gets: number; tasksDone: number }>;
  pools: Array<{ size: number; workers: number[]; kind: string }>;
  /** The main process's forkserver and resource tracker, when it has them. */
  helpers?: Record<string, number | null>;
}

let runs = 0;

/**
 * Runs `run_program.py METHOD FILE` (bare, or under mptree with a snapshot), with the truth
 * recorder writing to truthDir.
 */
export function runProgram(how: 'bare' | 'mptree', method: string, file: string, truthDir: string, snapshotFile: string, timeoutMs: number): Promise<RunResult> {
  fs.mkdirSync(truthDir, { recursive: true });
  const env = {
    PYTHONPATH: [path.join(corpusDir, 'truth_hook'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    MPTREE_CORPUS_TRUTH_DIR: truthDir,
  };
  return runPython(how, [path.join(corpusDir, 'run_program.py'), method, file], env, snapshotFile, timeoutMs);
}

/**
 * Runs `python3 ARGS...` bare or as `mptree run --quiet --snapshot FILE ARGS...`, in a
 * process group of its own (killed whole on a time-out), beside the script. Every process
 * of the run carries a variable of its own, so what is left of it afterwards is found in /proc.
 */
export async function runPython(how: 'bare' | 'mptree', scriptArgs: string[], extraEnv: NodeJS.ProcessEnv, snapshotFile: string, timeoutMs: number): Promise<RunResult> {
  const mark = `${process.pid}-${++runs}`;
  const args = how === 'bare' ? scriptArgs : [cli, 'run', '--quiet', '--snapshot', snapshotFile, ...scriptArgs];
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv, MPTREE_CORPUS_RUN: mark, PYTHONDONTWRITEBYTECODE: '1' };
  // Block-buffered output, as a program writing to a pipe has it by default: each process
  // writes what it printed in one piece at its end, so lines of concurrent processes do not
  // cut into each other (unbuffered, they do, bare too), and a daemon killed at exit prints
  // nothing rather than a number of lines that depends on timing.
  delete env.PYTHONUNBUFFERED;
  const child = spawn(how === 'bare' ? python : process.execPath, args, { cwd: path.dirname(scriptArgs[0]), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  const left = await processesWithEnvironmentLeftAfter('MPTREE_CORPUS_RUN', mark, 5000);
  return { code, signal, stdout, stderr, timedOut, left };
}

export function readTruth(dir: string): TruthRecord[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as TruthRecord);
}

/**
 * Output with what varies between two bare runs replaced: the pids the truth knows (the
 * main process, its parent, each child by its start order, any pool worker), fractional
 * numbers (timings), addresses; lines sorted, since concurrent processes print in any order.
 */
export function normalise(text: string, truth: TruthRecord[], mainPid: number | null): string {
  const names = new Map<number, string>();
  const main = truth.find((r) => r.pid === mainPid);
  if (main) {
    names.set(main.ppid, 'PID_PARENT');
    for (const [role, pid] of Object.entries(main.helpers ?? {})) if (pid) names.set(pid, `PID_${role.toUpperCase()}`);
  }
  if (mainPid !== null) names.set(mainPid, 'PID_MAIN');
  for (const record of truth) {
    record.started.forEach((s, i) => names.set(s.pid, s.poolList !== null ? 'PID_WORKER' : `PID_CHILD_${record.pid === mainPid ? '' : 'OF_CHILD_'}${i}`));
  }
  let out = text.replace(/0x[0-9a-f]+/gi, 'ADDR').replace(/\d+\.\d+(e-?\d+)?/g, 'FLOAT');
  out = out.replace(/\d+/g, (digits) => names.get(Number(digits)) ?? digits);
  return out.split('\n').filter((l) => l !== '').sort().join('\n');
}

/** The root of a bare run: the record whose parent is not in the run. */
export function mainOf(truth: TruthRecord[]): number | null {
  const children = new Set(truth.flatMap((r) => r.started.map((s) => s.pid)));
  const roots = truth.filter((r) => !children.has(r.pid));
  return roots.length === 1 ? roots[0].pid : null;
}

/** What the program knew of its processes, without pids: to compare a bare run with a run under mptree. */
export function programView(truth: TruthRecord[]): string[] {
  // Which worker of a pool terminated at exit had already ended is a race, bare too.
  return truth.flatMap((r) => r.started.map((s) => `${s.name} daemon=${s.daemon} exit=${s.poolList !== null ? 'any' : s.exitCode} joined=${s.joined} pool=${s.poolList !== null}`)).sort();
}

/**
 * Every difference between the snapshot and the program's own records: the processes it
 * started (pid, parent, name, daemon, exit code, joined, who collected it), its queues'
 * counts and its pools' sizes and workers.
 */
export function treeMismatches(snap: SnapshotJson, truth: TruthRecord[]): string[] {
  const problems: string[] = [];
  const main = snap.processes.find((p) => p.kind === 'main');
  if (!main) return ['no main process in the snapshot'];
  if (!truth.some((r) => r.pid === main.pid)) {
    // Python loads truth_hook/usercustomize.py only with user site-packages on (no -s, no PYTHONNOUSERSITE).
    problems.push(`the main process ${main.pid} recorded nothing: it ended without its exit handler, or the truth recorder did not load (${truth.length} records)`);
  }
  const started = new Map<number, TruthRecord['started'][number] & { parent: number }>();
  for (const r of truth) for (const s of r.started) started.set(s.pid, { ...s, parent: r.pid });
  // The resource tracker and the forkserver are not started through Process.start().
  const shown = snap.processes.filter((p) => p.kind !== 'main' && !(p.kind === 'helper' && p.role !== 'manager'));
  const shownPids = new Set(shown.map((p) => p.pid));
  for (const pid of started.keys()) if (!shownPids.has(pid)) problems.push(`process ${pid} (${started.get(pid)!.name}) is missing from the tree`);
  for (const p of shown) {
    const t = started.get(p.pid);
    if (!t) {
      problems.push(`the tree shows ${p.kind} ${p.pid} (${p.name}) the program never started`);
      continue;
    }
    const kind = t.poolList !== null ? 'pool-worker' : /^SyncManager-|^BaseManager-/.test(t.name) ? 'helper' : 'process';
    const expected: Array<[string, unknown, unknown]> = [
      ['parentPid', p.parentPid, t.parent],
      ['name', p.name, t.name],
      ['daemon', p.daemon, t.daemon],
      ['exitCode', p.exitCode, t.exitCode],
      ['joined', p.joined, t.joined],
      ['kind', p.kind, kind],
    ];
    if (t.collectedBy !== null) expected.push(['collectedBy', p.collectedBy, t.collectedBy]);
    if (t.exitCode !== null) expected.push(['state', p.state, 'exited']);
    for (const [field, got, want] of expected) {
      if (got !== want) problems.push(`${p.name} [${p.pid}] ${field}: tree ${JSON.stringify(got)}, program ${JSON.stringify(want)}`);
    }
  }
  // Queues, by owner in the order they were made; counts summed over every process.
  const counts = (key: string) => {
    const sum = { puts: 0, gets: 0, tasksDone: 0 };
    for (const r of truth) {
      const c = r.counts[key];
      if (c) for (const k of ['puts', 'gets', 'tasksDone'] as const) sum[k] += c[k];
    }
    return sum;
  };
  const truthQueues = truth.flatMap((r) => Object.entries(r.queues).map(([key, q]) => ({ ...q, ...counts(key) })));
  const owners = new Set([...truthQueues.map((q) => q.ownerPid), ...snap.queues.map((q) => q.ownerPid)]);
  for (const owner of owners) {
    const want = truthQueues.filter((q) => q.ownerPid === owner).sort((a, b) => a.order - b.order);
    const got = snap.queues.filter((q) => q.ownerPid === owner).sort((a, b) => queueNumber(a.id) - queueNumber(b.id));
    if (want.length !== got.length) {
      problems.push(`process ${owner}: ${got.length} queues in the tree, ${want.length} made by the program`);
      continue;
    }
    want.forEach((w, i) => {
      const g = got[i];
      const unfinished = w.kind === 'JoinableQueue' ? w.puts - w.tasksDone : null;
      const fields: Array<[string, unknown, unknown]> = [['kind', g.kind, w.kind], ['puts', g.puts, w.puts], ['gets', g.gets, w.gets], ['depth', g.depth, w.puts - w.gets], ['unfinished', g.unfinished, unfinished]];
      for (const [field, a, b] of fields) if (a !== b) problems.push(`${g.id} ${field}: tree ${JSON.stringify(a)}, program ${JSON.stringify(b)}`);
    });
  }
  const truthPools = truth.flatMap((r) => r.pools.map((p) => ({ ...p, ownerPid: r.pid })));
  const poolOwners = new Set([...truthPools.map((p) => p.ownerPid), ...snap.pools.map((p) => p.ownerPid)]);
  for (const owner of poolOwners) {
    const want = truthPools.filter((p) => p.ownerPid === owner);
    const got = snap.pools.filter((p) => p.ownerPid === owner).sort((a, b) => queueNumber(a.id) - queueNumber(b.id));
    if (want.length !== got.length) {
      problems.push(`process ${owner}: ${got.length} pools in the tree, ${want.length} made by the program`);
      continue;
    }
    want.forEach((w, i) => {
      if (got[i].size !== w.size) problems.push(`${got[i].id} size: tree ${got[i].size}, program ${w.size}`);
      const workers = [...got[i].workers].sort((a, b) => a - b);
      if (JSON.stringify(workers) !== JSON.stringify(w.workers)) problems.push(`${got[i].id} workers: tree ${JSON.stringify(workers)}, program ${JSON.stringify(w.workers)}`);
    });
  }
  return problems;
}

// q4242-3 / p4242-2: the owner's count of queues and pools made so far.
function queueNumber(id: string): number {
  return Number(/-(\d+)$/.exec(id)?.[1] ?? 0);
}
