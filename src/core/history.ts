// A run's model over time, and the shareable file format built from it. RunHistory listens to
// a session's model changes and records what changed (process fields, queue depths, pool
// counts) with a time, bounded in memory; exportRun() writes the final state plus that history
// as versioned JSON; importRun() reads it back, checking every field (the file may come from
// anyone: it is parsed as data, never evaluated) and StaticModel answers the tree's and the
// hints' questions about it, read-only.
import type { Event } from './event';
import { Emitter } from './event';
import type { Hint, HintKind, SnapshotHint } from './hints';
import { HINT_KINDS, snapshotHints } from './hints';
import type { Disposable, ModelChange, PoolInfo, ProcessInfo, QueueInfo, RunInfo, SnapshotJson, WaitInfo } from './types';

export const EXPORT_FORMAT = 'mptree-run';
export const EXPORT_VERSION = 1;

export type ProcessRecord = ProcessInfo;

export type HistoryEvent =
  /** A process appeared (full record) or changed (only the changed fields). */
  | { t: number; type: 'process'; key: string; patch: Partial<ProcessRecord> }
  | { t: number; type: 'queue'; id: string; depth: number; puts: number; gets: number; unfinished: number | null }
  | { t: number; type: 'pool'; id: string; pending: number; submitted: number; completed: number; state: PoolInfo['state']; workers: number }
  | { t: number; type: 'run'; state: RunInfo['state']; exitCode: number | null; signal: string | null; endedAt: number | null }
  /**
   * The run's running processes together, after an OS scan moved a figure: CPU % of one core,
   * resident bytes; `processes`: the figures of each process that moved, [key, CPU %, bytes]
   * (0, 0 once it stops running), so the timeline can draw each lane's own (absent in older files).
   */
  | { t: number; type: 'usage'; cpuPercent: number; rssBytes: number; processes?: Array<[string, number, number]> };

export interface ExportedRun {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: number;
  run: RunInfo;
  /** The same JSON as `mptree run --snapshot`, hints included. */
  snapshot: SnapshotJson & { hints: SnapshotHint[] };
  hints: Hint[];
  /** Final state of every process recorded, parents before children where known. */
  processes: ProcessRecord[];
  queues: QueueInfo[];
  pools: PoolInfo[];
  /** Oldest first. */
  events: HistoryEvent[];
  /** Older queue and pool samples were thinned out to stay within the memory cap. */
  thinned: boolean;
}

/** What RunHistory listens to: a RunSession satisfies it. */
export interface HistorySource {
  readonly info: RunInfo;
  readonly model: {
    processes(): ProcessInfo[];
    get(key: string): ProcessInfo | undefined;
    queues(): QueueInfo[];
    pools(): PoolInfo[];
    toSnapshot(run: RunInfo): SnapshotJson;
  };
  readonly onDidChange: Event<ModelChange>;
  readonly onDidChangeRun: Event<RunInfo>;
}

export interface RunHistoryOptions {
  /** Events kept at most; beyond it queue and pool samples are thinned (every other dropped). */
  maxEvents?: number;
  /** Process records kept at most (exited ones are forgotten oldest first beyond it). */
  maxProcesses?: number;
  clock?: () => number;
}

const PROCESS_FIELDS: ReadonlyArray<keyof ProcessRecord> = [
  'key', 'runId', 'pid', 'ppid', 'parentPid', 'parentKey', 'name', 'daemon', 'kind', 'role', 'startMethod', 'target', 'command',
  'state', 'exitCode', 'signal', 'joined', 'reaped', 'orphaned', 'instrumented', 'poolId', 'createdAt', 'startedAt', 'exitedAt',
  // Measured at the end: they change once. The live figures (cpuPercent, rssBytes) change at
  // every OS scan and are not history: a record has them null.
  'cpuSeconds', 'peakRssBytes',
  // What it waits on: a new object per wait (never mutated), so the history has each one once.
  'wait',
];

