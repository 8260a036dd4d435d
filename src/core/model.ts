// The model of one run: the one place a batch of runtime messages (or an OS scan) is applied,
// and the one change it fires. Each concern keeps its own maps in its own part:
//   model/processes.ts  ProcessTable  members, incarnations, the tree, running → zombie → exited
//   model/queues.ts     QueueTable    depths, counts, producers, depth readers
//   model/pools.ts      PoolTable     workers, tasks, state, each worker's current task
//   model/waits.ts      WaitTable     each thread's wait, the locks and their holders
// RunModel routes each message to its part, opens and closes the batch (model/changes.ts)
// and answers the queries the tree, the CLI and the hints make.
// It is pure bookkeeping (no I/O, no timers), so every rule is unit-testable with
// hand-written messages, and a malformed or surprising message can never throw out of it.
import { Emitter } from './event';
import type { LiveUsage } from './processUsage';
import type { RuntimeMessage } from './protocol';
import type { LockInfo, ModelChange, PoolInfo, ProcessInfo, QueueInfo, RunInfo, SnapshotJson, WaitInfo } from './types';
import { BatchChanges } from './model/changes';
import { PoolTable } from './model/pools';
import { type OsScanResult, ProcessTable } from './model/processes';
import { QueueTable } from './model/queues';
import { snapshotOf } from './model/snapshot';
import { WaitTable } from './model/waits';
import { findDeadlocks, type Deadlock } from './deadlocks';

export { exitCodeOf, signalName, signalNumber } from './model/signals';
export type { OsScanResult } from './model/processes';

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

