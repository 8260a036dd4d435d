// The queues of one run: what each holds, counted (Σputs − Σgets over every process) or read
// from the queue itself (the latest reading wins), who puts into it, and which process made
// it. Owns every map about queues, including what arrives before a queue's queue.created.
import type { QueueCountsMessage, QueueCreatedMessage, QueueDepthMessage } from '../protocol';
import type { QueueInfo } from '../types';
import type { BatchChanges } from './changes';
import type { ProcessTable } from './processes';

/** Producers listed per queue (QueueInfo.putters); a queue with more lists none. */
const MAX_PUTTERS = 64;
/** Ids that never get a queue.created cannot grow memory without limit. */
const MAX_EARLY = 10_000;

export class QueueTable {
  private readonly byId = new Map<string, QueueInfo>();
  /** Owner node key → ids of the queues it made, and each id's owner key. */
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly ownerOf = new Map<string, string>();
  // Counts may arrive (from another process's connection) before the creator's queue.created.
  private readonly earlyCounts = new Map<string, [number, number, number]>();
  /** Depth samples that came before their queue.created: id → [depth, t]. */
  private readonly earlyDepths = new Map<string, [number, number]>();
  /** Queues whose depth the runtime reads from the queue itself: id → time of the latest sample. */
  private readonly depthSampledAt = new Map<string, number>();
  /** Processes that report a queue's depth (its maker, its producers): id → pids, at most MAX_PUTTERS. */
  private readonly depthReaders = new Map<string, Set<number>>();
  /** queue.resample requests owed: pid → ids of queues whose shown depth another reader moved. */
  private readonly resampleWanted = new Map<number, Set<string>>();
  /** Queues with more than MAX_PUTTERS producers: their putters are not listed. */
  private readonly tooManyPutters = new Set<string>();
  /** Queue ids, least recently active first, for the cap. */
  private readonly activity = new Set<string>();

  constructor(
    private readonly runId: string,
    private readonly changes: BatchChanges,
    private readonly processes: ProcessTable,
    /** Queues kept; past this the least recently active empty ones are forgotten. */
    private readonly maxQueues: number,
  ) {}

  all(): QueueInfo[] {
    return [...this.byId.values()];
  }

  ownedBy(processKey: string): QueueInfo[] {
    return [...(this.byOwner.get(processKey) ?? [])].map((id) => this.byId.get(id)!).filter(Boolean);
  }

  onCreated(m: QueueCreatedMessage): void {
    if (!this.processes.isMember(m.ownerPid)) return this.processes.dropForeign(m.type, m.ownerPid);
    const existing = this.byId.get(m.id);
    if (existing) {
      Object.assign(existing, { kind: m.kind, maxsize: m.maxsize, site: m.site ?? existing.site });
      this.touch(existing);
      return;
    }
    const queue: QueueInfo = {
      key: `${this.runId}:queue:${m.id}`,
      runId: this.runId,
      id: m.id,
      kind: m.kind,
      ownerPid: m.ownerPid,
      maxsize: m.maxsize,
      puts: 0,
      gets: 0,
      tasksDone: 0,
      depth: 0,
      unfinished: m.kind.endsWith('JoinableQueue') ? 0 : null,
      site: m.site,
      createdAt: m.t,
    };
    this.byId.set(m.id, queue);
    const ownerKey = this.processes.byPid(m.ownerPid)?.key;
    if (ownerKey !== undefined) {
      this.ownerOf.set(m.id, ownerKey);
      let ids = this.byOwner.get(ownerKey);
      if (!ids) this.byOwner.set(ownerKey, (ids = new Set()));
      ids.add(m.id);
    }
    const early = this.earlyCounts.get(m.id);
    this.earlyCounts.delete(m.id);
    if (early) this.addCounts(queue, ...early);
    const earlyDepth = this.earlyDepths.get(m.id);
    this.earlyDepths.delete(m.id);
    if (earlyDepth) this.sampleDepth(queue, ...earlyDepth);
    this.touch(queue);
    this.changes.structural();
  }

