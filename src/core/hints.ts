// Recognises the classic multiprocessing mistakes from what the model knows: process states
// and exit codes, queue depths over time, pool states. No `vscode`, no I/O, no timers: the
// caller decides when to ask (on each model change, on a tick while a run is live) and keeps
// a HintTracker for what only time reveals (how long a queue has been full, a child a zombie).
// docs/hints.md explains every hint to users; keep the two in step.
import type { ModelChange, PoolInfo, ProcessInfo, QueueInfo, RunInfo } from './types';
import { english, phrase, render, type Localizer, type Phrase, type PhraseArg } from './l10n';
import type { Deadlock } from './deadlocks';

export type HintKind =
  | 'unjoined-child'
  | 'queue-full-blocked'
  | 'queue-empty-no-producers'
  | 'non-daemon-blocks-exit'
  | 'daemon-killed-with-parent'
  | 'pool-not-closed'
  | 'missing-main-guard'
  | 'deadlock';

export const HINT_KINDS: readonly HintKind[] = [
  'unjoined-child',
  'queue-full-blocked',
  'queue-empty-no-producers',
  'non-daemon-blocks-exit',
  'daemon-killed-with-parent',
  'pool-not-closed',
  'missing-main-guard',
  'deadlock',
];

export interface Hint {
  kind: HintKind;
  /** The process the hint is about (shown on its tree node). */
  pid?: number;
  processKey?: string;
  queueId?: string;
  poolId?: string;
  /** One or two sentences: what happened, then the fix. English (snapshots, exports). */
  message: string;
  /** The same message for a Localizer (see hintText); absent in hints read from an old export. */
  text?: Phrase;
  /** "file:line" where the object was created, when the runtime reported it. */
  site?: string;
  /** Every process it names, processKey first (a deadlock's badge goes on each). */
  processKeys?: string[];
  /** Every "file:line" it is about, site first (a deadlock's problem goes on each). */
  sites?: string[];
  /** error: the program can never go on; warning: it is stuck or leaks; info: a surprise worth knowing about. */
  severity: 'error' | 'warning' | 'info';
}

/** The CLI snapshot's `hints[]` entries. */
export interface SnapshotHint {
  kind: HintKind;
  pid: number | null;
  message: string;
  site?: string;
}

export interface HintOptions {
  /** A zombie younger than this is a parent about to join, not a mistake. */
  zombieMs: number;
  /** How long a queue must stay at maxsize before a blocked put() is reported. */
  queueFullMs: number;
  /** How long an empty queue must stay idle after its producers left. */
  queueEmptyMs: number;
  /** How long a non-daemon child may keep its parent's exit waiting. */
  exitBlockMs: number;
  /** A spawn child that fails within this long after its start died while bootstrapping. */
  bootstrapMs: number;
}

export const DEFAULT_HINT_OPTIONS: HintOptions = {
  zombieMs: 2000,
  queueFullMs: 3000,
  queueEmptyMs: 3000,
  exitBlockMs: 2000,
  bootstrapMs: 3000,
};

// A process's `site` and `codeDoneAt` come from the runtime (process.started, process.atexit)
// and are null where it could not tell. The pids that put into a queue are known to the model
// (QueueInfo.putters); those that got from it are not (a Queue's gets are not counted): read
// when present (see docs/hints.md, "What would make hints sharper").
type ProcessFacts = ProcessInfo;
type QueueFacts = QueueInfo & {
  /** Pids that ever got from the queue. */
  getters?: readonly number[];
};

/** What the hints read; RunModel and an imported run's model both satisfy it. */
export interface HintModelView {
  processes(): ProcessInfo[];
  queues(): QueueInfo[];
  pools(): PoolInfo[];
  get(key: string): ProcessInfo | undefined;
  processByPid(pid: number): ProcessInfo | undefined;
  children(parentKey: string | null): ProcessInfo[];
  /** The run's deadlocks now (RunModel; an imported run has none to compute). */
  deadlocks?(now: number): Deadlock[];
  /** Every deadlock found while the run lived. */
  deadlocksSeen?(): Deadlock[];
}

