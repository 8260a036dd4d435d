// Words and numbers shown for each node. Kept apart from the TreeDataProvider (and free of
// `vscode`) so what the user reads can be checked without a tree; the words come from the
// Localizer the caller passes (vscode.l10n.t in the extension).

import type { HintKind } from '../../core/hints';
import { poolHeaderParts } from '../../core/poolText';
import type { PoolInfo, ProcessInfo, QueueInfo, RunInfo } from '../../core/types';
import { english, type Localizer } from '../../core/l10n';
import { poolStateText } from '../../core/renderTree';
import { formatCpuSeconds, liveTotalsText, usageParts, type UsageTotals } from '../../core/usageText';
import { activityWords, durationText, type WaitTextView } from '../../core/waitText';

function helperRole(role: string | null | undefined, t: Localizer): string {
  if (role === 'resource-tracker') return t('helper: resource tracker');
  if (role === 'forkserver') return t('helper: forkserver');
  if (role === 'manager') return t('helper: Manager server');
  return t('helper: multiprocessing');
}

/** `exit 0`, `exit 3`, `SIGTERM`, `zombie — not joined`, or `running`. */
export function processStateText(p: ProcessInfo, t: Localizer = english): string {
  if (p.state === 'running') return p.paused ? t('paused ({0})', p.paused) : t('running');
  const end = exitText(p.exitCode, p.signal, t);
  // A zombie has exited but nobody collected it: the fix is a join() in the parent.
  if (p.state === 'zombie') return end ? t('zombie — not joined ({0})', end) : t('zombie — not joined');
  return end ?? t('exited');
}

export function exitText(exitCode: number | null, signal: string | null, t: Localizer = english): string | null {
  if (signal) return signal;
  if (exitCode === null) return null;
  if (exitCode < 0) return t('signal {0}', -exitCode);
  return t('exit {0}', exitCode);
}

/**
 * `pid 4242 · waiting: Queue.get q4242-1 · 12 s`: a running process that waits (or a worker
 * with a task) says so instead of `running`; `view` names a lock's holder and a joined process.
 */
export function processDescription(p: ProcessInfo, t: Localizer = english, view?: WaitTextView, now = Date.now()): string {
  // Labelled: a bare number beside a name reads as a count or an id of ours, not the OS pid.
  const parts: string[] = [t('pid {0}', p.pid)];
  // Pool workers are always daemons; saying so on each would crowd out what differs.
  if (p.daemon && p.kind !== 'pool-worker') parts.push(t('daemon'));
  if (p.kind === 'helper') parts.push(helperRole(p.role, t));
  if (!p.instrumented) parts.push(t('OS only'));
  if (p.orphaned && p.state === 'running') parts.push(t('orphaned'));
  const activity = p.paused || !view ? '' : activityWords(p, view, now, t);
  parts.push(activity || processStateText(p, t));
  // `98 % · 212 MB` while it runs, `3.0 s CPU · 312 MB peak` once it ended (what is known).
  parts.push(...usageParts(p, t));
  return parts.join(' · ');
}

export function processLabel(p: ProcessInfo): string {
  return p.name || basename(p.command ?? '') || `pid ${p.pid}`;
}

export function queueDescription(q: QueueInfo, t: Localizer = english): string {
  const parts = [`${q.depth} / ${q.maxsize > 0 ? q.maxsize : '∞'}`, t('{0} put', q.puts), t('{0} got', q.gets)];
  if (q.unfinished !== null) parts.push(t('{0} unfinished', q.unfinished));
  // file:line is in the tooltip: at the end of the row it was what got cut off.
  return parts.join(' · ');
}

/**
 * The row's label for a queue or pool: its kind, and its id when a sibling of the same kind
 * would otherwise read the same (the runtime reports no variable name).
 */
export function distinctLabel(item: { kind: string; id: string }, siblings: ReadonlyArray<{ kind: string; id: string }>): string {
  const twin = siblings.some((other) => other.id !== item.id && other.kind === item.kind);
  return twin ? `${item.kind} ${item.id}` : item.kind;
}

