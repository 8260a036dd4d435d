// What the run's threads wait on and who holds each lock: one wait per thread per process
// (wait.begin / wait.end), the locks the runtime announced (lock.created) and their holders
// (lock.held / lock.released). A process that ends takes its waits with it; a lock it held
// stays held (multiprocessing never releases it), its holder marked dead. The summary the
// tree reads (the wait to show, how many threads wait) is written on the process's node.
import type { LockCreatedMessage, LockHeldMessage, LockReleasedMessage, WaitBeginMessage, WaitEndMessage } from '../protocol';
import type { LockInfo, ProcessInfo, WaitInfo } from '../types';
import type { BatchChanges } from './changes';
import type { ProcessTable } from './processes';

/** Locks kept; past this the oldest unheld ones are forgotten (a program may make locks in a loop). */
const MAX_LOCKS = 5000;
/** Threads of one process with a wait (a runaway thread pool must not grow the model without limit). */
const MAX_WAITS_PER_PROCESS = 1000;
/** Early holders per unknown lock id, and such ids: bounded like the other early maps. */
const MAX_EARLY = 1000;
/** Pids remembered per queue as having waited in a get on it. */
const MAX_GETTERS = 64;

const GET_CALLS = new Set(['Queue.get', 'SimpleQueue.get']);

export class WaitTable {
  /** Process key → thread id → its wait now. */
  private readonly waits = new Map<string, Map<number, WaitInfo>>();
  private readonly locks = new Map<string, LockInfo>();
  /** Holders reported before their lock's lock.created (another connection was faster). */
  private readonly earlyHolders = new Map<string, LockInfo['holders']>();
  /** Queue id → pids that waited in a get on it: the model's one knowledge of who reads a queue. */
  private readonly getters = new Map<string, Set<number>>();
  private lastChange = 0;