export type HintRunView = Pick<RunInfo, 'state' | 'endedAt' | 'script'>;

const SIGTERM = -15;

interface QueueTrack {
  puts: number;
  gets: number;
  /** When the model last showed the put count grow. */
  lastPutAt: number | null;
  /** When puts or gets last changed. */
  lastActivityAt: number;
  fullSince: number | null;
}

/**
 * What only observation over time reveals. Feed it every model change (observe), or at least
 * every time hints are computed; it is bounded by the model's own size (entries of forgotten
 * processes and queues are dropped on the next observation).
 */
export class HintTracker {
  private readonly queues = new Map<string, QueueTrack>();
  /** Zombie → exited transitions seen: key → when the parent finally collected it. */
  private readonly reapedAt = new Map<string, number>();
  private readonly wasZombie = new Set<string>();

  observe(model: HintModelView, now: number): void {
    const seenQueues = new Set<string>();
    for (const q of model.queues()) {
      seenQueues.add(q.key);
      this.observeQueue(q, now);
    }
    for (const key of this.queues.keys()) if (!seenQueues.has(key)) this.queues.delete(key);

    const seenProcesses = new Set<string>();
    for (const p of model.processes()) {
      seenProcesses.add(p.key);
      this.observeProcess(p, now);
    }
    for (const key of this.wasZombie) if (!seenProcesses.has(key)) this.wasZombie.delete(key);
    for (const key of this.reapedAt.keys()) if (!seenProcesses.has(key)) this.reapedAt.delete(key);
  }

  /**
   * Only what one model change touched: the cost follows the change, not the model (a run
   * that starts thousands of processes fires a change per message, and a full observe on
   * each would be quadratic). Entries of forgotten processes and queues are dropped by the
   * next full observe (computeHints does one).
   */
  observeChange(model: HintModelView, change: Pick<ModelChange, 'processes' | 'queues'>, now: number): void {
    if (change.queues.length) {
      const changed = new Set(change.queues);
      for (const q of model.queues()) if (changed.has(q.key)) this.observeQueue(q, now);
    }
    for (const key of change.processes) {
      const p = model.get(key);
      if (p) this.observeProcess(p, now);
    }
  }

  private observeQueue(q: QueueInfo, now: number): void {
    let track = this.queues.get(q.key);
    if (!track) {
      track = { puts: q.puts, gets: q.gets, lastPutAt: q.puts > 0 ? now : null, lastActivityAt: now, fullSince: null };
      this.queues.set(q.key, track);
    }
    if (q.puts !== track.puts) track.lastPutAt = now;
    if (q.puts !== track.puts || q.gets !== track.gets) track.lastActivityAt = now;
    track.puts = q.puts;
    track.gets = q.gets;
    if (q.maxsize > 0 && q.depth >= q.maxsize) track.fullSince ??= now;
    else track.fullSince = null;
  }

  private observeProcess(p: ProcessInfo, now: number): void {
    if (p.state === 'zombie') this.wasZombie.add(p.key);
    else if (p.state === 'exited' && this.wasZombie.has(p.key) && !this.reapedAt.has(p.key)) this.reapedAt.set(p.key, now);
  }

  queue(key: string): Readonly<QueueTrack> | undefined {
    return this.queues.get(key);
  }

  /** How long a process stayed a zombie, when that is known (it was seen both ways). */
  zombieMs(p: ProcessInfo, now: number): number | null {
    if (p.exitedAt === null) return null;
    if (p.state === 'zombie') return now - p.exitedAt;
    const reaped = this.reapedAt.get(p.key);
    return reaped === undefined ? null : reaped - p.exitedAt;
  }
}

/**
 * Every hint that applies to the run at `now`. Pure apart from the tracker it is given (which
 * it updates with what the model shows now); without one, hints that need a duration rely on
 * timestamps alone.
 */
