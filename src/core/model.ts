// The process model of one run: reduces runtime messages and OS scans into ProcessInfo,
// QueueInfo and PoolInfo, and fires one change per applied batch.
// It is pure bookkeeping (no I/O, no timers), so every rule here is unit-testable with
// hand-written messages, and a malformed or surprising message can never throw out of it.
import * as os from 'node:os';
import { Emitter } from './event';
import type { OsProcess } from './osScan';
import type { Liveness } from './osScan';
import type { HelloMessage, ProcessStartedMessage, RuntimeMessage, RuntimeProcessKind } from './protocol';
import type { ModelChange, PoolInfo, ProcessInfo, ProcessKind, QueueInfo, RunInfo, SnapshotJson } from './types';

export interface RunModelOptions {
  /** Exited processes kept for history; the oldest beyond this are forgotten. */
  maxExited?: number;
  /**
   * Queues and pools kept; past this the least recently active empty queues and finished
   * pools are forgotten (the protocol has no "queue closed": without a cap a program that
   * makes queues in a loop would grow the model for ever).
   */
  maxQueues?: number;
  maxPools?: number;
  /** Diagnostics (dropped messages and the like); the session rate-limits them. */
  log?: (kind: string, message: string) => void;
}

export interface OsScanResult {
  /** Descendants of the root as the OS listed them. */
  processes: readonly OsProcess[];
  /** When the listing started (ms since epoch): nodes newer than this cannot be in it. */
  takenAt: number;
  /** Double check for known processes the listing lacks: orphans leave the root's subtree. */
  liveness: (pid: number) => Liveness;
}

const SIGNAL_NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  // First name wins, so aliases (SIGIOT for SIGABRT, SIGPOLL for SIGIO) are not shown.
  for (const [name, number] of Object.entries(os.constants.signals)) if (!names.has(number)) names.set(number, name);
  return names;
})();

/** 'SIGTERM' for -15 (multiprocessing's convention for a death by signal), else null. */
export function signalName(exitCode: number | null): string | null {
  if (exitCode === null || exitCode >= 0) return null;
  return SIGNAL_NAMES.get(-exitCode) ?? `signal ${-exitCode}`;
}

export function signalNumber(name: string): number | null {
  const number = (os.constants.signals as Record<string, number | undefined>)[name];
  return number ?? null;
}

/** Node's ('exit', code, signal) in multiprocessing's convention: a signal N becomes -N. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number | null {
  if (signal) return -(signalNumber(signal) ?? 0) || null;
  return code;
}

const TOP = '';
/** Producers listed per queue (QueueInfo.putters); a queue with more lists none. */
const MAX_PUTTERS = 64;

interface MutableChange {
  processes: Set<string>;
  queues: Set<string>;
  pools: Set<string>;
  structural: boolean;
}

