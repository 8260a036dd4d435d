// Deadlocks named from the run's waits-for graph: which thread waits for which lock, process
// or queue, and who could give it. Three rules, each conservative (a wrong deadlock is worse
// than none): every wait in a finding has no timeout and has lasted DEADLOCK_SETTLE_MS, and so
// has the whole state of the run's waits.
//   lock-cycle   threads waiting for Locks/RLocks (or a join) held by each other, in a circle
//   join-queue   a parent in join() on a child that waits to put into, or to flush at exit, a
//                queue nobody else alive could read
//   all-waiting  every live process has all its threads in a wait no live process can end
// Pure: no I/O, no timers; RunModel.deadlocks(now) asks, the hints turn findings into words.
import { phrase, render, type Phrase, type PhraseArg } from './l10n';
import type { DeadlockKind, LockInfo, PoolInfo, ProcessInfo, QueueInfo, SiteInfo, WaitInfo } from './types';

/** How long a wait (and the run's whole waiting state) must last before it can be part of a deadlock. */
export const DEADLOCK_SETTLE_MS = 1000;

export interface DeadlockView {
  liveProcesses(): ProcessInfo[];
  processByPid(pid: number): ProcessInfo | undefined;
  waitsOf(processKey: string): WaitInfo[];
  lock(id: string): LockInfo | undefined;
  queue(id: string): QueueInfo | undefined;
  pools(): PoolInfo[];
  gettersOf(queueId: string): readonly number[];
  readonly waitsChangedAt: number;
}

export interface Deadlock {
  /** Stable identity: the rule and the processes in it. */
  id: string;
  kind: DeadlockKind;
  pids: number[];
  processKeys: string[];
  /** What each waits on, in words (`Lock lock_a`, `Queue q4242-1`). */
  objects: string[];
  /** "file:line" of each wait in it (the problems go there). */
  sites: string[];
  text: Phrase;
  /** The English sentence of `text`. */
  message: string;
  foundAt: number;
}

const SINGLE_HOLDER = new Set(['Lock', 'RLock']);
const HELPERS_THAT_GIVE_NOTHING = new Set(['resource-tracker', 'forkserver']);
const POOL_WAITS = new Set(['Pool.map', 'Pool.starmap', 'Pool.apply', 'Pool.imap', 'AsyncResult.get', 'AsyncResult.wait', 'Pool.join']);

export function findDeadlocks(view: DeadlockView, now: number, settleMs = DEADLOCK_SETTLE_MS): Deadlock[] {
  // Something moved within the last second: whatever looks stuck may be on its way.
  if (now - view.waitsChangedAt < settleMs) return [];
  const live = view.liveProcesses().filter((p) => p.state === 'running');
  const settled = (w: WaitInfo) => w.timeout === null && now - w.since >= settleMs;
  const found = [...lockCycles(view, live, settled, now), ...joinQueue(view, live, settled, now)];
  // The general rule only when no sharper one explains the run.
  if (found.length === 0) found.push(...allWaiting(view, live, settled, now));
  return found;
}

// ---------------------------------------------------------------------------------------------
// Words

export function processName(p: ProcessInfo): Phrase {
  return phrase("'{0}' (pid {1})", p.name || phrase('pid {0}', p.pid), p.pid);
}

/** A site as `app.py:13`, or nothing. */
export function shortSite(site: SiteInfo | null): string {
  if (!site) return '';
  const file = site.file.slice(Math.max(site.file.lastIndexOf('/'), site.file.lastIndexOf('\\')) + 1);
  return `${file}:${site.line}`;
}

const fullSite = (site: SiteInfo | null): string | null => (site ? `${site.file}:${site.line}` : null);