export function computeHints(
  model: HintModelView,
  run: HintRunView,
  now: number,
  tracker: HintTracker = new HintTracker(),
  options: Partial<HintOptions> = {},
): Hint[] {
  const o: HintOptions = { ...DEFAULT_HINT_OPTIONS, ...options };
  try {
    tracker.observe(model, now);
  } catch {
    // A half-known model: the rules below still see what they can.
  }
  const live = run.state === 'starting' || run.state === 'running';
  const until = live ? now : run.endedAt ?? now;
  const hints: Hint[] = [];
  const processes = model.processes();
  const ctx: Ctx = { model, run, now: until, live, tracker, o, processes };
  for (const rule of RULES) {
    try {
      hints.push(...rule(ctx));
    } catch {
      // A rule that trips over a half-known model costs its own hints, never the others.
    }
  }
  return hints;
}

/** The snapshot form (`hints[]` of `mptree run --snapshot`). */
export function snapshotHints(hints: readonly Hint[]): SnapshotHint[] {
  return hints.map((h) => ({ kind: h.kind, pid: h.pid ?? null, message: h.message, ...(h.site ? { site: h.site } : {}) }));
}

/** Hints grouped by the process key they are about, for tree decorations and tooltips. */
export function hintsByProcess(hints: readonly Hint[]): Map<string, Hint[]> {
  const map = new Map<string, Hint[]>();
  for (const hint of hints) {
    for (const key of hintProcessKeys(hint)) {
      let list = map.get(key);
      if (!list) map.set(key, (list = []));
      list.push(hint);
    }
  }
  return map;
}

/** Every process a hint is about: its own, and each one a deadlock names. */
export function hintProcessKeys(h: Pick<Hint, 'processKey' | 'processKeys'>): string[] {
  const keys = h.processKeys ?? [];
  return h.processKey && !keys.includes(h.processKey) ? [h.processKey, ...keys] : [...keys];
}

/** Every line a hint is about, "file:line". */
export function hintSites(h: Pick<Hint, 'site' | 'sites'>): string[] {
  const sites = h.sites ?? [];
  return h.site && !sites.includes(h.site) ? [h.site, ...sites] : [...sites];
}

/** "file:line" → its parts; null when the text is not of that shape. */
export function parseSite(site: string | null | undefined): { file: string; line: number } | null {
  if (!site) return null;
  const m = /^(.*):(\d+)$/.exec(site);
  if (!m || !m[1]) return null;
  const line = Number(m[2]);
  return Number.isSafeInteger(line) && line > 0 ? { file: m[1], line } : null;
}

/** The hint's message in the language of `t`. */
export function hintText(h: Pick<Hint, 'message' | 'text'>, t: Localizer): string {
  return h.text ? render(h.text, t) : h.message;
}

/** A hint as one line of text: the words the VS Code tree's tooltip and the CLI's tree use. */
export function hintLine(h: Pick<Hint, 'message' | 'text'>, t: Localizer = english): string {
  return `⚠ ${hintText(h, t)}`;
}
/** Stable identity of a hint, to tell new hints from ones already shown. */

export function hintId(h: Hint): string {
  return `${h.kind}|${h.processKey ?? h.pid ?? ''}|${h.queueId ?? ''}|${h.poolId ?? ''}`;
}

// ---------------------------------------------------------------------------------------------

interface Ctx {
  model: HintModelView;
  run: HintRunView;
  /** now while the run is live; its end afterwards (durations stop growing). */
  now: number;
  live: boolean;
  tracker: HintTracker;
  o: HintOptions;
  processes: ProcessInfo[];
}

type Rule = (ctx: Ctx) => Hint[];

const RULES: Rule[] = [unjoinedChild, queueFullBlocked, queueEmptyNoProducers, exitPhaseHints, poolNotClosed, missingMainGuard, deadlockHints];

/** A hint with its English message filled in from its phrase. */
function hint(fields: Omit<Hint, 'message' | 'text'>, text: Phrase): Hint {
  return { ...fields, message: render(text), text };
}

// A spawn child that died before Process._bootstrap still carries the name it had while
// importing the main module ('MainProcess'): its target says more.
const unbootstrapped = (p: ProcessInfo) => p.kind !== 'main' && p.name === 'MainProcess';

function name(p: ProcessInfo): Phrase {
  if (unbootstrapped(p)) return p.target ? phrase('the child running {0}() (pid {1})', p.target, p.pid) : phrase('child pid {0}', p.pid);
  return phrase("'{0}' (pid {1})", p.name || phrase('pid {0}', p.pid), p.pid);
}