export class RunHistory implements Disposable {
  private readonly list: HistoryEvent[] = [];
  /** Last recorded state per process; outlives the model's own (Clear Exited, eviction). */
  private readonly records = new Map<string, ProcessRecord>();
  private readonly queueState = new Map<string, QueueInfo>();
  private readonly poolState = new Map<string, PoolInfo>();
  private readonly lastQueue = new Map<string, string>();
  private readonly lastPool = new Map<string, string>();
  private readonly maxEvents: number;
  private readonly maxProcesses: number;
  private readonly clock: () => number;
  private readonly subscriptions: Disposable[] = [];
  private readonly recordEmitter = new Emitter<HistoryEvent[]>();
  private thinnedValue = false;
  /** Live figures of each running process as last seen, and their sums (see trackUsage). */
  private readonly liveUsage = new Map<string, [number, number]>();
  private readonly usageTotal = { cpuPercent: 0, rssBytes: 0 };
  /** Fires with the events of each recorded change (the timeline's incremental updates). */
  readonly onDidRecord = this.recordEmitter.event;

  constructor(
    private readonly source: HistorySource,
    options: RunHistoryOptions = {},
  ) {
    this.maxEvents = Math.max(100, options.maxEvents ?? 200_000);
    this.maxProcesses = Math.max(10, options.maxProcesses ?? 20_000);
    this.clock = options.clock ?? Date.now;
    // Whatever the model already holds (a history attached late) is its first entry.
    this.recordAll();
    this.subscriptions.push(
      source.onDidChange((change) => this.record(change)),
      source.onDidChangeRun((info) => this.recordRun(info)),
    );
  }

  get events(): readonly HistoryEvent[] {
    return this.list;
  }

  get thinned(): boolean {
    return this.thinnedValue;
  }

  processRecords(): ProcessRecord[] {
    return [...this.records.values()];
  }

  queueRecords(): QueueInfo[] {
    return [...this.queueState.values()];
  }

  poolRecords(): PoolInfo[] {
    return [...this.poolState.values()];
  }

  private recordAll(): void {
    const t = this.clock();
    const out: HistoryEvent[] = [];
    for (const p of this.source.model.processes()) this.recordProcess(p, t, out);
    for (const q of this.source.model.queues()) this.recordQueue(q, t, out);
    for (const pool of this.source.model.pools()) this.recordPool(pool, t, out);
    this.push(out);
  }

  private record(change: ModelChange): void {
    const t = this.clock();
    const out: HistoryEvent[] = [];
    const usageMoved: Array<[string, number, number]> = [];
    for (const key of change.processes) {
      const p = this.source.model.get(key);
      if (p) this.recordProcess(p, t, out);
      const moved = this.trackUsage(key, p);
      if (moved) usageMoved.push(moved);
    }
    if (usageMoved.length > 0) {
      out.push({ t, type: 'usage', cpuPercent: Math.max(0, this.usageTotal.cpuPercent), rssBytes: Math.max(0, this.usageTotal.rssBytes), processes: usageMoved });
    }
    if (change.queues.length > 0) {
      const wanted = new Set(change.queues);
      for (const q of this.source.model.queues()) if (wanted.has(q.key)) this.recordQueue(q, t, out);
    }
    if (change.pools.length > 0) {
      const wanted = new Set(change.pools);
      for (const pool of this.source.model.pools()) if (wanted.has(pool.key)) this.recordPool(pool, t, out);
    }
    this.push(out);
  }

  private recordRun(info: RunInfo): void {
    const last = [...this.list].reverse().find((e) => e.type === 'run');
    if (last && last.type === 'run' && last.state === info.state && last.exitCode === info.exitCode && last.endedAt === info.endedAt) return;
    this.push([{ t: this.clock(), type: 'run', state: info.state, exitCode: info.exitCode, signal: info.signal, endedAt: info.endedAt }]);
  }

  private recordProcess(p: ProcessInfo, t: number, out: HistoryEvent[]): void {
    const previous = this.records.get(p.key);
    const current = copyProcess(p);
    if (!previous) {
      out.push({ t, type: 'process', key: p.key, patch: current });
    } else {
      const patch: Partial<ProcessRecord> = {};
      let changed = false;
      for (const field of PROCESS_FIELDS) {
        if (previous[field] !== current[field]) {
          (patch as Record<string, unknown>)[field] = current[field];
          changed = true;
        }
      }
      if (!changed) return;
      out.push({ t, type: 'process', key: p.key, patch });
      // Re-inserted: the Map's order becomes "least recently changed first" for the cap.
      this.records.delete(p.key);
    }
    this.records.set(p.key, current);
    if (this.records.size > this.maxProcesses) this.forgetOldProcesses();
  }

