// The pools of one run (multiprocessing.Pool, concurrent.futures executors): their workers,
// tasks submitted and completed, and their state. Owns every map about pools, including what
// arrives before a pool's pool.created; a worker it accepts joins the pool in the process table.
import type {
  PoolCountsMessage,
  PoolCreatedMessage,
  PoolStateMessage,
  PoolWorkersMessage,
  TaskBeginMessage,
  TaskEndMessage,
  WorkerCountsMessage,
} from '../protocol';
import type { PoolInfo } from '../types';
import type { BatchChanges } from './changes';
import type { ProcessTable } from './processes';

/** Ids that never get a pool.created (and their workers) cannot grow memory without limit. */
const MAX_EARLY = 10_000;

export class PoolTable {
  private readonly byId = new Map<string, PoolInfo>();
  /** Owner node key → ids of the pools it made, and each id's owner key. */
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly ownerOf = new Map<string, string>();
  private readonly earlyCounts = new Map<string, [number, number]>();
  private readonly earlyWorkers = new Map<string, Set<number>>();
  /** Pool ids, least recently active first, for the cap. */
  private readonly activity = new Set<string>();

  constructor(
    private readonly runId: string,
    private readonly changes: BatchChanges,
    private readonly processes: ProcessTable,
    /** Pools kept; past this the least recently active finished ones are forgotten. */
    private readonly maxPools: number,
  ) {}

  all(): PoolInfo[] {
    return [...this.byId.values()];
  }

  ownedBy(processKey: string): PoolInfo[] {
    return [...(this.byOwner.get(processKey) ?? [])].map((id) => this.byId.get(id)!).filter(Boolean);
  }

  onCreated(m: PoolCreatedMessage): void {
    if (!this.processes.isMember(m.ownerPid)) return this.processes.dropForeign(m.type, m.ownerPid);
    let pool = this.byId.get(m.id);
    if (!pool) {
      pool = {
        key: `${this.runId}:pool:${m.id}`,
        runId: this.runId,
        id: m.id,
        kind: m.kind,
        ownerPid: m.ownerPid,
        size: m.size,
        workers: [],
        submitted: 0,
        completed: 0,
        pending: 0,
        state: 'running',
        site: m.site,
        createdAt: m.t,
      };
      this.byId.set(m.id, pool);
      const ownerKey = this.processes.byPid(m.ownerPid)?.key;
      if (ownerKey !== undefined) {
        this.ownerOf.set(m.id, ownerKey);
        let ids = this.byOwner.get(ownerKey);
        if (!ids) this.byOwner.set(ownerKey, (ids = new Set()));
        ids.add(m.id);
      }
      this.changes.structural();
    } else {
      Object.assign(pool, { kind: m.kind, size: m.size, site: m.site ?? pool.site });
    }
    const counts = this.earlyCounts.get(m.id);
    this.earlyCounts.delete(m.id);
    if (counts) this.addCounts(pool, ...counts);
    const workers = this.earlyWorkers.get(m.id);
    this.earlyWorkers.delete(m.id);
    if (workers) this.addWorkers(pool, [...workers]);
    this.touch(pool);
  }

  onWorkers(m: PoolWorkersMessage): void {
    const pool = this.byId.get(m.id);
    if (pool) return this.addWorkers(pool, m.pids);
    const early = this.earlyWorkersOf(m.id);
    // Bounded like the other early maps: only members, and not without limit.
    for (const pid of m.pids) if (early && early.size < MAX_EARLY && this.processes.isMember(pid)) early.add(pid);
  }

  /** A process.started that names its pool: the worker is the pool's as soon as both are known. */
  onWorkerStarted(poolId: string, pid: number): void {
    const pool = this.byId.get(poolId);
    if (pool) this.addWorkers(pool, [pid]);
    else this.earlyWorkersOf(poolId)?.add(pid);
  }

  onCounts(m: PoolCountsMessage): void {
    for (const [id, submitted, completed] of m.counts) {
      const pool = this.byId.get(id);
      if (pool) {
        this.addCounts(pool, submitted, completed);
        this.touch(pool);
      } else {
        const existing = this.earlyCounts.get(id);
        if (existing) {
          existing[0] += submitted;
          existing[1] += completed;
        } else if (this.earlyCounts.size < MAX_EARLY) this.earlyCounts.set(id, [submitted, completed]);
      }
    }
  }