/** What a wait waits on, in words: `Lock lock_a`, `Queue q4242-1`, `process 'worker' (pid 4243)`. */
export function waitObjectText(w: WaitInfo, view: Pick<DeadlockView, 'lock' | 'queue' | 'processByPid'>): Phrase {
  const o = w.object;
  if (o.kind === 'lock' && o.id !== null) {
    const lock = view.lock(o.id);
    return phrase('{0} {1}', lock?.kind ?? w.call.split('.')[0], lock?.label ?? o.id);
  }
  if (o.kind === 'queue' && o.id !== null) return phrase('{0} {1}', view.queue(o.id)?.kind ?? w.call.split('.')[0], o.id);
  if (o.kind === 'process' && o.pid !== null) {
    const p = view.processByPid(o.pid);
    return p ? phrase('process {0}', processName(p)) : phrase('process {0}', o.pid);
  }
  if (o.kind === 'pool' && o.id !== null) return phrase('pool {0}', o.id);
  return phrase('{0}', o.id ?? o.address ?? o.kind);
}

function atSite(site: SiteInfo | null): PhraseArg {
  const s = shortSite(site);
  return s ? phrase(' ({0})', s) : '';
}

function joined(parts: Phrase[]): Phrase {
  return parts.reduce((all, part) => phrase('{0}; {1}', all, part));
}

function finding(kind: DeadlockKind, members: ProcessInfo[], waits: WaitInfo[], view: DeadlockView, text: Phrase, now: number): Deadlock {
  const pids = [...new Set(members.map((p) => p.pid))];
  const sites = [...new Set(waits.map((w) => fullSite(w.site)).filter((s): s is string => s !== null))];
  return {
    id: `${kind}|${[...pids].sort((a, b) => a - b).join(',')}`,
    kind,
    pids,
    processKeys: [...new Set(members.map((p) => p.key))],
    objects: waits.map((w) => render(waitObjectText(w, view))),
    sites,
    text,
    message: render(text),
    foundAt: now,
  };
}

// ---------------------------------------------------------------------------------------------
// lock-cycle

interface Edge {
  from: WaitInfo;
  /** The thread it waits for. */
  to: WaitInfo;
  /** The holder's line, for a lock edge: the statement that took the lock (else where the holder is now). */
  holderSite: SiteInfo | null;
  lock: LockInfo | null;
}

/** Whether every thread of a process is in a wait we know of (its thread count said so). */
function allThreadsWait(p: ProcessInfo): boolean {
  return p.threads !== null && p.waitingThreads >= p.threads;
}

function lockCycles(view: DeadlockView, live: ProcessInfo[], settled: (w: WaitInfo) => boolean, now: number): Deadlock[] {
  const threadKey = (pid: number, threadId: number) => `${pid}:${threadId}`;
  const waitOf = new Map<string, WaitInfo>();
  const processOf = new Map<string, ProcessInfo>();
  for (const p of live) {
    for (const w of view.waitsOf(p.key)) {
      waitOf.set(threadKey(p.pid, w.threadId), w);
      processOf.set(threadKey(p.pid, w.threadId), p);
    }
  }
  // One wait per thread, so one edge out of each: the graph is a set of chains and circles.
  const edges = new Map<string, Edge>();
  for (const [key, w] of waitOf) {
    if (!settled(w)) continue;
    if (w.object.kind === 'lock' && w.object.id !== null) {
      const lock = view.lock(w.object.id);
      // A Semaphore's waiter waits for any of several holders: no single edge says it is stuck.
      if (!lock || !SINGLE_HOLDER.has(lock.kind) || lock.holders.length !== 1) continue;
      const holder = lock.holders[0];
      if (holder.holderDead) continue;
      const to = waitOf.get(threadKey(holder.pid, holder.threadId));
      if (!to) continue;
      if (to === w) {
        // A thread waiting for a Lock it holds itself: stuck only if no other thread could release it.
        const p = processOf.get(key)!;
        if (lock.kind !== 'Lock' || p.threads !== 1) continue;
      }
      edges.set(key, { from: w, to, holderSite: holder.site, lock });
    } else if (w.call === 'Process.join' && w.object.kind === 'process' && w.object.pid !== null) {
      // Joining a process waits for its main thread, which the edge follows.
      const target = view.processByPid(w.object.pid);
      if (!target || target.state !== 'running') continue;
      const main = view.waitsOf(target.key).find((t) => t.thread === 'MainThread');
      if (main) edges.set(key, { from: w, to: main, holderSite: null, lock: null });
    }
  }
  const found: Deadlock[] = [];
  const done = new Set<string>();
  for (const start of edges.keys()) {
    if (done.has(start)) continue;
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let at: string | undefined = start;
    while (at !== undefined && !done.has(at) && !onPath.has(at)) {
      onPath.set(at, path.length);
      path.push(at);
      const edge: Edge | undefined = edges.get(at);
      at = edge ? threadKey(edge.to.pid, edge.to.threadId) : undefined;
    }
    if (at !== undefined && onPath.has(at)) {
      const cycle = path.slice(onPath.get(at)!).map((k) => edges.get(k)!);
      // A circle needs a lock in it: joins alone cannot close one.
      if (cycle.some((e) => e.lock !== null)) found.push(lockCycleFinding(view, cycle, processOf, now));
    }
    for (const k of path) done.add(k);
  }
  return found;
}