  /**
   * Keeps the run's live totals by difference: only the processes a change names are looked
   * at, never all of them. The process's new figures when they moved, else null.
   */
  private trackUsage(key: string, p: ProcessInfo | undefined): [string, number, number] | null {
    const before = this.liveUsage.get(key);
    const cpu = p?.state === 'running' ? p.cpuPercent ?? 0 : 0;
    const rss = p?.state === 'running' ? p.rssBytes ?? 0 : 0;
    if ((before?.[0] ?? 0) === cpu && (before?.[1] ?? 0) === rss) return null;
    this.usageTotal.cpuPercent += cpu - (before?.[0] ?? 0);
    this.usageTotal.rssBytes += rss - (before?.[1] ?? 0);
    if (cpu === 0 && rss === 0) this.liveUsage.delete(key);
    else this.liveUsage.set(key, [cpu, rss]);
    return [key, cpu, rss];
  }

  private recordQueue(q: QueueInfo, t: number, out: HistoryEvent[]): void {
    this.queueState.set(q.key, { ...q });
    const sig = `${q.depth}|${q.puts}|${q.gets}|${q.unfinished}`;
    if (this.lastQueue.get(q.key) === sig) return;
    this.lastQueue.set(q.key, sig);
    out.push({ t, type: 'queue', id: q.id, depth: q.depth, puts: q.puts, gets: q.gets, unfinished: q.unfinished });
  }

  private recordPool(pool: PoolInfo, t: number, out: HistoryEvent[]): void {
    this.poolState.set(pool.key, { ...pool, workers: [...pool.workers] });
    const sig = `${pool.pending}|${pool.submitted}|${pool.completed}|${pool.state}|${pool.workers.length}`;
    if (this.lastPool.get(pool.key) === sig) return;
    this.lastPool.set(pool.key, sig);
    out.push({ t, type: 'pool', id: pool.id, pending: pool.pending, submitted: pool.submitted, completed: pool.completed, state: pool.state, workers: pool.workers.length });
  }

  private push(events: HistoryEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) this.list.push(e);
    if (this.list.length > this.maxEvents) this.thin();
    try {
      this.recordEmitter.fire(events);
    } catch {
      // A failing listener (a closed webview) must not stop the recording.
    }
  }

  /**
   * Keeps every process and run event (they are what the lanes are drawn from, and bounded by
   * the process cap) and drops every other queue/pool sample of the older half of the history,
   * so a long run keeps its shape at a coarser grain.
   */
  private thin(): void {
    this.thinnedValue = true;
    const half = Math.floor(this.list.length / 2);
    const parity = new Map<string, number>();
    const kept: HistoryEvent[] = [];
    for (let i = 0; i < this.list.length; i++) {
      const e = this.list[i];
      if (i >= half || e.type === 'process' || e.type === 'run') {
        kept.push(e);
        continue;
      }
      const series = e.type === 'usage' ? 'usage' : `${e.type}:${e.id}`;
      const n = (parity.get(series) ?? 0) + 1;
      parity.set(series, n);
      if (n % 2 === 1) kept.push(e);
    }
    // Process events alone beyond the cap (a huge run): drop the oldest events outright.
    const overflow = kept.length - this.maxEvents;
    this.list.length = 0;
    for (const e of overflow > 0 ? kept.slice(overflow + Math.floor(this.maxEvents / 10)) : kept) this.list.push(e);
  }

  private forgetOldProcesses(): void {
    for (const [key, record] of this.records) {
      if (this.records.size <= this.maxProcesses) break;
      if (record.state === 'exited') this.records.delete(key);
    }
  }

  /** The run as a shareable object (see ExportedRun); hints as computed by the caller. */
  exportRun(hints: readonly Hint[] = [], exportedAt = this.clock()): ExportedRun {
    const info = { ...this.source.info, args: [...this.source.info.args] };
    const snapshot = { ...this.source.model.toSnapshot(this.source.info), hints: snapshotHints(hints) };
    // Current model state wins over the records (the last change may still be in flight).
    for (const p of this.source.model.processes()) this.records.set(p.key, copyProcess(p));
    for (const q of this.source.model.queues()) this.queueState.set(q.key, { ...q });
    for (const pool of this.source.model.pools()) this.poolState.set(pool.key, { ...pool, workers: [...pool.workers] });
    return {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      exportedAt,
      run: info,
      snapshot,
      // The English message only: a shared file reads the same for everyone (its phrase is not kept).
      hints: hints.map(({ text: _text, ...h }) => h),
      processes: parentsFirst([...this.records.values()]),
      queues: this.queueRecords(),
      pools: this.poolRecords(),
      events: [...this.list],
      thinned: this.thinnedValue,
    };
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.recordEmitter.dispose();
  }
}