export class RunModel {
  private readonly changes = new BatchChanges();
  private readonly processTable: ProcessTable;
  private readonly queueTable: QueueTable;
  private readonly poolTable: PoolTable;
  private readonly waitTable: WaitTable;
  /** Every deadlock found while the run lived, by identity: the snapshot and the final tree keep them once their processes are gone. */
  private readonly deadlocksFound = new Map<string, Deadlock>();
  private readonly changeEmitter = new Emitter<ModelChange>();
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    readonly runId: string,
    private readonly options: RunModelOptions = {},
  ) {
    this.processTable = new ProcessTable(runId, this.changes, {
      maxExited: options.maxExited ?? 5000,
      log: options.log,
      // A forgotten process takes the listing of its queues and pools with it.
      onForget: (key) => {
        this.queueTable.forgetOwner(key);
        this.poolTable.forgetOwner(key);
        this.waitTable.forgetProcess(key);
      },
      onEnd: (node, t) => this.waitTable.onProcessEnd(node, t),
    });
    this.queueTable = new QueueTable(runId, this.changes, this.processTable, options.maxQueues ?? 2000);
    this.poolTable = new PoolTable(runId, this.changes, this.processTable, options.maxPools ?? 500);
    this.waitTable = new WaitTable(runId, this.changes, this.processTable);
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  get rootPid(): number | null {
    return this.processTable.rootPid;
  }

  get(key: string): ProcessInfo | undefined {
    return this.processTable.get(key);
  }

  /** The current incarnation of a pid. */
  processByPid(pid: number): ProcessInfo | undefined {
    return this.processTable.byPid(pid);
  }

  isMember(pid: number): boolean {
    return this.processTable.isMember(pid);
  }

  /** Children of a node, or the top-level nodes for null; in the order they appeared. */
  children(parentKey: string | null): ProcessInfo[] {
    return this.processTable.children(parentKey);
  }

  processes(): ProcessInfo[] {
    return this.processTable.all();
  }

  /** Running or zombie processes. */
  liveProcesses(): ProcessInfo[] {
    return this.processTable.liveProcesses();
  }

  get liveCount(): number {
    return this.processTable.liveCount;
  }

  queuesOf(processKey: string): QueueInfo[] {
    return this.queueTable.ownedBy(processKey);
  }

  poolsOf(processKey: string): PoolInfo[] {
    return this.poolTable.ownedBy(processKey);
  }

  queues(): QueueInfo[] {
    return this.queueTable.all();
  }

  pools(): PoolInfo[] {
    return this.poolTable.all();
  }

  /** Every thread's wait of a process now. */
  waitsOf(processKey: string): WaitInfo[] {
    return this.waitTable.waitsOf(processKey);
  }

  lock(id: string): LockInfo | undefined {
    return this.waitTable.lock(id);
  }

  locks(): LockInfo[] {
    return this.waitTable.allLocks();
  }

  /** Pids seen waiting in a get on the queue. */
  gettersOf(queueId: string): readonly number[] {
    return this.waitTable.gettersOf(queueId);
  }

  queue(id: string): QueueInfo | undefined {
    return this.queueTable.all().find((q) => q.id === id);
  }

  /** When what the run waits on last changed (a wait, a hold, an end). */
  get waitsChangedAt(): number {
    return this.waitTable.lastChangeAt;
  }

  /**
   * The deadlocks of the run at `now` (src/core/deadlocks.ts); each one found is also kept,
   * so the snapshot and the final tree still name it after the run was stopped.
   */
  deadlocks(now: number = Date.now()): Deadlock[] {
    const found = findDeadlocks(this, now);
    for (const d of found) {
      const kept = this.deadlocksFound.get(d.id);
      this.deadlocksFound.set(d.id, kept ? { ...d, foundAt: kept.foundAt } : d);
    }
    return found;
  }

  /** Every deadlock found so far, oldest first. */
  deadlocksSeen(): Deadlock[] {
    return [...this.deadlocksFound.values()];
  }

  /** Depth-first, parents before children: the order the tree shows. */
  walk(): ProcessInfo[] {
    return this.processTable.walk();
  }

  /** The queue.resample requests owed since the last call (the session sends them): pid → queue ids. */
  takeResampleRequests(): Map<number, string[]> {
    return this.queueTable.takeResampleRequests();
  }

  toSnapshot(run: RunInfo): SnapshotJson {
    return snapshotOf(this, run);
  }

  // -------------------------------------------------------------------------------------------
  // Mutations. Each public entry point is one batch: one onDidChange at most.

  /** `senders[i]`: the pid whose connection carried `messages[i]` (the session knows it). */
  apply(messages: readonly RuntimeMessage[], senders?: readonly number[]): void {
    this.batch(() => {
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i];
        try {
          this.route(message, senders?.[i]);
        } catch (error) {
          // A bug or a message we did not foresee must cost one message, not the run.
          this.options.log?.('reduce-error', `mptree: could not apply ${message.type}: ${(error as Error)?.message ?? error}`);
        }
      }
    });
  }

  /** The run's root (the launched interpreter). Shown at once, before its hello. */
  setRootPid(pid: number, info: { name?: string; command?: string | null; t?: number } = {}): void {
    this.batch(() => this.processTable.setRoot(pid, info));
  }

  /** An exit learnt outside the protocol: the CLI's child 'exit' event, a signal we sent. */
  markExited(pid: number, exitCode: number | null, t = Date.now()): void {
    this.batch(() => this.processTable.markExited(pid, exitCode, t));
  }

  /**
   * What a debug session says of a process: stopped (the reason, as DAP's `stopped` event
   * gives it) or running again (null). A fact from the debugger, never guessed from timing.
   */
  setPaused(pid: number, reason: string | null): void {
    this.batch(() => this.processTable.setPaused(pid, reason));
  }

  applyOsScan(scan: OsScanResult): void {
    this.batch(() => this.processTable.applyOsScan(scan));
  }

  /** The OS scan's live CPU and memory of the running processes, by pid (one change per scan). */
  applyUsage(usage: ReadonlyMap<number, LiveUsage>): void {
    this.batch(() => this.processTable.applyUsage(usage));
  }

  /** Forgets exited processes (and the exited ancestors of nothing live). */
  clearExited(): void {
    this.batch(() => this.processTable.clearExited());
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }

  // -------------------------------------------------------------------------------------------

  /** Each message to the part it is about. */
  private route(message: RuntimeMessage, from?: number): void {
    switch (message.type) {
      case 'hello':
        return this.processTable.onHello(message);
      case 'process.started':
        this.processTable.onStarted(message);
        // Known as a worker before its pool.created or after: the pool takes it either way.
        if (message.poolId) this.poolTable.onWorkerStarted(message.poolId, message.pid);
        return;
      case 'process.exited':
        return this.processTable.onExited(message);
      case 'process.atexit':
        return this.processTable.onAtexit(message);
      case 'process.exiting':
        return this.processTable.onExiting(message);
      case 'process.usage':
        return this.processTable.onUsage(message);
      case 'process.reaped':
        return this.processTable.onReaped(message);
      case 'queue.created':
        return this.queueTable.onCreated(message);
      case 'queue.counts':
        return this.queueTable.onCounts(message, from);
      case 'queue.depth':
        return this.queueTable.onDepth(message, from);
      case 'pool.created':
        return this.poolTable.onCreated(message);
      case 'pool.workers':
        return this.poolTable.onWorkers(message);
      case 'pool.counts':
        return this.poolTable.onCounts(message);
      case 'pool.state':
        return this.poolTable.onState(message);
      case 'lock.created':
        return this.waitTable.onLockCreated(message);
      case 'wait.begin':
        return this.waitTable.onWaitBegin(message);
      case 'wait.end':
        return this.waitTable.onWaitEnd(message);
      case 'lock.held':
        return this.waitTable.onLockHeld(message);
      case 'lock.released':
        return this.waitTable.onLockReleased(message);
      case 'task.begin':
        return this.poolTable.onTaskBegin(message);
      case 'task.end':
        return this.poolTable.onTaskEnd(message);
      case 'worker.counts':
        return this.poolTable.onWorkerCounts(message);
      case 'control.result':
      case 'stacks':
        // Answers are matched by the server; nothing to show.
        return;
    }
  }

  private batch(fn: () => void): void {
    // Nested calls join the outer batch, so a public call never fires twice.
    if (this.changes.inBatch) return fn();
    this.changes.begin();
    try {
      fn();
      this.queueTable.evictOverCap();
      this.poolTable.evictOverCap();
    } finally {
      // Fired even when fn threw: what it changed before that is in the model now.
      const change = this.changes.end(this.runId);
      if (change) this.changeEmitter.fire(change);
    }
  }
}