function lockCycleFinding(view: DeadlockView, cycle: Edge[], processOf: Map<string, ProcessInfo>, now: number): Deadlock {
  const procOf = (w: WaitInfo) => processOf.get(`${w.pid}:${w.threadId}`)!;
  const steps = cycle.map((e) => {
    const who = procOf(e.from);
    const whom = procOf(e.to);
    if (e.lock) {
      return phrase('{0} waits for {1}{2}, held by {3}{4}', processName(who), waitObjectText(e.from, view), atSite(e.from.site), processName(whom), atSite(e.holderSite));
    }
    return phrase('{0} waits in join(){1} for {2}', processName(who), atSite(e.from.site), processName(whom));
  });
  const text = phrase('Deadlock: {0}. Each waits for a lock another one holds, so none can go on. Take the locks in the same order everywhere (or use acquire(timeout=…)).', joined(steps));
  const waits = cycle.map((e) => e.from);
  const holdSites = cycle.filter((e) => e.holderSite).map((e) => ({ ...e.from, site: e.holderSite }));
  const d = finding('lock-cycle', cycle.map((e) => procOf(e.from)), waits, view, text, now);
  for (const w of holdSites) {
    const s = fullSite(w.site);
    if (s && !d.sites.includes(s)) d.sites.push(s);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// join-queue

const isGet = (w: WaitInfo, queueId: string) => w.object.kind === 'queue' && w.object.id === queueId && w.call.endsWith('.get');

/**
 * Any live process apart from these could read the queue (or do anything): only one whose
 * threads all wait, without a timeout, and not in a get on it, cannot.
 */
function othersCouldRead(view: DeadlockView, live: ProcessInfo[], except: Set<number>, queueId: string, settled: (w: WaitInfo) => boolean): boolean {
  for (const p of live) {
    if (except.has(p.pid)) continue;
    if (p.kind === 'helper' && p.role !== null && HELPERS_THAT_GIVE_NOTHING.has(p.role)) continue;
    if (!p.instrumented || !allThreadsWait(p)) return true;
    const waits = view.waitsOf(p.key);
    if (waits.some((w) => !settled(w) || isGet(w, queueId))) return true;
  }
  return false;
}

function joinQueue(view: DeadlockView, live: ProcessInfo[], settled: (w: WaitInfo) => boolean, now: number): Deadlock[] {
  const found: Deadlock[] = [];
  for (const parent of live) {
    const parentWaits = view.waitsOf(parent.key);
    for (const join of parentWaits) {
      if (join.call !== 'Process.join' || join.object.pid === null || !settled(join)) continue;
      const child = view.processByPid(join.object.pid);
      if (!child || child.state !== 'running' || !allThreadsWait(child) || !allThreadsWait(parent)) continue;
      for (const put of view.waitsOf(child.key)) {
        if (!settled(put) || put.object.kind !== 'queue' || put.object.id === null) continue;
        const q = view.queue(put.object.id);
        if (!q) continue;
        const full = put.call.endsWith('.put') && q.maxsize > 0 && q.depth >= q.maxsize;
        const flushing = put.call === 'Queue.flush' && q.depth > 0;
        if (!full && !flushing) continue;
        // The parent itself reading it (another thread in get) would drain it.
        if (parentWaits.some((w) => isGet(w, q.id) || !settled(w))) continue;
        // Someone else seen reading it, still alive: not "only that parent".
        const readers = view.gettersOf(q.id).filter((pid) => pid !== parent.pid && pid !== child.pid && view.processByPid(pid)?.state === 'running');
        if (readers.length > 0) continue;
        if (othersCouldRead(view, live, new Set([parent.pid, child.pid]), q.id, settled)) continue;
        const args = [processName(parent), atSite(join.site), processName(child), waitObjectText(put, view), atSite(put.site)];
        const text = flushing
          ? phrase('Deadlock: {0} waits in join(){1} for {2}, which cannot exit before its items in {3}{4} are read, and only {0} would read them. Get the items from the queue before join().', ...args)
          : phrase('Deadlock: {0} waits in join(){1} for {2}, which waits to put into the full {3}{4} that only {0} reads. Get the items from the queue before join(), or raise maxsize.', ...args);
        found.push(finding('join-queue', [parent, child], [join, put], view, text, now));
      }
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// all-waiting

function allWaiting(view: DeadlockView, live: ProcessInfo[], settled: (w: WaitInfo) => boolean, now: number): Deadlock[] {
  const members = live.filter((p) => !(p.kind === 'helper' && p.role !== null && HELPERS_THAT_GIVE_NOTHING.has(p.role)));
  if (members.length === 0) return [];
  const memberPids = new Set(members.map((p) => p.pid));
  const waits: WaitInfo[] = [];
  for (const p of members) {
    // A process the runtime cannot see, or a Manager's server, may give anything.
    if (!p.instrumented || (p.kind === 'helper' && p.role === 'manager')) return [];
    if (!allThreadsWait(p)) return [];
    const own = view.waitsOf(p.key);
    if (own.length === 0) return [];
    for (const w of own) {
      if (!settled(w) || !cannotBeGiven(view, w, memberPids)) return [];
      waits.push(w);
    }
  }
  const steps = waits.map((w) => {
    const p = view.processByPid(w.pid)!;
    return phrase('{0} in {1} on {2}{3}', processName(p), w.call, waitObjectText(w, view), atSite(w.site));
  });
  const text = phrase('Deadlock: every live process waits on something no live process can give: {0}. Check that every item a get() waits for is put (a sentinel per consumer), and that nothing is joined before what it waits for is done.', joined(steps));
  return [finding('all-waiting', members, waits, view, text, now)];
}

/** Whether the wait can only end by an act of some live process (which all wait too), as far as the model knows. */
function cannotBeGiven(view: DeadlockView, w: WaitInfo, memberPids: Set<number>): boolean {
  const o = w.object;
  if (o.kind === 'queue' && o.id !== null) {
    const q = view.queue(o.id);
    if (!q) return false;
    if (w.call.endsWith('.get')) return q.depth === 0;
    if (w.call.endsWith('.put')) return q.maxsize > 0 && q.depth >= q.maxsize;
    if (w.call === 'Queue.flush') return q.depth > 0;
    if (w.call === 'JoinableQueue.join') return (q.unfinished ?? 0) > 0;
    return false;
  }
  if (o.kind === 'lock' && o.id !== null) {
    const lock = view.lock(o.id);
    if (!lock) return false;
    // A Lock nobody is known to hold: its holder may be on its way to release it.
    if (SINGLE_HOLDER.has(lock.kind) && w.call.endsWith('.acquire')) return lock.holders.length > 0;
    return true;
  }
  if (o.kind === 'process' && o.pid !== null) {
    // A joined process that exited (or a zombie) ends the join; one outside the set may yet exit.
    return memberPids.has(o.pid) && view.processByPid(o.pid)?.state === 'running';
  }
  if (o.kind === 'pool' && o.id !== null && POOL_WAITS.has(w.call)) {
    const pool = view.pools().find((x) => x.id === o.id);
    if (!pool) return false;
    const workers = pool.workers.map((pid) => view.processByPid(pid)).filter((p) => p?.state === 'running');
    // No live worker: the pool's handler starts new ones. Every live one must be stuck with the rest.
    return workers.length > 0 && workers.every((p) => memberPids.has(p!.pid));
  }
  // Connections (the other end may close), futures, manager calls, the rest: unknown.
  return false;
}