/** JSON text of a run (pretty enough to diff, compact enough to mail). */
export function exportRun(history: RunHistory, hints: readonly Hint[] = []): string {
  return JSON.stringify(history.exportRun(hints)) + '\n';
}

function copyProcess(p: ProcessInfo): ProcessRecord {
  const out = {} as Record<string, unknown>;
  for (const field of PROCESS_FIELDS) out[field] = p[field];
  out.cpuPercent = null;
  out.rssBytes = null;
  return out as unknown as ProcessRecord;
}

function parentsFirst(records: ProcessRecord[]): ProcessRecord[] {
  const byKey = new Map(records.map((r) => [r.key, r]));
  const depth = (r: ProcessRecord): number => {
    let d = 0;
    for (let k = r.parentKey; k !== null && d < 1000; k = byKey.get(k)?.parentKey ?? null) d++;
    return d;
  };
  return records.map((r, i) => ({ r, i, d: depth(r) })).sort((a, b) => a.d - b.d || a.i - b.i).map((x) => x.r);
}

// ---------------------------------------------------------------------------------------------
// Import

export class RunFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFileError';
  }
}

/** Limits against a hostile or broken file: it must not be able to exhaust memory. */
const MAX_TEXT = 512 * 1024 * 1024;
const MAX_ITEMS = 5_000_000;
const MAX_STRING = 1 << 20;

/** Parses and validates an exported run; throws RunFileError saying what is wrong and where. */
export function importRun(input: string | unknown): ExportedRun {
  let data: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_TEXT) throw new RunFileError(`the file is too large (${input.length} characters)`);
    try {
      data = JSON.parse(input);
    } catch (error) {
      throw new RunFileError(`not a JSON file: ${(error as Error).message}`);
    }
  }
  const v = new Validator();
  const root = v.object(data, '(file)');
  if (root.format !== EXPORT_FORMAT) {
    throw new RunFileError(`not an mptree run file: "format" is ${JSON.stringify(root.format ?? null)}, expected "${EXPORT_FORMAT}"`);
  }
  if (typeof root.version !== 'number' || !Number.isInteger(root.version)) throw new RunFileError('"version" must be an integer');
  if (root.version > EXPORT_VERSION) {
    throw new RunFileError(`this run was exported by a newer mptree (format version ${root.version}; this one reads up to ${EXPORT_VERSION})`);
  }
  if (root.version < 1) throw new RunFileError(`unknown format version ${root.version}`);

  const run = v.runInfo(root.run, 'run');
  const processes = v.array(root.processes, 'processes').map((p, i) => v.process(p, `processes[${i}]`));
  const queues = v.array(root.queues, 'queues').map((q, i) => v.queue(q, `queues[${i}]`));
  const pools = v.array(root.pools, 'pools').map((p, i) => v.pool(p, `pools[${i}]`));
  const events = v.array(root.events, 'events').map((e, i) => v.event(e, `events[${i}]`));
  const hints = root.hints === undefined ? [] : v.array(root.hints, 'hints').map((h, i) => v.hint(h, `hints[${i}]`));
  const snapshot = v.object(root.snapshot, 'snapshot') as unknown as ExportedRun['snapshot'];
  // The snapshot is carried for tools that read it; mptree rebuilds its views from the records.
  if (snapshot.version !== 1) throw new RunFileError('snapshot.version must be 1');
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: v.number(root.exportedAt, 'exportedAt'),
    run,
    snapshot,
    hints,
    processes,
    queues,
    pools,
    events,
    thinned: root.thinned === true,
  };
}

type Obj = Record<string, unknown>;

class Validator {
  private items = 0;

  fail(path: string, what: string, value: unknown): never {
    const shown = value === undefined ? 'missing' : `${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`;
    throw new RunFileError(`${path}: expected ${what}, found ${shown}`);
  }