  /** `from`: the pid whose connection carried the counts; a sender with puts is a producer. */
  onCounts(m: QueueCountsMessage, from: number | undefined): void {
    for (const [id, puts, gets, done] of m.counts) {
      const queue = this.byId.get(id);
      if (queue) {
        this.addCounts(queue, puts, gets, done);
        if (puts > 0 && from !== undefined) this.notePutter(queue, from);
        this.touch(queue);
      } else {
        const existing = this.earlyCounts.get(id);
        if (existing) {
          existing[0] += puts;
          existing[1] += gets;
          existing[2] += done;
        } else if (this.earlyCounts.size < MAX_EARLY) this.earlyCounts.set(id, [puts, gets, done]);
      }
    }
  }

  /** `from`: the pid that read these depths; it is asked again when another reader moves one. */
  onDepth(m: QueueDepthMessage, from: number | undefined): void {
    for (const [id, depth] of m.depths) {
      const queue = this.byId.get(id);
      if (queue) {
        if (this.sampleDepth(queue, depth, m.t) && from !== undefined) this.askOtherReaders(id, from);
        if (from !== undefined) this.noteDepthReader(id, from);
        this.touch(queue);
      } else if (this.earlyDepths.size < MAX_EARLY && m.t >= (this.earlyDepths.get(id)?.[1] ?? -Infinity)) {
        this.earlyDepths.set(id, [depth, m.t]);
        if (from !== undefined) this.noteDepthReader(id, from);
      }
    }
  }

  /** The queue.resample requests owed since the last call (the session sends them): pid → queue ids. */
  takeResampleRequests(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const [pid, ids] of this.resampleWanted) out.set(pid, [...ids]);
    this.resampleWanted.clear();
    return out;
  }

  /** Its owner node was forgotten: its queues are no longer listed under it. */
  forgetOwner(processKey: string): void {
    for (const id of this.byOwner.get(processKey) ?? []) this.ownerOf.delete(id);
    this.byOwner.delete(processKey);
  }

  /**
   * Past the cap, forgets the least recently active empty queues down to a tenth below it
   * (the protocol has no "queue closed": a program that makes queues in a loop would
   * otherwise grow the model for ever).
   */
  evictOverCap(): void {
    if (this.byId.size <= this.maxQueues) return;
    const target = Math.floor(this.maxQueues * 0.9);
    for (const id of this.activity) {
      if (this.byId.size <= target) break;
      const queue = this.byId.get(id);
      // Only empty ones: a queue that holds items is still part of the program's state.
      if (queue && (queue.depth > 0 || (queue.unfinished ?? 0) > 0)) continue;
      this.activity.delete(id);
      if (!queue) continue;
      this.byId.delete(id);
      this.depthSampledAt.delete(id);
      this.depthReaders.delete(id);
      this.tooManyPutters.delete(id);
      const owner = this.ownerOf.get(id);
      this.ownerOf.delete(id);
      if (owner !== undefined) this.byOwner.get(owner)?.delete(id);
      this.changes.queue(queue.key);
      this.changes.structural();
    }
  }

  /** Records the change and makes the queue the most recently active. */
  private touch(queue: QueueInfo): void {
    this.activity.delete(queue.id);
    this.activity.add(queue.id);
    this.changes.queue(queue.key);
  }

  private addCounts(queue: QueueInfo, puts: number, gets: number, done: number): void {
    queue.puts += puts;
    queue.gets += gets;
    queue.tasksDone += done;
    this.settle(queue);
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
  private sampleDepth(queue: QueueInfo, depth: number, t: number): boolean {
    const last = this.depthSampledAt.get(queue.id);
    if (last !== undefined && t < last) return false;
    this.depthSampledAt.set(queue.id, t);
    const moved = queue.depth !== depth;
    queue.depth = depth;
    this.settle(queue);
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

  private settle(queue: QueueInfo): void {
    if (this.depthSampledAt.has(queue.id)) {
      // Puts are counted per process and reported within ~50 ms, the depth is read on
      // its own tick: for that moment the derived gets may lag or lead by what is in flight.
      queue.gets = Math.max(0, queue.puts - queue.depth);
    } else {
      // Counts from different processes arrive in any order: a get may be counted before its
      // put, and a producer's put into the room a get made before that get (the producer's
      // batch first: puts − gets one above maxsize, a peak the queue never had). A bounded
      // queue never holds more than maxsize: put() blocks.
      const counted = Math.max(0, queue.puts - queue.gets);
      queue.depth = queue.maxsize > 0 ? Math.min(queue.maxsize, counted) : counted;
    }
    if (queue.unfinished !== null) queue.unfinished = Math.max(0, queue.puts - queue.tasksDone);
  }
}