/** name() at the start of a sentence. */
function capitalName(p: ProcessInfo): Phrase {
  if (unbootstrapped(p)) return p.target ? phrase('The child running {0}() (pid {1})', p.target, p.pid) : phrase('Child pid {0}', p.pid);
  return phrase("Child '{0}' (pid {1})", p.name || phrase('pid {0}', p.pid), p.pid);
}

function seconds(ms: number): Phrase {
  return phrase('{0} s', ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000)));
}

function siteText(site: string | null | undefined): PhraseArg {
  const parsed = parseSite(site);
  if (!parsed) return '';
  const file = parsed.file.slice(Math.max(parsed.file.lastIndexOf('/'), parsed.file.lastIndexOf('\\')) + 1);
  return phrase(' (created at {0}:{1})', file, parsed.line);
}

/** Up to three names, then how many more. */
function nameList(ps: ProcessInfo[]): Phrase {
  const [a, b, c] = ps.map(name);
  if (ps.length === 1) return a;
  if (ps.length === 2) return phrase('{0}, {1}', a, b);
  if (ps.length === 3) return phrase('{0}, {1}, {2}', a, b, c);
  return phrase('{0}, {1}, {2} and {3} more', a, b, c, ps.length - 3);
}

function processSite(p: ProcessInfo): string | undefined {
  return (p as ProcessFacts).site ?? undefined;
}

/** A process the user's own code started with multiprocessing.Process. */
const isUserChild = (p: ProcessInfo) => p.kind === 'process' && p.instrumented && p.parentPid !== null;

function unjoinedChild({ processes, now, live, tracker, o, model }: Ctx): Hint[] {
  const hints: Hint[] = [];
  for (const p of processes) {
    if (!isUserChild(p)) continue;
    const zombie = tracker.zombieMs(p, now);
    if (zombie === null || zombie < o.zombieMs) continue;
    const parent = p.parentKey ? model.get(p.parentKey) : undefined;
    const parentText = parent ? name(parent) : phrase('its parent (pid {0})', p.parentPid ?? '?');
    if (p.state === 'zombie' && live) {
      hints.push(hint(
        { kind: 'unjoined-child', pid: p.pid, processKey: p.key, severity: 'warning', site: processSite(p) },
        phrase('{0} exited {1} ago but {2} has not joined it: it is a zombie, holding its process-table entry. Call join() on it in the parent once it is done.', name(p), seconds(zombie), parentText),
      ));
    } else if (!p.joined) {
      // Collected in the end, but late, and not by a join(): say by what, as the tree does.
      hints.push(hint(
        { kind: 'unjoined-child', pid: p.pid, processKey: p.key, severity: 'info', site: processSite(p) },
        lateCollection(p, seconds(zombie), parentText, live),
      ));
    }
  }
  return hints;
}

/** A zombie that was collected without a join(): the words name who collected it. */
function lateCollection(p: ProcessInfo, zombie: Phrase, parentText: PhraseArg, live: boolean): Phrase {
  // While the run lasts the parent may still join it; "never" only once it has ended.
  const args = [name(p), zombie, parentText] as const;
  switch (p.collectedBy) {
    case 'start':
      return live
        ? phrase('{0} stayed a zombie for {1} until a later start() in {2} collected it; {2} has not joined it. Call join() on every child you start, once it is done.', ...args)
        : phrase('{0} stayed a zombie for {1} until a later start() in {2} collected it; {2} never joined it. Call join() on every child you start, once it is done.', ...args);
    case 'active_children':
      return live
        ? phrase('{0} stayed a zombie for {1} until active_children() in {2} collected it; {2} has not joined it. Call join() on every child you start, once it is done.', ...args)
        : phrase('{0} stayed a zombie for {1} until active_children() in {2} collected it; {2} never joined it. Call join() on every child you start, once it is done.', ...args);
    case 'poll':
      return live
        ? phrase('{0} stayed a zombie for {1} until is_alive() or exitcode in {2} collected it; {2} has not joined it. Call join() on every child you start, once it is done.', ...args)
        : phrase('{0} stayed a zombie for {1} until is_alive() or exitcode in {2} collected it; {2} never joined it. Call join() on every child you start, once it is done.', ...args);
    case 'exit':
      return phrase('{0} stayed a zombie for {1} until the exit handler of {2} collected it at its end; {2} never joined it. Call join() on every child you start, once it is done.', ...args);
    default:
      return live
        ? phrase('{0} stayed a zombie for {1}; {2} has not joined it. Call join() on every child you start, once it is done.', ...args)
        : phrase('{0} stayed a zombie for {1}; {2} never joined it. Call join() on every child you start, once it is done.', ...args);
  }
}