  object(value: unknown, path: string): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'an object', value);
    return value as Obj;
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) this.fail(path, 'an array', value);
    this.items += value.length;
    if (this.items > MAX_ITEMS) throw new RunFileError(`${path}: too many entries (more than ${MAX_ITEMS} in the file)`);
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string') this.fail(path, 'a string', value);
    if (value.length > MAX_STRING) throw new RunFileError(`${path}: string too long`);
    return value;
  }

  nullableString(value: unknown, path: string): string | null {
    return value === null || value === undefined ? null : this.string(value, path);
  }

  number(value: unknown, path: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(path, 'a number', value);
    return value;
  }

  nullableNumber(value: unknown, path: string): number | null {
    return value === null || value === undefined ? null : this.number(value, path);
  }

  nullableAmount(value: unknown, path: string): number | null {
    const n = this.nullableNumber(value, path);
    if (n !== null && n < 0) this.fail(path, 'a number ≥ 0 or null', value);
    return n;
  }

  int(value: unknown, path: string): number {
    const n = this.number(value, path);
    if (!Number.isSafeInteger(n)) this.fail(path, 'an integer', value);
    return n;
  }

  bool(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') this.fail(path, 'true or false', value);
    return value;
  }

  oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw new RunFileError(`${path}: expected one of ${allowed.map((a) => `"${a}"`).join(', ')}, found ${JSON.stringify(value ?? null)?.slice(0, 40)}`);
    }
    return value as T;
  }

  runInfo(value: unknown, path: string): RunInfo {
    const o = this.object(value, path);
    return {
      runId: this.string(o.runId, `${path}.runId`),
      script: this.string(o.script, `${path}.script`),
      args: this.array(o.args, `${path}.args`).map((a, i) => this.string(a, `${path}.args[${i}]`)),
      python: this.string(o.python, `${path}.python`),
      cwd: this.string(o.cwd, `${path}.cwd`),
      state: this.oneOf(o.state, ['starting', 'running', 'finished', 'failed'] as const, `${path}.state`),
      rootPid: this.nullableNumber(o.rootPid, `${path}.rootPid`),
      exitCode: this.nullableNumber(o.exitCode, `${path}.exitCode`),
      signal: this.nullableString(o.signal, `${path}.signal`),
      startedAt: this.number(o.startedAt, `${path}.startedAt`),
      endedAt: this.nullableNumber(o.endedAt, `${path}.endedAt`),
      error: this.nullableString(o.error, `${path}.error`),
      notice: this.nullableString(o.notice, `${path}.notice`),
    };
  }

  process(value: unknown, path: string, partial = false): ProcessRecord {
    const o = this.object(value, path);
    const out: Record<string, unknown> = {};
    const field = (name: keyof ProcessRecord, read: (v: unknown, p: string) => unknown) => {
      if (partial && !(name in o)) return;
      out[name] = read(o[name], `${path}.${name}`);
    };
    field('key', (v, p) => this.string(v, p));
    field('runId', (v, p) => this.string(v, p));
    field('pid', (v, p) => this.int(v, p));
    field('ppid', (v, p) => (v === null ? null : this.int(v, p)));
    field('parentPid', (v, p) => (v === null ? null : this.int(v, p)));
    field('parentKey', (v, p) => this.nullableString(v, p));
    field('name', (v, p) => this.string(v, p));
    field('daemon', (v, p) => this.bool(v, p));
    field('kind', (v, p) => this.oneOf(v, ['main', 'process', 'pool-worker', 'helper', 'os'] as const, p));
    field('role', (v, p) => (v === null ? null : this.oneOf(v, ['resource-tracker', 'forkserver', 'manager'] as const, p)));
    field('startMethod', (v, p) => this.nullableString(v, p));
    field('target', (v, p) => this.nullableString(v, p));
    field('command', (v, p) => this.nullableString(v, p));
    field('state', (v, p) => this.oneOf(v, ['running', 'zombie', 'exited'] as const, p));
    field('exitCode', (v, p) => this.nullableNumber(v, p));
    field('signal', (v, p) => this.nullableString(v, p));
    field('joined', (v, p) => this.bool(v, p));
    field('reaped', (v, p) => this.bool(v, p));
    field('orphaned', (v, p) => this.bool(v, p));
    field('instrumented', (v, p) => this.bool(v, p));
    field('poolId', (v, p) => this.nullableString(v, p));
    field('createdAt', (v, p) => this.nullableNumber(v, p));
    field('startedAt', (v, p) => this.number(v, p));
    field('exitedAt', (v, p) => this.nullableNumber(v, p));
    // Absent from files written before mptree measured them: unknown.
    field('cpuSeconds', (v, p) => this.nullableAmount(v, p));
    field('peakRssBytes', (v, p) => this.nullableAmount(v, p));
    // Absent from files written before mptree saw waits: none.
    if (!partial || 'wait' in o) out.wait = o.wait === undefined || o.wait === null ? null : this.wait(o.wait, `${path}.wait`);
    if (!partial) out.cpuPercent = out.rssBytes = null;
    return out as unknown as ProcessRecord;
  }

  queue(value: unknown, path: string): QueueInfo {
    const o = this.object(value, path);
    const kind = this.oneOf(o.kind, ['Queue', 'JoinableQueue', 'SimpleQueue', 'ManagerQueue', 'ManagerJoinableQueue'] as const, `${path}.kind`);
    return {
      key: this.string(o.key, `${path}.key`),
      runId: this.string(o.runId, `${path}.runId`),
      id: this.string(o.id, `${path}.id`),
      kind,
      ownerPid: this.int(o.ownerPid, `${path}.ownerPid`),
      maxsize: this.number(o.maxsize, `${path}.maxsize`),
      puts: this.number(o.puts, `${path}.puts`),
      gets: this.number(o.gets, `${path}.gets`),
      tasksDone: this.number(o.tasksDone, `${path}.tasksDone`),
      depth: this.number(o.depth, `${path}.depth`),
      unfinished: this.nullableNumber(o.unfinished, `${path}.unfinished`),
      site: this.nullableString(o.site, `${path}.site`),
      createdAt: this.number(o.createdAt, `${path}.createdAt`),
      ...(o.putters === undefined ? {} : { putters: this.array(o.putters, `${path}.putters`).map((p, k) => this.int(p, `${path}.putters[${k}]`)) }),
    };
  }

  pool(value: unknown, path: string): PoolInfo {
    const o = this.object(value, path);
    return {
      key: this.string(o.key, `${path}.key`),
      runId: this.string(o.runId, `${path}.runId`),
      id: this.string(o.id, `${path}.id`),
      kind: this.oneOf(o.kind, ['Pool', 'ProcessPoolExecutor'] as const, `${path}.kind`),
      ownerPid: this.int(o.ownerPid, `${path}.ownerPid`),
      size: this.number(o.size, `${path}.size`),
      workers: this.array(o.workers, `${path}.workers`).map((w, i) => this.int(w, `${path}.workers[${i}]`)),
      submitted: this.number(o.submitted, `${path}.submitted`),
      completed: this.number(o.completed, `${path}.completed`),
      pending: this.number(o.pending, `${path}.pending`),
      state: this.oneOf(o.state, POOL_STATES, `${path}.state`),
      site: this.nullableString(o.site, `${path}.site`),
      createdAt: this.number(o.createdAt, `${path}.createdAt`),
    };
  }

  event(value: unknown, path: string): HistoryEvent {
    const o = this.object(value, path);
    const t = this.number(o.t, `${path}.t`);
    const type = this.oneOf(o.type, ['process', 'queue', 'pool', 'run', 'usage'] as const, `${path}.type`);
    switch (type) {
      case 'process':
        return { t, type, key: this.string(o.key, `${path}.key`), patch: this.process(o.patch, `${path}.patch`, true) };
      case 'queue':
        return {
          t,
          type,
          id: this.string(o.id, `${path}.id`),
          depth: this.number(o.depth, `${path}.depth`),
          puts: this.number(o.puts, `${path}.puts`),
          gets: this.number(o.gets, `${path}.gets`),
          unfinished: this.nullableNumber(o.unfinished, `${path}.unfinished`),
        };
      case 'pool':
        return {
          t,
          type,
          id: this.string(o.id, `${path}.id`),
          pending: this.number(o.pending, `${path}.pending`),
          submitted: this.number(o.submitted, `${path}.submitted`),
          completed: this.number(o.completed, `${path}.completed`),
          state: this.oneOf(o.state, POOL_STATES, `${path}.state`),
          workers: this.number(o.workers ?? 0, `${path}.workers`),
        };
      case 'run':
        return {
          t,
          type,
          state: this.oneOf(o.state, ['starting', 'running', 'finished', 'failed'] as const, `${path}.state`),
          exitCode: this.nullableNumber(o.exitCode, `${path}.exitCode`),
          signal: this.nullableString(o.signal, `${path}.signal`),
          endedAt: this.nullableNumber(o.endedAt, `${path}.endedAt`),
        };
      case 'usage':
        return {
          t,
          type,
          cpuPercent: this.nullableAmount(o.cpuPercent, `${path}.cpuPercent`) ?? 0,
          rssBytes: this.nullableAmount(o.rssBytes, `${path}.rssBytes`) ?? 0,
          ...(o.processes === undefined ? {} : { processes: this.usageEntries(o.processes, `${path}.processes`) }),
        };
    }
  }

  /** [key, CPU %, resident bytes] per process. */
  usageEntries(value: unknown, path: string): Array<[string, number, number]> {
    return this.array(value, path).map((entry, i) => {
      const at = `${path}[${i}]`;
      const tuple = this.array(entry, at);
      if (tuple.length !== 3) throw new RunFileError(`${at}: expected [key, cpuPercent, rssBytes]`);
      return [this.string(tuple[0], `${at}[0]`), this.nullableAmount(tuple[1], `${at}[1]`) ?? 0, this.nullableAmount(tuple[2], `${at}[2]`) ?? 0];
    });
  }

  wait(value: unknown, path: string): WaitInfo {
    const o = this.object(value, path);
    const object = this.object(o.object, `${path}.object`);
    const site = o.site === null || o.site === undefined ? null : this.object(o.site, `${path}.site`);
    return {
      pid: this.int(o.pid, `${path}.pid`),
      threadId: this.int(o.threadId, `${path}.threadId`),
      thread: this.string(o.thread, `${path}.thread`),
      call: this.string(o.call, `${path}.call`),
      object: {
        kind: this.oneOf(object.kind, ['queue', 'lock', 'process', 'pool', 'connection', 'future', 'manager', 'other'] as const, `${path}.object.kind`),
        id: this.nullableString(object.id ?? null, `${path}.object.id`),
        pid: object.pid === null || object.pid === undefined ? null : this.int(object.pid, `${path}.object.pid`),
        address: this.nullableString(object.address ?? null, `${path}.object.address`),
      },
      timeout: this.nullableAmount(o.timeout ?? null, `${path}.timeout`),
      site: site ? { file: this.string(site.file, `${path}.site.file`), line: this.int(site.line, `${path}.site.line`), function: this.nullableString(site.function ?? null, `${path}.site.function`) } : null,
      since: this.number(o.since, `${path}.since`),
      endedAt: this.nullableNumber(o.endedAt ?? null, `${path}.endedAt`),
    };
  }

  hint(value: unknown, path: string): Hint {
    const o = this.object(value, path);
    const hint: Hint = {
      kind: this.oneOf(o.kind, HINT_KINDS as readonly HintKind[], `${path}.kind`),
      message: this.string(o.message, `${path}.message`),
      severity: o.severity === 'info' ? 'info' : o.severity === 'error' ? 'error' : 'warning',
    };
    if (o.pid !== undefined && o.pid !== null) hint.pid = this.int(o.pid, `${path}.pid`);
    if (o.processKey !== undefined) hint.processKey = this.string(o.processKey, `${path}.processKey`);
    if (o.queueId !== undefined) hint.queueId = this.string(o.queueId, `${path}.queueId`);
    if (o.poolId !== undefined) hint.poolId = this.string(o.poolId, `${path}.poolId`);
    if (o.site !== undefined) hint.site = this.string(o.site, `${path}.site`);
    if (o.processKeys !== undefined) hint.processKeys = this.array(o.processKeys, `${path}.processKeys`).map((k, i) => this.string(k, `${path}.processKeys[${i}]`));
    if (o.sites !== undefined) hint.sites = this.array(o.sites, `${path}.sites`).map((k, i) => this.string(k, `${path}.sites[${i}]`));
    return hint;
  }
}