  constructor(
    private readonly runId: string,
    private readonly changes: BatchChanges,
    private readonly processes: ProcessTable,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Queries

  /** Every thread's wait of a process now (empty when none, or when it ended). */
  waitsOf(processKey: string): WaitInfo[] {
    return [...(this.waits.get(processKey)?.values() ?? [])];
  }

  lock(id: string): LockInfo | undefined {
    return this.locks.get(id);
  }

  allLocks(): LockInfo[] {
    return [...this.locks.values()];
  }

  /** Pids seen waiting in a get on the queue (others may read it without ever waiting). */
  gettersOf(queueId: string): readonly number[] {
    return [...(this.getters.get(queueId) ?? [])];
  }

  /** When a wait, a hold or a process's end last changed what the run waits on (ms, the messages' clock). */
  get lastChangeAt(): number {
    return this.lastChange;
  }

  // -------------------------------------------------------------------------------------------
  // What the runtime says

  onLockCreated(m: LockCreatedMessage): void {
    if (!this.processes.isMember(m.ownerPid)) return this.processes.dropForeign(m.type, m.ownerPid);
    let lock = this.locks.get(m.id);
    if (!lock) {
      if (this.locks.size >= MAX_LOCKS) this.evictOne();
      lock = { key: `${this.runId}:lock:${m.id}`, id: m.id, kind: m.kind, ownerPid: m.ownerPid, site: m.site, label: m.label, holders: [], createdAt: m.t };
      this.locks.set(m.id, lock);
    } else Object.assign(lock, { kind: m.kind, site: m.site ?? lock.site, label: m.label ?? lock.label });
    const early = this.earlyHolders.get(m.id);
    this.earlyHolders.delete(m.id);
    if (early) lock.holders.push(...early);
    this.touchWaitersOf(m.id);
  }

  onWaitBegin(m: WaitBeginMessage): void {
    const node = this.liveNode(m.pid, m.type);
    if (!node) return;
    let threads = this.waits.get(node.key);
    if (!threads) this.waits.set(node.key, (threads = new Map()));
    if (!threads.has(m.threadId) && threads.size >= MAX_WAITS_PER_PROCESS) return;
    // A thread has one wait at a time: a new begin replaces what it had.
    threads.set(m.threadId, {
      pid: m.pid,
      threadId: m.threadId,
      thread: m.thread,
      call: m.call,
      object: m.object,
      timeout: m.timeout,
      site: m.site,
      since: m.since,
      endedAt: null,
    });
    if (m.object.kind === 'queue' && m.object.id !== null && GET_CALLS.has(m.call)) this.noteGetter(m.object.id, m.pid);
    this.mark(m.t);
    this.summarise(node, m.threads ?? undefined);
  }

  onWaitEnd(m: WaitEndMessage): void {
    const node = this.liveNode(m.pid, m.type);
    if (!node) return;
    const threads = this.waits.get(node.key);
    const wait = threads?.get(m.threadId);
    if (!threads || !wait) return;
    threads.delete(m.threadId);
    if (threads.size === 0) this.waits.delete(node.key);
    this.mark(m.t);
    this.processes.patch(node, { lastWait: { ...wait, endedAt: m.t } });
    this.summarise(node);
  }

  onLockHeld(m: LockHeldMessage): void {
    const node = this.liveNode(m.pid, m.type);
    if (!node) return;
    const holder = { pid: m.pid, threadId: m.threadId, thread: m.thread, site: m.site, since: m.since, holderDead: false };
    const lock = this.locks.get(m.id);
    const holders = lock?.holders ?? this.earlyHoldersOf(m.id);
    if (!holders) return;
    // The same thread said so again (a re-acquired RLock): one entry, the newest account.
    const same = holders.findIndex((h) => h.pid === m.pid && h.threadId === m.threadId);
    if (same >= 0) holders[same] = holder;
    else if (holders.length < MAX_EARLY) holders.push(holder);
    this.mark(m.t);
    this.touchWaitersOf(m.id);
  }

  onLockReleased(m: LockReleasedMessage): void {
    if (!this.processes.isMember(m.pid)) return this.processes.dropForeign(m.type, m.pid);
    const holders = this.locks.get(m.id)?.holders ?? this.earlyHolders.get(m.id);
    if (!holders) return;
    const i = holders.findIndex((h) => h.pid === m.pid && h.threadId === m.threadId && !h.holderDead);
    if (i < 0) return;
    holders.splice(i, 1);
    this.mark(m.t);
    this.touchWaitersOf(m.id);
  }

  /**
   * A process ended: its waits end (the last one is kept as its last wait), and the locks it
   * held stay held by a dead holder, which the processes waiting for them must now say.
   */
  onProcessEnd(node: ProcessInfo, t: number): void {
    const threads = this.waits.get(node.key);
    this.waits.delete(node.key);
    let touched = false;
    if (threads && threads.size > 0) {
      const shown = node.wait ?? [...threads.values()][0];
      this.processes.patch(node, { lastWait: { ...shown, endedAt: t }, wait: null, waitingThreads: 0 });
      touched = true;
    }
    for (const lock of this.locks.values()) {
      let held = false;
      for (const h of lock.holders) {
        if (h.pid === node.pid && !h.holderDead) {
          h.holderDead = true;
          held = true;
        }
      }
      if (held) {
        touched = true;
        this.touchWaitersOf(lock.id);
      }
    }
    for (const holders of this.earlyHolders.values()) for (const h of holders) if (h.pid === node.pid) h.holderDead = true;
    // Its task stays: the one it died in (the tree shows a task only while it runs).
    if (touched) this.mark(t);
  }

  /** Its node was forgotten (history cap, Clear Exited). */
  forgetProcess(processKey: string): void {
    this.waits.delete(processKey);
  }

  // -------------------------------------------------------------------------------------------

  /** A member's running node; waits and holds of a process that ended are late news, dropped. */
  private liveNode(pid: number, type: string): ProcessInfo | undefined {
    if (!this.processes.isMember(pid)) {
      this.processes.dropForeign(type, pid);
      return undefined;
    }
    const node = this.processes.byPid(pid);
    return node && node.state === 'running' ? node : undefined;
  }

  /** The node's summary: the wait the tree shows (its main thread's, else its oldest) and how many wait. */
  private summarise(node: ProcessInfo, threads?: number): void {
    const waits = [...(this.waits.get(node.key)?.values() ?? [])];
    const main = waits.find((w) => w.thread === 'MainThread');
    const shown = main ?? waits.reduce<WaitInfo | null>((oldest, w) => (oldest === null || w.since < oldest.since ? w : oldest), null);
    this.processes.patch(node, { wait: shown, waitingThreads: waits.length, ...(threads !== undefined ? { threads } : {}) });
  }

  /** The processes waiting for a lock say who holds it: their rows change with its holders. */
  private touchWaitersOf(lockId: string): void {
    for (const [key, threads] of this.waits) {
      for (const w of threads.values()) {
        if (w.object.kind === 'lock' && w.object.id === lockId) {
          this.changes.process(key);
          break;
        }
      }
    }
  }

  private noteGetter(queueId: string, pid: number): void {
    let set = this.getters.get(queueId);
    if (!set) {
      if (this.getters.size >= MAX_LOCKS) return;
      this.getters.set(queueId, (set = new Set()));
    }
    if (set.size < MAX_GETTERS) set.add(pid);
  }

  private earlyHoldersOf(id: string): LockInfo['holders'] | undefined {
    let early = this.earlyHolders.get(id);
    if (!early && this.earlyHolders.size < MAX_EARLY) this.earlyHolders.set(id, (early = []));
    return early;
  }

  private mark(t: number): void {
    if (t > this.lastChange) this.lastChange = t;
  }

  /** Forgets the oldest lock nobody holds (or, failing that, the oldest). */
  private evictOne(): void {
    let victim: string | undefined;
    for (const [id, lock] of this.locks) {
      victim ??= id;
      if (lock.holders.length === 0) {
        victim = id;
        break;
      }
    }
    if (victim !== undefined) this.locks.delete(victim);
  }
}