function queueFullBlocked({ model, now, live, tracker, o }: Ctx): Hint[] {
  const hints: Hint[] = [];
  for (const q of model.queues()) {
    const since = tracker.queue(q.key)?.fullSince;
    if (since === null || since === undefined || q.maxsize <= 0 || q.depth < q.maxsize) continue;
    const full = now - since;
    if (full < o.queueFullMs) continue;
    const owner = model.processByPid(q.ownerPid);
    const args = [q.kind, q.id, siteText(q.site), q.depth, q.maxsize, seconds(full)];
    hints.push(hint(
      { kind: 'queue-full-blocked', queueId: q.id, pid: q.ownerPid, processKey: owner?.key, site: q.site ?? undefined, severity: 'warning' },
      live
        ? phrase('{0} {1}{2} has been full ({3}/{4}) for {5}: a put() on it blocks until a consumer calls get() (put_nowait() raises queue.Full instead). Check that a consumer is running and reading, or raise maxsize.', ...args)
        : phrase('{0} {1}{2} stayed full ({3}/{4}) for the last {5} of the run: any put() on it in that time had to wait for a get(). Make sure consumers keep reading until every producer is done.', ...args),
    ));
  }
  return hints;
}

function queueEmptyNoProducers({ model, now, live, tracker, o, processes }: Ctx): Hint[] {
  if (!live) return [];
  const hints: Hint[] = [];
  for (const q of model.queues() as QueueFacts[]) {
    const track = tracker.queue(q.key);
    if (!track || q.depth > 0 || q.puts === 0 || track.lastPutAt === null) continue;
    if (now - track.lastActivityAt < o.queueEmptyMs) continue;
    let producers: ProcessInfo[];
    let waiting: ProcessInfo[];
    if (q.putters && q.putters.length > 0) {
      producers = q.putters.map((pid) => model.processByPid(pid)).filter((p): p is ProcessInfo => p !== undefined);
      if (producers.length === 0 || producers.some((p) => p.state === 'running')) continue;
      const getters = new Set(q.getters ?? []);
      const others = processes.filter((p) => p.state === 'running' && p.kind !== 'helper' && !q.putters!.includes(p.pid));
      if (getters.size > 0) waiting = others.filter((p) => getters.has(p.pid));
      // Who gets is not known (a Queue's gets are not counted): as without putters, only a
      // running child is taken for a consumer; the main program is usually in join() or done.
      else waiting = others.filter((p) => p.kind === 'process');
    } else {
      // Without per-process counts: a child that finished right after the last put is taken for
      // the producer (a producer that puts its last item and returns exits within moments).
      const lastPut = track.lastPutAt;
      producers = processes.filter(
        (p) => p.kind === 'process' && p.state !== 'running' && p.exitedAt !== null && p.exitedAt >= lastPut - 200 && p.exitedAt <= lastPut + 2000,
      );
      if (producers.length === 0) continue;
      waiting = processes.filter((p) => p.state === 'running' && p.kind === 'process');
    }
    if (waiting.length === 0) continue;
    const consumer = waiting[0];
    const args = [q.kind, q.id, siteText(q.site), nameList(producers), name(consumer)];
    // Producers the runtime counted puts for are named as such; without per-process counts
    // they are only the children that ended right after the last put, and said so.
    const known = q.putters !== undefined && q.putters.length > 0;
    hints.push(hint(
      { kind: 'queue-empty-no-producers', queueId: q.id, pid: consumer.pid, processKey: consumer.key, site: q.site ?? undefined, severity: 'warning' },
      known
        ? producers.length === 1
          ? phrase('{0} {1}{2} is empty and its producer {3} has exited, while {4} is still running: a get() without a timeout on it would wait forever. Have each producer put a sentinel (e.g. None) per consumer when done, or use get(timeout=…).', ...args)
          : phrase('{0} {1}{2} is empty and its producers {3} have exited, while {4} is still running: a get() without a timeout on it would wait forever. Have each producer put a sentinel (e.g. None) per consumer when done, or use get(timeout=…).', ...args)
        : phrase('{0} {1}{2} is empty and {3}, which ended right after its last put (probably its producer), has exited, while {4} is still running: a get() without a timeout on it would wait forever. Have each producer put a sentinel (e.g. None) per consumer when done, or use get(timeout=…).', ...args),
    ));
  }
  return hints;
}