const POOL_STATES = ['running', 'closed', 'terminated', 'joined', 'shutdown'] as const;

// ---------------------------------------------------------------------------------------------
// A read-only model over records: the tree (ModelView) and the hints (HintModelView) read it.

export class StaticModel {
  private readonly byKey = new Map<string, ProcessRecord>();
  private readonly byPid = new Map<number, ProcessRecord>();
  private readonly childIndex = new Map<string, ProcessRecord[]>();
  private readonly queuesByOwner = new Map<string, QueueInfo[]>();
  private readonly poolsByOwner = new Map<string, PoolInfo[]>();

  constructor(
    processes: readonly ProcessRecord[],
    private readonly queueList: readonly QueueInfo[],
    private readonly poolList: readonly PoolInfo[],
  ) {
    for (const p of processes) {
      this.byKey.set(p.key, p);
      // The latest incarnation of a pid wins, as in the live model.
      const prev = this.byPid.get(p.pid);
      if (!prev || prev.startedAt <= p.startedAt) this.byPid.set(p.pid, p);
    }
    for (const p of processes) {
      // A parent the file lacks (forgotten by a cap): the child is shown at the top.
      const parent = p.parentKey !== null && this.byKey.has(p.parentKey) && p.parentKey !== p.key ? p.parentKey : '';
      let list = this.childIndex.get(parent);
      if (!list) this.childIndex.set(parent, (list = []));
      list.push(p);
    }
    for (const q of queueList) this.index(this.queuesByOwner, q.ownerPid, q);
    for (const pool of poolList) this.index(this.poolsByOwner, pool.ownerPid, pool);
  }