export class RunModel {
  private readonly nodes = new Map<string, ProcessInfo>();
  /** pid → key of its latest incarnation. */
  private readonly current = new Map<number, string>();
  /** Pids that belong to the run: said hello, were started by a run process, or descend from the root. */
  private readonly members = new Set<number>();
  /** parentKey (TOP for roots) → child keys in arrival order: children() must not scan all nodes. */
  private readonly childIndex = new Map<string, Set<string>>();
  /** Children placed at the top because their parent pid had no node yet. */
  private readonly waitingForParent = new Map<number, Set<string>>();
  /** Running or zombie nodes: the set the OS scan checks and the session waits for. */
  private readonly live = new Set<string>();
  /** Exited nodes, oldest exit first, for the history cap. */
  private readonly exitedOrder = new Set<string>();
  /** Exit codes a process reported about itself (process.exiting), used if no parent reports one. */
  private readonly selfReportedExit = new Map<string, number>();
  private readonly queueMap = new Map<string, QueueInfo>();
  private readonly poolMap = new Map<string, PoolInfo>();
  private readonly queuesByOwner = new Map<string, Set<string>>();
  private readonly poolsByOwner = new Map<string, Set<string>>();
  // Counts may arrive (from another process's connection) before the creator's *.created.
  private readonly earlyQueueCounts = new Map<string, [number, number, number]>();
  /** Queues whose depth the runtime reads from the queue itself: id → time of the latest sample. */
  private readonly depthSampledAt = new Map<string, number>();
  /** Processes that report a queue's depth (its maker, its producers): id → pids, at most MAX_PUTTERS. */
  private readonly depthReaders = new Map<string, Set<number>>();
  /** queue.resample requests owed: pid → ids of queues whose shown depth another reader moved. */
  private readonly resampleWanted = new Map<number, Set<string>>();
  /** Queues with more than MAX_PUTTERS producers: their putters are not listed. */
  private readonly tooManyPutters = new Set<string>();
  /** Depth samples that came before their queue.created: id → [depth, t]. */
  private readonly earlyQueueDepths = new Map<string, [number, number]>();
  private readonly earlyPoolCounts = new Map<string, [number, number]>();
  private readonly earlyPoolWorkers = new Map<string, Set<number>>();
  private readonly maxExited: number;
  private readonly maxQueues: number;
  private readonly maxPools: number;
  /** Queue and pool ids, least recently active first, and the owner node each is listed under. */
  private readonly queueActivity = new Set<string>();
  private readonly poolActivity = new Set<string>();
  private readonly ownerKeyOf = new Map<string, string>();
  private rootPidValue: number | null = null;
  private change: MutableChange | null = null;
  private readonly changeEmitter = new Emitter<ModelChange>();
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    readonly runId: string,
    private readonly options: RunModelOptions = {},
  ) {
    this.maxExited = options.maxExited ?? 5000;
    this.maxQueues = options.maxQueues ?? 2000;
    this.maxPools = options.maxPools ?? 500;
  }

  get rootPid(): number | null {
    return this.rootPidValue;
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  get(key: string): ProcessInfo | undefined {
    return this.nodes.get(key);
  }

  /** The current incarnation of a pid. */
  processByPid(pid: number): ProcessInfo | undefined {
    const key = this.current.get(pid);
    return key === undefined ? undefined : this.nodes.get(key);
  }

  isMember(pid: number): boolean {
    return this.members.has(pid);
  }

  /** Children of a node, or the top-level nodes for null; in the order they appeared. */
  children(parentKey: string | null): ProcessInfo[] {
    const keys = this.childIndex.get(parentKey ?? TOP);
    if (!keys) return [];
    const result: ProcessInfo[] = [];
    for (const key of keys) {
      const node = this.nodes.get(key);
      if (node) result.push(node);
    }
    return result;
  }

  processes(): ProcessInfo[] {
    return [...this.nodes.values()];
  }

  /** Running or zombie processes. */
  liveProcesses(): ProcessInfo[] {
    return [...this.live].map((key) => this.nodes.get(key)!).filter(Boolean);
  }

  get liveCount(): number {
    return this.live.size;
  }

  queuesOf(processKey: string): QueueInfo[] {
    return [...(this.queuesByOwner.get(processKey) ?? [])].map((id) => this.queueMap.get(id)!).filter(Boolean);
  }

  poolsOf(processKey: string): PoolInfo[] {
    return [...(this.poolsByOwner.get(processKey) ?? [])].map((id) => this.poolMap.get(id)!).filter(Boolean);
  }

  queues(): QueueInfo[] {
    return [...this.queueMap.values()];
  }

  pools(): PoolInfo[] {
    return [...this.poolMap.values()];
  }

  /** Depth-first, parents before children: the order the tree shows. */
  walk(): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    const visit = (parentKey: string | null) => {
      for (const child of this.children(parentKey)) {
        out.push(child);
        visit(child.key);
      }
    };
    visit(null);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Mutations. Each public entry point is one batch: one onDidChange at most.

  /** `senders[i]`: the pid whose connection carried `messages[i]` (the session knows it). */
  apply(messages: readonly RuntimeMessage[], senders?: readonly number[]): void {
    this.batch(() => {
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i];
        try {
          this.reduce(message, senders?.[i]);
        } catch (error) {
          // A bug or a message we did not foresee must cost one message, not the run.
          this.options.log?.('reduce-error', `mptree: could not apply ${message.type}: ${(error as Error)?.message ?? error}`);
        }
      }
    });
  }

  /** The run's root (the launched interpreter). Shown at once, before its hello. */
  setRootPid(pid: number, info: { name?: string; command?: string | null; t?: number } = {}): void {
    this.batch(() => {
      this.rootPidValue = pid;
      this.members.add(pid);
      const existing = this.processByPid(pid);
      if (existing) {
        if (existing.parentKey === null && existing.kind !== 'os') this.update(existing, { kind: 'main' });
        return;
      }
      this.createNode(pid, info.t ?? Date.now(), {
        name: info.name ?? `pid ${pid}`,
        kind: 'main',
        command: info.command ?? null,
        instrumented: false,
      });
    });
  }

  /** An exit learnt outside the protocol: the CLI's child 'exit' event, a signal we sent. */
  markExited(pid: number, exitCode: number | null, t = Date.now()): void {
    this.batch(() => {
      const node = this.processByPid(pid);
      if (!node) return;
      if (node.state !== 'exited') this.exit(node, exitCode, t, 'exited');
      else if (node.exitCode === null && exitCode !== null) this.update(node, { exitCode, signal: signalName(exitCode) });
    });
  }

  /**
   * What a debug session says of a process: stopped (the reason, as DAP's `stopped` event
   * gives it) or running again (null). A fact from the debugger, never guessed from timing.
   */
  setPaused(pid: number, reason: string | null): void {
    this.batch(() => {
      const node = this.processByPid(pid);
      if (node && node.state === 'running') this.update(node, { paused: reason });
    });
  }

  applyOsScan(scan: OsScanResult): void {
    this.batch(() => {
      const listed = new Map<number, OsProcess>();
      for (const p of scan.processes) listed.set(p.pid, p);
      for (const p of this.parentsFirst(scan.processes)) {
        try {
          this.reduceOsProcess(p, scan.takenAt);
        } catch (error) {
          this.options.log?.('reduce-error', `mptree: could not apply an OS scan entry: ${(error as Error)?.message ?? error}`);
        }
      }
      for (const key of [...this.live]) {
        const node = this.nodes.get(key);
        // The root's own exit is known to the session (child exit event or its own probe).
        if (!node || node.pid === this.rootPidValue || listed.has(node.pid)) continue;
        // Born after the listing began: its absence means nothing.
        if (node.startedAt > scan.takenAt) continue;
        const state = scan.liveness(node.pid);
        if (state === 'gone') this.exit(node, null, scan.takenAt, 'exited');
        else if (state === 'zombie' && node.state === 'running') this.exit(node, null, scan.takenAt, 'zombie');
      }
    });
  }

  /** Forgets exited processes (and the exited ancestors of nothing live). */
  clearExited(): void {
    this.batch(() => {
      const removable = (node: ProcessInfo): boolean => {
        let all = node.state === 'exited';
        for (const child of this.children(node.key)) if (!removable(child)) all = false;
        if (all) this.removeNode(node);
        return all;
      };
      for (const top of this.children(null)) removable(top);
    });
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }

  // -------------------------------------------------------------------------------------------
  // Reduction

  private reduce(message: RuntimeMessage, from?: number): void {
    switch (message.type) {
      case 'hello':
        return this.onHello(message);
      case 'process.started':
        return this.onStarted(message);
      case 'process.exited': {
        const node = this.memberNode(message.pid, message.type);
        if (!node) return;
        const code = message.exitCode;
        if (node.state === 'running') this.exit(node, code, message.t, 'zombie');
        // The parent's word beats the child's own process.exiting or an unknown OS exit.
        else if (node.exitCode !== code) this.update(node, { exitCode: code, signal: signalName(code) });
        return;
      }
      case 'process.atexit': {
        const node = this.memberNode(message.pid, message.type);
        if (node && node.codeDoneAt === null) this.update(node, { codeDoneAt: message.t });
        return;
      }
      case 'process.exiting': {
        const node = this.memberNode(message.pid, message.type);
        if (!node) return;
        if (node.state === 'running') this.selfReportedExit.set(node.key, message.exitCode);
        else if (node.exitCode === null) this.update(node, { exitCode: message.exitCode, signal: signalName(message.exitCode) });
        return;
      }
      case 'process.reaped': {
        const node = this.memberNode(message.pid, message.type);
        if (!node) return;
        if (node.state !== 'exited') this.exit(node, null, message.t, 'exited');
        this.update(node, { reaped: true, joined: node.joined || message.joined });
        return;
      }
      case 'queue.created': {
        if (!this.members.has(message.ownerPid)) return this.drop(message.type, message.ownerPid);
        const existing = this.queueMap.get(message.id);
        if (existing) {
          Object.assign(existing, { kind: message.kind, maxsize: message.maxsize, site: message.site ?? existing.site });
          this.markQueue(existing);
          return;
        }
        const queue: QueueInfo = {
          key: `${this.runId}:queue:${message.id}`,
          runId: this.runId,
          id: message.id,
          kind: message.kind,
          ownerPid: message.ownerPid,
          maxsize: message.maxsize,
          puts: 0,
          gets: 0,
          tasksDone: 0,
          depth: 0,
          unfinished: message.kind.endsWith('JoinableQueue') ? 0 : null,
          site: message.site,
          createdAt: message.t,
        };
        this.queueMap.set(message.id, queue);
        this.index(this.queuesByOwner, this.processByPid(message.ownerPid)?.key, `q:${message.id}`, message.id);
        const early = this.earlyQueueCounts.get(message.id);
        this.earlyQueueCounts.delete(message.id);
        if (early) this.addQueueCounts(queue, ...early);
        const earlyDepth = this.earlyQueueDepths.get(message.id);
        this.earlyQueueDepths.delete(message.id);
        if (earlyDepth) this.sampleQueueDepth(queue, ...earlyDepth);
        this.markQueue(queue);
        this.markStructural();
        return;
      }
      case 'queue.counts':
        for (const [id, puts, gets, done] of message.counts) {
          const queue = this.queueMap.get(id);
          if (queue) {
            this.addQueueCounts(queue, puts, gets, done);
            if (puts > 0 && from !== undefined) this.notePutter(queue, from);
            this.markQueue(queue);
          } else {
            this.early(this.earlyQueueCounts, id, [puts, gets, done]);
          }
        }
        return;
      case 'queue.depth':
        for (const [id, depth] of message.depths) {
          const queue = this.queueMap.get(id);
          if (queue) {
            if (this.sampleQueueDepth(queue, depth, message.t) && from !== undefined) this.askOtherReaders(id, from);
            if (from !== undefined) this.noteDepthReader(id, from);
            this.markQueue(queue);
          } else if (this.earlyQueueDepths.size < 10_000 && message.t >= (this.earlyQueueDepths.get(id)?.[1] ?? -Infinity)) {
            this.earlyQueueDepths.set(id, [depth, message.t]);
            if (from !== undefined) this.noteDepthReader(id, from);
          }
        }
        return;
      case 'pool.created': {
        if (!this.members.has(message.ownerPid)) return this.drop(message.type, message.ownerPid);
        let pool = this.poolMap.get(message.id);
        if (!pool) {
          pool = {
            key: `${this.runId}:pool:${message.id}`,
            runId: this.runId,
            id: message.id,
            kind: message.kind,
            ownerPid: message.ownerPid,
            size: message.size,
            workers: [],
            submitted: 0,
            completed: 0,
            pending: 0,
            state: 'running',
            site: message.site,
            createdAt: message.t,
          };
          this.poolMap.set(message.id, pool);
          this.index(this.poolsByOwner, this.processByPid(message.ownerPid)?.key, `p:${message.id}`, message.id);
          this.markStructural();
        } else {
          Object.assign(pool, { kind: message.kind, size: message.size, site: message.site ?? pool.site });
        }
        const counts = this.earlyPoolCounts.get(message.id);
        this.earlyPoolCounts.delete(message.id);
        if (counts) this.addPoolCounts(pool, ...counts);
        const workers = this.earlyPoolWorkers.get(message.id);
        this.earlyPoolWorkers.delete(message.id);
        if (workers) this.addWorkers(pool, [...workers]);
        this.markPool(pool);
        return;
      }
      case 'pool.workers': {
        const pool = this.poolMap.get(message.id);
        if (pool) this.addWorkers(pool, message.pids);
        else {
          let early = this.earlyPoolWorkers.get(message.id);
          if (!early && this.earlyPoolWorkers.size < 10_000) this.earlyPoolWorkers.set(message.id, (early = new Set()));
          // Bounded like the other early maps: only members, and not without limit.
          for (const pid of message.pids) if (early && early.size < 10_000 && this.members.has(pid)) early.add(pid);
        }
        return;
      }
      case 'pool.counts':
        for (const [id, submitted, completed] of message.counts) {
          const pool = this.poolMap.get(id);
          if (pool) {
            this.addPoolCounts(pool, submitted, completed);
            this.markPool(pool);
          } else {
            this.early(this.earlyPoolCounts, id, [submitted, completed]);
          }
        }
        return;
      case 'pool.state': {
        const pool = this.poolMap.get(message.id);
        if (!pool) return;
        pool.state = message.state;
        this.markPool(pool);
        return;
      }
      case 'control.result':
        // Answers are matched by the server; nothing to show.
        return;
    }
  }

  private onHello(m: HelloMessage): void {
    this.members.add(m.pid);
    let node = this.processByPid(m.pid);
    if (node && this.isNewIncarnation(node, m.t, m.created)) node = undefined;
    const command = m.argv && m.argv.length > 0 ? m.argv.join(' ') : null;
    if (!node) {
      node = this.createNode(m.pid, m.created ?? m.t, {
        ppid: m.ppid,
        parentPid: m.parentPid ?? m.ppid,
        name: m.name,
        daemon: m.daemon,
        kind: this.kindOf(m.kind, m.pid, m.parentPid ?? m.ppid),
        role: m.role,
        startMethod: m.startMethod,
        target: m.target,
        command,
        instrumented: true,
        createdAt: m.created,
      });
      return;
    }
    const patch: Partial<ProcessInfo> = { instrumented: true, ppid: m.ppid ?? node.ppid, command: command ?? node.command };
    if (m.created !== null) patch.createdAt = m.created;
    // A fork child says hello as a plain Python process before it reaches Process._bootstrap;
    // that early hello must not overwrite what its parent's process.started already told us
    // (the inherited name would be the parent's own).
    const knownBetter = m.kind === 'python' && node.kind !== 'os' && node.kind !== 'main' && node.startMethod !== null;
    if (!knownBetter) {
      Object.assign(patch, {
        name: m.name,
        daemon: m.daemon,
        kind: this.kindOf(m.kind, m.pid, m.parentPid ?? m.ppid),
        role: m.role,
        startMethod: m.startMethod ?? node.startMethod,
        target: m.target ?? node.target,
        parentPid: m.pid === this.rootPidValue ? null : m.parentPid ?? m.ppid ?? node.parentPid,
      });
    }
    this.update(node, patch);
    this.place(node);
  }

  private onStarted(m: ProcessStartedMessage): void {
    this.members.add(m.pid);
    let node = this.processByPid(m.pid);
    if (node && this.isNewIncarnation(node, m.t, null)) node = undefined;
    const fields: Partial<ProcessInfo> = {
      parentPid: m.parentPid,
      name: m.name,
      daemon: m.daemon,
      kind: m.kind === 'python' ? 'process' : m.kind,
      role: m.role,
      startMethod: m.startMethod,
      target: m.target,
      poolId: m.poolId,
      ...(m.site ? { site: m.site } : {}),
    };
    if (!node) {
      node = this.createNode(m.pid, m.t, { ...fields, instrumented: true });
    } else {
      // The parent's account is authoritative for what multiprocessing knows of the child.
      this.update(node, { ...fields, instrumented: true, poolId: m.poolId ?? node.poolId });
      this.place(node);
    }
    if (m.poolId) {
      const pool = this.poolMap.get(m.poolId);
      if (pool) this.addWorkers(pool, [m.pid]);
      else {
        let early = this.earlyPoolWorkers.get(m.poolId);
        if (!early && this.earlyPoolWorkers.size < 10_000) this.earlyPoolWorkers.set(m.poolId, (early = new Set()));
        early?.add(m.pid);
      }
    }
  }

  private reduceOsProcess(p: OsProcess, takenAt: number): void {
    this.members.add(p.pid);
    let node = this.processByPid(p.pid);
    // Listed alive after we saw it die: the OS gave the pid to a new descendant.
    if (node && node.state !== 'running' && node.exitedAt !== null && takenAt > node.exitedAt && !p.zombie) node = undefined;
    if (!node) {
      node = this.createNode(p.pid, takenAt, {
        ppid: p.ppid,
        parentPid: p.ppid,
        name: p.command.split(/\s+/)[0]?.split('/').pop() || `pid ${p.pid}`,
        kind: 'os',
        command: p.command || null,
        instrumented: false,
      });
      if (p.zombie) this.exit(node, null, takenAt, 'zombie');
      return;
    }
    const patch: Partial<ProcessInfo> = {};
    if (node.ppid !== p.ppid) patch.ppid = p.ppid;
    if (node.command === null && p.command) patch.command = p.command;
    if (node.kind === 'os' && node.parentPid !== p.ppid) patch.parentPid = p.ppid;
    if (Object.keys(patch).length > 0) {
      this.update(node, patch);
      this.place(node);
    }
    if (p.zombie && node.state === 'running') this.exit(node, null, takenAt, 'zombie');
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  private batch(fn: () => void): void {
    // Nested calls join the outer batch, so a public call never fires twice.
    if (this.change) return fn();
    this.change = { processes: new Set(), queues: new Set(), pools: new Set(), structural: false };
    try {
      fn();
      if (this.queueMap.size > this.maxQueues) this.evictQueues();
      if (this.poolMap.size > this.maxPools) this.evictPools();
    } finally {
      const change = this.change;
      this.change = null;
      if (change.processes.size || change.queues.size || change.pools.size || change.structural) {
        this.changeEmitter.fire({
          runId: this.runId,
          processes: [...change.processes],
          queues: [...change.queues],
          pools: [...change.pools],
          structural: change.structural,
        });
      }
    }
  }

  private markProcess(node: ProcessInfo): void {
    this.change?.processes.add(node.key);
  }
  private markQueue(queue: QueueInfo): void {
    this.queueActivity.delete(queue.id);
    this.queueActivity.add(queue.id);
    this.change?.queues.add(queue.key);
  }
  private markPool(pool: PoolInfo): void {
    this.poolActivity.delete(pool.id);
    this.poolActivity.add(pool.id);
    this.change?.pools.add(pool.key);
  }
  private markStructural(): void {
    if (this.change) this.change.structural = true;
  }

  private drop(type: string, pid: number): void {
    this.options.log?.(`foreign:${type}`, `mptree: dropped ${type} about pid ${pid}, which is not part of this run`);
  }

  private memberNode(pid: number, type: string): ProcessInfo | undefined {
    if (!this.members.has(pid)) {
      this.drop(type, pid);
      return undefined;
    }
    return this.processByPid(pid);
  }

  private early<T extends number[]>(map: Map<string, T>, id: string, delta: T): void {
    const existing = map.get(id);
    if (existing) delta.forEach((value, i) => (existing[i] += value));
    // Bounded: ids that never get a *.created cannot grow memory without limit.
    else if (map.size < 10_000) map.set(id, [...delta] as T);
  }

  private index(map: Map<string, Set<string>>, ownerKey: string | undefined, ref: string, id: string): void {
    if (ownerKey === undefined) return;
    this.ownerKeyOf.set(ref, ownerKey);
    let set = map.get(ownerKey);
    if (!set) map.set(ownerKey, (set = new Set()));
    set.add(id);
  }

  private addQueueCounts(queue: QueueInfo, puts: number, gets: number, done: number): void {
    queue.puts += puts;
    queue.gets += gets;
    queue.tasksDone += done;
    this.settleQueue(queue);
  }

  /**
   * Who put into a queue: the sender of counts with puts. A manager queue's puts are all
   * counted in the manager's server, which says nothing of the producers; and past
   * MAX_PUTTERS the list is dropped, so hints fall back to inferring producers.
   */
  private notePutter(queue: QueueInfo, pid: number): void {
    if (queue.kind.startsWith('Manager') || this.tooManyPutters.has(queue.id)) return;
    const putters = queue.putters ?? [];
    if (putters.includes(pid)) return;
    if (putters.length >= MAX_PUTTERS) {
      queue.putters = undefined;
      this.tooManyPutters.add(queue.id);
      return;
    }
    queue.putters = [...putters, pid];
  }

  /**
   * A depth read from the queue itself (multiprocessing.Queue, JoinableQueue): it wins over
   * counting, and gets are not counted for such a queue. Several processes may read the
   * same queue, and their messages arrive in any order: the latest reading stands.
   */
  private sampleQueueDepth(queue: QueueInfo, depth: number, t: number): boolean {
    const last = this.depthSampledAt.get(queue.id);
    if (last !== undefined && t < last) return false;
    this.depthSampledAt.set(queue.id, t);
    const moved = queue.depth !== depth;
    queue.depth = depth;
    this.settleQueue(queue);
    return moved;
  }

  private noteDepthReader(id: string, pid: number): void {
    let readers = this.depthReaders.get(id);
    if (!readers) this.depthReaders.set(id, (readers = new Set()));
    if (readers.size < MAX_PUTTERS) readers.add(pid);
  }

  /**
   * A reading from `from` moved the shown depth. Each reader sends only readings that differ
   * from its own previous one, so another reader's last word may be stale now while its
   * unchanged reading is the truth (the maker read 0, a producer put 4 and read 4, the maker
   * got all 4 before its next reading: 0 again, unsent). Those readers are asked for a fresh
   * reading; theirs moves the depth back or not, and readings that move nothing ask nobody,
   * so this settles after one round.
   */
  private askOtherReaders(id: string, from: number): void {
    for (const pid of this.depthReaders.get(id) ?? []) {
      if (pid === from) continue;
      let ids = this.resampleWanted.get(pid);
      if (!ids) this.resampleWanted.set(pid, (ids = new Set()));
      ids.add(id);
    }
  }

  /** The queue.resample requests owed since the last call (the session sends them): pid → queue ids. */
  takeResampleRequests(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const [pid, ids] of this.resampleWanted) out.set(pid, [...ids]);
    this.resampleWanted.clear();
    return out;
  }

  private settleQueue(queue: QueueInfo): void {
    if (this.depthSampledAt.has(queue.id)) {
      // Puts are counted per process and reported within ~50 ms, the depth is read on
      // its own tick: for that moment the derived gets may lag or lead by what is in flight.
      queue.gets = Math.max(0, queue.puts - queue.depth);
    } else {
      // Counts from different processes arrive in any order: a get may be counted before its put.
      queue.depth = Math.max(0, queue.puts - queue.gets);
    }
    if (queue.unfinished !== null) queue.unfinished = Math.max(0, queue.puts - queue.tasksDone);
  }

  private addPoolCounts(pool: PoolInfo, submitted: number, completed: number): void {
    pool.submitted += submitted;
    pool.completed += completed;
    pool.pending = Math.max(0, pool.submitted - pool.completed);
  }

  private addWorkers(pool: PoolInfo, pids: readonly number[]): void {
    // A Set, not workers.includes per pid: one message may list 100,000 pids.
    const known = new Set(pool.workers);
    for (const pid of pids) {
      // Workers are announced right after their process.started: any other pid is not ours.
      if (!this.members.has(pid)) {
        this.drop('pool.workers', pid);
        continue;
      }
      if (!known.has(pid)) {
        known.add(pid);
        pool.workers.push(pid);
      }
      const node = this.processByPid(pid);
      if (node && node.state === 'running' && node.poolId === null) {
        this.update(node, { poolId: pool.id, kind: node.kind === 'process' || node.kind === 'os' ? 'pool-worker' : node.kind });
      }
    }
    this.markPool(pool);
  }

  private kindOf(kind: RuntimeProcessKind, pid: number, parentPid: number | null): ProcessKind {
    if (kind !== 'python') return kind;
    if (pid === this.rootPidValue) return 'main';
    // Without a known root, the first Python process whose parent is not an instrumented
    // process of the run is the main program.
    const parent = parentPid === null ? undefined : this.processByPid(parentPid);
    const hasMain = [...this.childIndex.get(TOP) ?? []].some((key) => {
      const n = this.nodes.get(key);
      return n?.kind === 'main' && n.instrumented && n.pid !== pid;
    });
    if (!hasMain && (!parent || !parent.instrumented)) return 'main';
    return 'process';
  }

  /**
   * Whether a hello/process.started for a pid describes a new process rather than the node we
   * have. A process says hello while alive, so a message stamped before the recorded exit is
   * a late message about the old incarnation.
   */
  private isNewIncarnation(node: ProcessInfo, t: number, created: number | null): boolean {
    if (node.state === 'running') {
      // Both start times known and far apart: the old one died unnoticed and the pid came back.
      if (created !== null && node.createdAt !== null && Math.abs(created - node.createdAt) > 2000) {
        this.exit(node, null, Math.min(created, Date.now()), 'exited');
        return true;
      }
      return false;
    }
    return node.exitedAt !== null && t > node.exitedAt;
  }

  private createNode(pid: number, since: number, fields: Partial<ProcessInfo>): ProcessInfo {
    let key = `${this.runId}:${pid}:${Math.round(since)}`;
    for (let i = 2; this.nodes.has(key); i++) key = `${this.runId}:${pid}:${Math.round(since)}.${i}`;
    const node: ProcessInfo = {
      key,
      runId: this.runId,
      pid,
      ppid: null,
      parentPid: null,
      parentKey: null,
      name: `pid ${pid}`,
      daemon: false,
      kind: 'process',
      role: null,
      startMethod: null,
      target: null,
      command: null,
      state: 'running',
      exitCode: null,
      signal: null,
      joined: false,
      reaped: false,
      orphaned: false,
      instrumented: false,
      poolId: null,
      site: null,
      codeDoneAt: null,
      createdAt: null,
      startedAt: since,
      exitedAt: null,
      paused: null,
      ...fields,
    };
    if (pid === this.rootPidValue) node.parentPid = null;
    this.nodes.set(key, node);
    this.current.set(pid, key);
    this.live.add(key);
    this.attach(node, this.resolveParentKey(node));
    this.markProcess(node);
    this.markStructural();
    // Children that arrived before this node (their hello raced ours) move under it now.
    const waiting = this.waitingForParent.get(pid);
    if (waiting) {
      this.waitingForParent.delete(pid);
      for (const childKey of waiting) {
        const child = this.nodes.get(childKey);
        if (child && child.parentKey === null && child.key !== key) this.place(child);
      }
    }
    return node;
  }

  private resolveParentKey(node: ProcessInfo): string | null {
    if (node.pid === this.rootPidValue) return null;
    const parentPid = node.kind === 'os' ? node.ppid ?? node.parentPid : node.parentPid ?? node.ppid;
    if (parentPid === null || parentPid === node.pid) return null;
    const parentKey = this.current.get(parentPid);
    if (parentKey !== undefined && parentKey !== node.key) return parentKey;
    let waiting = this.waitingForParent.get(parentPid);
    if (!waiting) this.waitingForParent.set(parentPid, (waiting = new Set()));
    waiting.add(node.key);
    return null;
  }

  /** Re-attaches a node where its (possibly updated) parent fields say it belongs. */
  private place(node: ProcessInfo): void {
    const parentKey = this.resolveParentKey(node);
    if (parentKey === node.parentKey) return;
    // Never create a cycle (a confused report making a process its own ancestor).
    for (let k: string | null = parentKey; k !== null; k = this.nodes.get(k)?.parentKey ?? null) if (k === node.key) return;
    this.detach(node);
    this.attach(node, parentKey);
    this.markProcess(node);
  }

  private attach(node: ProcessInfo, parentKey: string | null): void {
    node.parentKey = parentKey;
    let set = this.childIndex.get(parentKey ?? TOP);
    if (!set) this.childIndex.set(parentKey ?? TOP, (set = new Set()));
    set.add(node.key);
    this.markStructural();
  }

  private detach(node: ProcessInfo): void {
    const set = this.childIndex.get(node.parentKey ?? TOP);
    set?.delete(node.key);
    if (set && set.size === 0 && node.parentKey !== null) this.childIndex.delete(node.parentKey);
    this.markStructural();
  }

  private update(node: ProcessInfo, patch: Partial<ProcessInfo>): void {
    let changed = false;
    for (const [field, value] of Object.entries(patch) as [keyof ProcessInfo, unknown][]) {
      if (value === undefined || node[field] === value) continue;
      (node as unknown as Record<string, unknown>)[field] = value;
      changed = true;
    }
    if (changed) this.markProcess(node);
  }

  private exit(node: ProcessInfo, exitCode: number | null, t: number, state: 'zombie' | 'exited'): void {
    const wasRunning = node.state === 'running';
    const code = exitCode ?? node.exitCode ?? this.selfReportedExit.get(node.key) ?? null;
    this.selfReportedExit.delete(node.key);
    this.update(node, {
      state,
      exitCode: code,
      signal: signalName(code),
      exitedAt: node.exitedAt ?? t,
      reaped: state === 'exited' ? true : node.reaped,
      paused: null,
    });
    if (state === 'exited') {
      this.live.delete(node.key);
      this.exitedOrder.add(node.key);
    }
    if (wasRunning) {
      for (const child of this.children(node.key)) {
        // One that already said it is exiting (its parent waited for it) is no orphan.
        if (child.state === 'running' && !this.selfReportedExit.has(child.key)) this.update(child, { orphaned: true });
        // A zombie whose OS parent died is reaped by init at once.
        else if (child.state === 'zombie' && child.ppid === node.pid) this.exit(child, null, t, 'exited');
      }
    }
    if (this.exitedOrder.size > this.maxExited) this.evict();
  }

  private evictQueues(): void {
    const target = Math.floor(this.maxQueues * 0.9);
    for (const id of this.queueActivity) {
      if (this.queueMap.size <= target) break;
      const queue = this.queueMap.get(id);
      // Only empty ones: a queue that holds items is still part of the program's state.
      if (queue && (queue.depth > 0 || (queue.unfinished ?? 0) > 0)) continue;
      this.queueActivity.delete(id);
      if (!queue) continue;
      this.queueMap.delete(id);
      this.depthSampledAt.delete(id);
      this.depthReaders.delete(id);
      this.tooManyPutters.delete(id);
      const owner = this.ownerKeyOf.get(`q:${id}`);
      this.ownerKeyOf.delete(`q:${id}`);
      if (owner !== undefined) this.queuesByOwner.get(owner)?.delete(id);
      this.change?.queues.add(queue.key);
      this.markStructural();
    }
  }

  private evictPools(): void {
    const target = Math.floor(this.maxPools * 0.9);
    for (const id of this.poolActivity) {
      if (this.poolMap.size <= target) break;
      const pool = this.poolMap.get(id);
      // Only finished ones (closed, joined, terminated, shut down) with nothing pending.
      if (pool && (pool.state === 'running' || pool.pending > 0)) continue;
      this.poolActivity.delete(id);
      if (!pool) continue;
      this.poolMap.delete(id);
      const owner = this.ownerKeyOf.get(`p:${id}`);
      this.ownerKeyOf.delete(`p:${id}`);
      if (owner !== undefined) this.poolsByOwner.get(owner)?.delete(id);
      this.change?.pools.add(pool.key);
      this.markStructural();
    }
  }

  private evict(): void {
    // Evict a tenth below the cap at a time so the scan is amortised over many exits.
    const target = Math.floor(this.maxExited * 0.9);
    for (const key of this.exitedOrder) {
      if (this.exitedOrder.size <= target) break;
      const node = this.nodes.get(key);
      if (!node) {
        this.exitedOrder.delete(key);
        continue;
      }
      // Only leaves: an exited parent stays while anything is shown under it.
      if (!this.childIndex.get(key)?.size) this.removeNode(node);
    }
  }

  private removeNode(node: ProcessInfo): void {
    this.detach(node);
    this.nodes.delete(node.key);
    this.live.delete(node.key);
    this.exitedOrder.delete(node.key);
    this.selfReportedExit.delete(node.key);
    this.childIndex.delete(node.key);
    this.queuesByOwner.delete(node.key);
    this.poolsByOwner.delete(node.key);
    if (node.parentPid !== null) this.waitingForParent.get(node.parentPid)?.delete(node.key);
    if (node.ppid !== null) this.waitingForParent.get(node.ppid)?.delete(node.key);
    if (this.current.get(node.pid) === node.key) {
      this.current.delete(node.pid);
      if (node.pid !== this.rootPidValue) this.members.delete(node.pid);
    }
    this.markProcess(node);
  }

  /** OS listings come in pid order; parents must be created before their children. */
  private parentsFirst(processes: readonly OsProcess[]): OsProcess[] {
    const byParent = new Map<number, OsProcess[]>();
    const pids = new Set(processes.map((p) => p.pid));
    const roots: OsProcess[] = [];
    for (const p of processes) {
      if (!pids.has(p.ppid)) roots.push(p);
      else {
        let list = byParent.get(p.ppid);
        if (!list) byParent.set(p.ppid, (list = []));
        list.push(p);
      }
    }
    const out: OsProcess[] = [];
    const seen = new Set<number>();
    const stack = [...roots].reverse();
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (seen.has(p.pid)) continue;
      seen.add(p.pid);
      out.push(p);
      for (const child of [...(byParent.get(p.pid) ?? [])].reverse()) stack.push(child);
    }
    // Cycles (impossible in a consistent listing) are appended rather than lost.
    for (const p of processes) if (!seen.has(p.pid)) out.push(p);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Snapshot

  toSnapshot(run: RunInfo): SnapshotJson {
    return {
      version: 1,
      run: {
        script: run.script,
        args: [...run.args],
        python: run.python,
        exitCode: run.exitCode,
        signal: run.signal,
        startedAt: run.startedAt,
        endedAt: run.endedAt,
      },
      processes: this.walk().map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        parentPid: p.parentPid,
        name: p.name,
        daemon: p.daemon,
        kind: p.kind,
        role: p.role,
        startMethod: p.startMethod,
        target: p.target,
        state: p.state,
        exitCode: p.exitCode,
        signal: p.signal,
        joined: p.joined,
        orphaned: p.orphaned,
      })),
      queues: this.queues().map((q) => ({
        id: q.id,
        kind: q.kind,
        ownerPid: q.ownerPid,
        maxsize: q.maxsize,
        depth: q.depth,
        puts: q.puts,
        gets: q.gets,
        unfinished: q.unfinished,
      })),
      pools: this.pools().map((p) => ({
        id: p.id,
        kind: p.kind,
        ownerPid: p.ownerPid,
        size: p.size,
        workers: [...p.workers],
        submitted: p.submitted,
        completed: p.completed,
        pending: p.pending,
      })),
    };
  }
}