/**
 * When a process's own code finished and multiprocessing's exit handler began: reported by the
 * runtime (`codeDoneAt`) or inferred from the handler's first act, which sends SIGTERM to every
 * daemonic child still running, all at once.
 */
export function exitPhaseStart(model: HintModelView, parent: ProcessInfo): number | null {
  const reported = (parent as ProcessFacts).codeDoneAt;
  if (typeof reported === 'number') return reported;
  const children = model.children(parent.key);
  const daemons = children.filter((c) => c.daemon && (c.kind === 'process' || c.kind === 'pool-worker'));
  const killed = daemons.filter((c) => c.exitCode === SIGTERM && c.exitedAt !== null);
  if (killed.length === 0) return null;
  const t0 = Math.min(...killed.map((c) => c.exitedAt!));
  const window = t0 + 1000;
  // Every daemon alive at that moment must have been killed with the others.
  for (const c of daemons) {
    const aliveAtT0 = c.startedAt < t0 && (c.exitedAt === null || c.exitedAt > window);
    if (aliveAtT0) return null;
  }
  // The parent's code was over: it started nothing after.
  if (children.some((c) => c.startedAt > t0 + 50 && c.kind !== 'os')) return null;
  // Nor did it exit much later than its remaining non-daemon children (it only waited for them).
  if (parent.state !== 'running' && parent.exitedAt !== null) {
    const lastChildEnd = Math.max(t0, ...children.filter((c) => !c.daemon && c.exitedAt !== null).map((c) => c.exitedAt!));
    if (parent.exitedAt - lastChildEnd > 1500) return null;
  }
  return t0;
}

function exitPhaseHints({ model, processes, now, live, o }: Ctx): Hint[] {
  const hints: Hint[] = [];
  const parents = new Set<string>();
  for (const p of processes) if (p.parentKey && (p.kind === 'process' || p.kind === 'pool-worker')) parents.add(p.parentKey);
  for (const parentKey of parents) {
    const parent = model.get(parentKey);
    if (!parent) continue;
    const t0 = exitPhaseStart(model, parent);
    if (t0 === null) continue;
    for (const c of model.children(parentKey)) {
      if (c.kind !== 'process') continue;
      if (c.daemon && c.exitCode === SIGTERM && c.exitedAt !== null && c.exitedAt >= t0 - 10) {
        hints.push(hint(
          { kind: 'daemon-killed-with-parent', pid: c.pid, processKey: c.key, site: processSite(c), severity: 'info' },
          phrase('Daemon {0} was terminated (SIGTERM) because {1} reached the end of its code: daemonic children do not outlive their parent. If it had work to finish, make it non-daemon and join() it, or tell it to stop (an Event or a sentinel) and join() it.', name(c), name(parent)),
        ));
      } else if (!c.daemon && c.startedAt < t0) {
        const end = c.state === 'running' ? (live ? now : null) : c.exitedAt;
        if (end === null || end - t0 < o.exitBlockMs) continue;
        const still = c.state === 'running' && parent.state === 'running' && live;
        hints.push(hint(
          { kind: 'non-daemon-blocks-exit', pid: c.pid, processKey: c.key, site: processSite(c), severity: still ? 'warning' : 'info' },
          still
            ? phrase('{0} has finished its code but cannot exit: it waits for non-daemon child {1}, still running after {2}. join() it where you expect it to end, tell it to stop, or make it a daemon if it may be killed.', name(parent), name(c), seconds(end - t0))
            : phrase('{0} finished its code but could not exit for {1}: it waited for non-daemon child {2}. join() children explicitly where you expect them to end.', name(parent), seconds(end - t0), name(c)),
        ));
      }
    }
  }
  return hints;
}