  private index<T>(map: Map<string, T[]>, ownerPid: number, item: T): void {
    const owner = this.byPid.get(ownerPid);
    if (!owner) return;
    let list = map.get(owner.key);
    if (!list) map.set(owner.key, (list = []));
    list.push(item);
  }

  get(key: string): ProcessInfo | undefined {
    return this.byKey.get(key);
  }
  processByPid(pid: number): ProcessInfo | undefined {
    return this.byPid.get(pid);
  }
  children(parentKey: string | null): ProcessInfo[] {
    return [...(this.childIndex.get(parentKey ?? '') ?? [])];
  }
  processes(): ProcessInfo[] {
    return [...this.byKey.values()];
  }
  liveProcesses(): ProcessInfo[] {
    return this.processes().filter((p) => p.state !== 'exited');
  }
  queuesOf(processKey: string): QueueInfo[] {
    return [...(this.queuesByOwner.get(processKey) ?? [])];
  }
  poolsOf(processKey: string): PoolInfo[] {
    return [...(this.poolsByOwner.get(processKey) ?? [])];
  }
  queues(): QueueInfo[] {
    return [...this.queueList];
  }
  pools(): PoolInfo[] {
    return [...this.poolList];
  }
  walk(): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    const seen = new Set<string>();
    const visit = (parentKey: string | null) => {
      for (const child of this.children(parentKey)) {
        if (seen.has(child.key)) continue;
        seen.add(child.key);
        out.push(child);
        visit(child.key);
      }
    };
    visit(null);
    return out;
  }
}