/** A hint in a few words, for the end of a row; the tooltip has the whole sentence. */
export function hintShortText(kind: HintKind, t: Localizer = english): string {
  switch (kind) {
    case 'unjoined-child':
      return t('not joined');
    case 'queue-full-blocked':
      return t('full, put() blocked');
    case 'queue-empty-no-producers':
      return t('empty, no producer left');
    case 'non-daemon-blocks-exit':
      return t('keeps the program from exiting');
    case 'daemon-killed-with-parent':
      return t('daemon killed with its parent');
    case 'pool-not-closed':
      return t('pool never closed');
    case 'missing-main-guard':
      return t("no if __name__ == '__main__' guard");
    case 'deadlock':
      return t('deadlock');
  }
}

export function queueIsFull(q: QueueInfo): boolean {
  return q.maxsize > 0 && q.depth >= q.maxsize;
}

export function poolDescription(p: PoolInfo, liveWorkers: number, workers: readonly ProcessInfo[] = [], t: Localizer = english): string {
  const [size, ...counts] = poolHeaderParts(p, t);
  const parts = [size, t('{0} alive', liveWorkers)];
  // Busy: a task running past the threshold (shorter ones are not reported, so a worker
  // between quick tasks counts as idle); said once the runtime reports workers' tasks at all.
  const reportsTasks = workers.some((w) => w.task != null || (w.tasksDone ?? 0) > 0);
  if (liveWorkers > 0 && p.state === 'running' && reportsTasks) {
    const busy = workers.filter((w) => w.state === 'running' && w.task != null).length;
    parts.push(t('{0} busy', busy), t('{0} idle', Math.max(0, liveWorkers - busy)));
  }
  parts.push(...counts);
  const spread = workerCpuText(workers, t);
  if (spread) parts.push(spread);
  if (p.state !== 'running') parts.push(poolStateText(p.state, t));
  return parts.join(' · ');
}

/**
 * Each worker's CPU side by side, so an uneven pool shows at a glance: `CPU 98 / 3 / 2 %`
 * for the running workers while any is measured, else `CPU 3.0 / 0.1 s` for those that ended.
 */
export function workerCpuText(workers: readonly ProcessInfo[], t: Localizer = english): string {
  const live = workers.filter((w) => w.state === 'running' && w.cpuPercent != null).map((w) => Math.round(w.cpuPercent!));
  if (live.length > 0) return t('CPU {0} %', live.join(' / '));
  const ended = workers.filter((w) => w.state !== 'running' && w.cpuSeconds != null).map((w) => w.cpuSeconds!.toFixed(1));
  return ended.length > 0 ? t('CPU {0} s', ended.join(' / ')) : '';
}

export function runLabel(run: RunInfo): string {
  return basename(run.script) || run.script;
}

export function runDescription(run: RunInfo, alive: number, total: number, now = Date.now(), usage?: UsageTotals, t: Localizer = english): string {
  const live = run.state === 'starting' || run.state === 'running';
  const parts: string[] = [];
  // The program's own processes can report before VS Code tells us the task's pid: then it
  // is plainly running, whatever the bookkeeping says.
  if (live) parts.push(run.state === 'running' || total > 0 ? t('running') : t('starting'));
  else if (run.state === 'failed') parts.push(t('failed'));
  else parts.push(exitText(run.exitCode, run.signal, t) ?? t('finished'));
  const elapsed = (run.endedAt ?? now) - run.startedAt;
  // A live run's text changes at most once a second, and once a minute after the first.
  parts.push(live ? formatElapsed(elapsed, t) : formatDuration(elapsed, t));
  const noun = (n: number) => (n === 1 ? t('1 process') : t('{0} processes', n));
  if (!live || alive === total) parts.push(noun(live ? alive : total));
  else parts.push(t('{0}, {1} alive', noun(total), alive));
  // The run's totals: what its running processes use now, or what its processes used in all.
  if (usage && live && usage.measured) parts.push(liveTotalsText(usage));
  else if (usage && !live && usage.ended) parts.push(t('{0} CPU', formatCpuSeconds(usage.cpuSeconds)));
  return parts.join(' · ');
}

export function formatElapsed(ms: number, t: Localizer): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return t('{0} s', s);
  const m = Math.floor(s / 60);
  return m < 60 ? t('{0} min', m) : t('{0} h {1} min', Math.floor(m / 60), m % 60);
}

export function formatDuration(ms: number, t: Localizer): string {
  return durationText(ms, t);
}

export function formatTime(t: number | null): string {
  if (t === null) return '—';
  const d = new Date(t);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function basename(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Escapes text for a Markdown table cell or line (names may be any Unicode, including `|`). */
export function md(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