function poolNotClosed({ model, live }: Ctx): Hint[] {
  const hints: Hint[] = [];
  for (const pool of model.pools()) {
    if (pool.state !== 'running') continue;
    const owner = model.processByPid(pool.ownerPid);
    const ownerDone = owner ? owner.state !== 'running' : !live;
    if (!ownerDone && live) continue;
    hints.push(hint(
      { kind: 'pool-not-closed', poolId: pool.id, pid: pool.ownerPid, processKey: owner?.key, site: pool.site ?? undefined, severity: 'warning' },
      pool.kind === 'Pool'
        ? phrase('Pool {0}{1} was never closed or joined: {2}{3}. Call pool.close() then pool.join() when done submitting, or use `with Pool() as pool:` and get every result inside the block.', pool.id, siteText(pool.site), workerFates(model, pool), pendingText(pool.pending))
        : phrase('ProcessPoolExecutor {0}{1} was never shut down. Call executor.shutdown() when done, or use it in a `with` block.', pool.id, siteText(pool.site)),
    ));
  }
  return hints;
}

/** What became of a pool's workers, from the tree itself (never what usually happens). */
function workerFates(model: Ctx['model'], pool: PoolInfo): Phrase {
  // Counted by the English words of each fate; the phrase is kept to be shown in the user's.
  const fates = new Map<string, { fate: Phrase; count: number }>();
  for (const pid of pool.workers) {
    const w = model.processByPid(pid);
    const fate = !w || (w.state === 'exited' && w.exitCode === null) ? phrase('ended (how is unknown)') : w.state === 'running' ? phrase('still running') : w.signal ? phrase('killed by {0}', w.signal) : phrase('exited {0}', String(w.exitCode));
    const key = render(fate);
    const seen = fates.get(key);
    if (seen) seen.count++;
    else fates.set(key, { fate, count: 1 });
  }
  if (fates.size === 0) return phrase('it has no workers');
  const n = pool.workers.length;
  if (fates.size > 1) {
    const parts = [...fates.values()].map(({ fate, count }) => phrase('{0} {1}', count, fate));
    const list = parts.reduce((all, part) => phrase('{0}, {1}', all, part));
    return phrase('of its {0} workers, {1}', n, list);
  }
  const [{ fate }] = fates.values();
  const subject = n === 1 ? phrase('its worker') : phrase('its {0} workers', n);
  const key = render(fate);
  if (key.startsWith('killed')) {
    return n === 1
      ? phrase('{0} was {1} at exit, and a task still queued would have been lost silently', subject, fate)
      : phrase('{0} were {1} at exit, and a task still queued would have been lost silently', subject, fate);
  }
  if (key === 'still running') return n === 1 ? phrase('{0} is still running', subject) : phrase('{0} are still running', subject);
  return phrase('{0} {1}', subject, fate);
}

/** The tasks a pool left pending, as the tail of its hint (nothing when none). */
function pendingText(pending: number): PhraseArg {
  if (pending <= 0) return '';
  return pending === 1 ? phrase('; 1 task was still pending') : phrase('; {0} tasks were still pending', pending);
}