  onState(m: PoolStateMessage): void {
    const pool = this.byId.get(m.id);
    if (!pool) return;
    pool.state = m.state;
    this.touch(pool);
  }

  /** A worker's task ran past the threshold: the worker's row says what it runs, its pool counts it busy. */
  onTaskBegin(m: TaskBeginMessage): void {
    const worker = this.workerNode(m.pid, m.type);
    if (!worker) return;
    this.processes.patch(worker, { task: { poolId: m.poolId, call: m.call, since: m.since } });
    this.touchPoolOf(m.poolId);
  }

  onTaskEnd(m: TaskEndMessage): void {
    const worker = this.workerNode(m.pid, m.type);
    if (!worker || !worker.task) return;
    this.processes.patch(worker, { task: null });
    this.touchPoolOf(m.poolId);
  }

  /** `[poolId, workerPid, tasksDoneDelta, cpuSecondsTotal | null]`: each worker's own tally. */
  onWorkerCounts(m: WorkerCountsMessage): void {
    for (const [poolId, pid, done, cpu] of m.counts) {
      if (!this.processes.isMember(pid)) {
        this.processes.dropForeign(m.type, pid);
        continue;
      }
      // Its current node even once ended: the last counts come at its exit.
      const worker = this.processes.byPid(pid);
      if (!worker) continue;
      this.processes.patch(worker, { tasksDone: worker.tasksDone + done, ...(cpu !== null ? { workerCpuSeconds: cpu } : {}) });
      this.touchPoolOf(poolId);
    }
  }

  /** Its owner node was forgotten: its pools are no longer listed under it. */
  forgetOwner(processKey: string): void {
    for (const id of this.byOwner.get(processKey) ?? []) this.ownerOf.delete(id);
    this.byOwner.delete(processKey);
  }

  /** Past the cap, forgets the least recently active finished pools down to a tenth below it. */
  evictOverCap(): void {
    if (this.byId.size <= this.maxPools) return;
    const target = Math.floor(this.maxPools * 0.9);
    for (const id of this.activity) {
      if (this.byId.size <= target) break;
      const pool = this.byId.get(id);
      // Only finished ones (closed, joined, terminated, shut down) with nothing pending.
      if (pool && (pool.state === 'running' || pool.pending > 0)) continue;
      this.activity.delete(id);
      if (!pool) continue;
      this.byId.delete(id);
      const owner = this.ownerOf.get(id);
      this.ownerOf.delete(id);
      if (owner !== undefined) this.byOwner.get(owner)?.delete(id);
      this.changes.pool(pool.key);
      this.changes.structural();
    }
  }

  /** Records the change and makes the pool the most recently active. */
  private touch(pool: PoolInfo): void {
    this.activity.delete(pool.id);
    this.activity.add(pool.id);
    this.changes.pool(pool.key);
  }

  /** A running member's node: a task of a process that ended is late news. */
  private workerNode(pid: number, type: string) {
    if (!this.processes.isMember(pid)) {
      this.processes.dropForeign(type, pid);
      return undefined;
    }
    const node = this.processes.byPid(pid);
    return node && node.state === 'running' ? node : undefined;
  }

  private touchPoolOf(poolId: string): void {
    const pool = this.byId.get(poolId);
    if (pool) this.changes.pool(pool.key);
  }

  private earlyWorkersOf(poolId: string): Set<number> | undefined {
    let early = this.earlyWorkers.get(poolId);
    if (!early && this.earlyWorkers.size < MAX_EARLY) this.earlyWorkers.set(poolId, (early = new Set()));
    return early;
  }

  private addCounts(pool: PoolInfo, submitted: number, completed: number): void {
    pool.submitted += submitted;
    pool.completed += completed;
    pool.pending = Math.max(0, pool.submitted - pool.completed);
  }

  private addWorkers(pool: PoolInfo, pids: readonly number[]): void {
    // A Set, not workers.includes per pid: one message may list 100,000 pids.
    const known = new Set(pool.workers);
    for (const pid of pids) {
      // Workers are announced right after their process.started: any other pid is not ours.
      if (!this.processes.isMember(pid)) {
        this.processes.dropForeign('pool.workers', pid);
        continue;
      }
      if (!known.has(pid)) {
        known.add(pid);
        pool.workers.push(pid);
      }
      this.processes.joinPool(pid, pool.id);
    }
    this.touch(pool);
  }
}