/** The model of an imported run, as it was at the end. */
export function modelOf(run: ExportedRun): StaticModel {
  return new StaticModel(run.processes, run.queues, run.pools);
}

/**
 * The model as it was at time `t`, rebuilt from the events (processes not yet seen are left
 * out; queue and pool counts are their last sample at or before t).
 */
export function replayTo(run: ExportedRun, t: number): StaticModel {
  const processes = new Map<string, ProcessRecord>();
  const queues = new Map(run.queues.map((q) => [q.id, { ...q, depth: 0, puts: 0, gets: 0, unfinished: q.unfinished === null ? null : 0 }]));
  const pools = new Map(run.pools.map((p) => [p.id, { ...p, pending: 0, submitted: 0, completed: 0, state: 'running' as PoolInfo['state'] }]));
  const queueSeen = new Set<string>();
  const poolSeen = new Set<string>();
  for (const e of run.events) {
    if (e.t > t) break;
    if (e.type === 'process') {
      const prev = processes.get(e.key);
      if (prev) processes.set(e.key, { ...prev, ...e.patch });
      else if (isFullRecord(e.patch)) processes.set(e.key, { ...e.patch });
    } else if (e.type === 'queue') {
      const q = queues.get(e.id);
      if (q) Object.assign(q, { depth: e.depth, puts: e.puts, gets: e.gets, unfinished: e.unfinished }), queueSeen.add(e.id);
    } else if (e.type === 'pool') {
      const p = pools.get(e.id);
      if (p) Object.assign(p, { pending: e.pending, submitted: e.submitted, completed: e.completed, state: e.state }), poolSeen.add(e.id);
    }
  }
  return new StaticModel(
    [...processes.values()],
    [...queues.values()].filter((q) => queueSeen.has(q.id) || q.createdAt <= t),
    [...pools.values()].filter((p) => poolSeen.has(p.id) || p.createdAt <= t),
  );
}

function isFullRecord(patch: Partial<ProcessRecord>): patch is ProcessRecord {
  return typeof patch.key === 'string' && typeof patch.pid === 'number' && typeof patch.state === 'string';
}