function missingMainGuard({ model, processes, o, run }: Ctx): Hint[] {
  const hints: Hint[] = [];
  const byParent = new Map<string, ProcessInfo[]>();
  for (const p of processes) {
    if ((p.kind !== 'process' && p.kind !== 'pool-worker') || !p.parentKey) continue;
    if (p.startMethod !== 'spawn' && p.startMethod !== 'forkserver') continue;
    let list = byParent.get(p.parentKey);
    if (!list) byParent.set(p.parentKey, (list = []));
    list.push(p);
  }
  const queues = model.queues();
  const pools = model.pools();
  for (const [parentKey, children] of byParent) {
    const parent = model.get(parentKey);
    if (!parent) continue;
    const quick = children.filter((c) => c.exitCode === 1 && c.exitedAt !== null && c.exitedAt - (c.createdAt ?? c.startedAt) <= o.bootstrapMs);
    if (quick.length === 0) continue;
    const parentSites = new Set<string>();
    for (const x of [...queues, ...pools]) if (x.ownerPid === parent.pid && x.site) parentSites.add(x.site);
    // Strong evidence: the child re-ran the parent's top-level code (it made the same queue or
    // pool at the same line), or it never reached Process._bootstrap (still named MainProcess).
    const reran = (c: ProcessInfo) =>
      [...queues, ...pools].some((x) => x.ownerPid === c.pid && x.site !== null && (parentSites.has(x.site) || sameFile(x.site, run.script)));
    const strong = quick.filter((c) => reran(c) || (c.kind === 'process' && c.name === 'MainProcess'));
    const finished = children.filter((c) => c.state !== 'running');
    // Weaker: every spawn child of this parent that ended died at once with exit code 1.
    const all = finished.length >= 1 && quick.length === finished.length;
    if (strong.length === 0 && !all) continue;
    const first = strong[0] ?? quick[0];
    const method = first.startMethod;
    const who = quick.length === 1 ? capitalName(first) : phrase('{0} children of {1}', quick.length, name(parent));
    const methodName = method ?? '?';
    hints.push(hint(
      { kind: 'missing-main-guard', pid: first.pid, processKey: first.key, site: firstSite(strong, queues, pools) ?? processSite(first), severity: 'warning' },
      strong.some(reran)
        ? phrase('{0} exited with code 1 right after starting under the \'{1}\' start method, after re-running the main script. A \'{1}\' child imports your main module again; without `if __name__ == "__main__":` around the code that starts processes, the child tries to start them too and fails ("An attempt has been made to start a new process before the current process has finished its bootstrapping phase"). Put that code under the guard.', who, methodName)
        : strong.length > 0
        ? phrase('{0} exited with code 1 right after starting under the \'{1}\' start method, before it reached its target (it was still named MainProcess). A \'{1}\' child imports your main module again; without `if __name__ == "__main__":` around the code that starts processes, the child tries to start them too and fails ("An attempt has been made to start a new process before the current process has finished its bootstrapping phase"). Put that code under the guard.', who, methodName)
        : phrase('{0} exited with code 1 right after starting under the \'{1}\' start method: probably a missing main guard. A \'{1}\' child imports your main module again; without `if __name__ == "__main__":` around the code that starts processes, the child tries to start them too and fails ("An attempt has been made to start a new process before the current process has finished its bootstrapping phase"). Put that code under the guard.', who, methodName),
    ));
  }
  return hints;
}

function firstSite(children: ProcessInfo[], queues: QueueInfo[], pools: PoolInfo[]): string | undefined {
  for (const c of children) {
    const x = [...queues, ...pools].find((y) => y.ownerPid === c.pid && y.site);
    if (x?.site) return x.site;
  }
  return undefined;
}

function sameFile(site: string, script: string): boolean {
  const parsed = parseSite(site);
  return parsed !== null && parsed.file === script;
}

/**
 * The deadlocks of the run (src/core/deadlocks.ts): while it lives, those found now; once it
 * ended (it was stopped, its waits are gone), every one found while it lived.
 */
function deadlockHints({ model, live, now }: Ctx): Hint[] {
  const found = live ? model.deadlocks?.(now) ?? [] : model.deadlocksSeen?.() ?? [];
  return found.map((d) => deadlockHint(d));
}

export function deadlockHint(d: Deadlock): Hint {
  return {
    kind: 'deadlock',
    pid: d.pids[0],
    processKey: d.processKeys[0],
    processKeys: [...d.processKeys],
    site: d.sites[0],
    sites: [...d.sites],
    severity: 'error',
    message: d.message,
    text: d.text,
  };
}
