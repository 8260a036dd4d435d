// Words and numbers shown for each node. Kept apart from the TreeDataProvider (and free of
// `vscode`) so what the user reads can be checked without a tree.

import type { HintKind } from '../../core/hints';
import { poolHeaderParts } from '../../core/poolText';
import type { PoolInfo, ProcessInfo, QueueInfo, RunInfo } from '../../core/types';
import { formatCpuSeconds, liveTotalsText, usageParts, type UsageTotals } from '../../core/usageText';

/**
 * vscode.l10n where VS Code is (the tree passes it in), plain English formatting where it is
 * not (unit tests): this file stays free of `vscode` and its words are still translated.
 */
export interface Localize {
  t(message: string, ...args: Array<string | number | boolean>): string;
}
export const english: Localize = {
  t: (message, ...args) => message.replace(/\{(\d+)\}/g, (whole, i: string) => (Number(i) < args.length ? String(args[Number(i)]) : whole)),
};

const HELPER_ROLES: Record<string, string> = {
  'resource-tracker': 'resource tracker',
  forkserver: 'forkserver',
  manager: 'Manager server',
};

/** `exit 0`, `exit 3`, `SIGTERM`, `zombie — not joined`, or `running`. */
export function processStateText(p: ProcessInfo): string {
  if (p.state === 'running') return p.paused ? `paused (${p.paused})` : 'running';
  const end = exitText(p.exitCode, p.signal);
  // A zombie has exited but nobody collected it: the fix is a join() in the parent.
  if (p.state === 'zombie') return end ? `zombie — not joined (${end})` : 'zombie — not joined';
  return end ?? 'exited';
}

export function exitText(exitCode: number | null, signal: string | null): string | null {
  if (signal) return signal;
  if (exitCode === null) return null;
  if (exitCode < 0) return `signal ${-exitCode}`;
  return `exit ${exitCode}`;
}

export function processDescription(p: ProcessInfo, l10n: Localize = english): string {
  // Labelled: a bare number beside a name reads as a count or an id of ours, not the OS pid.
  const parts: string[] = [l10n.t('pid {0}', p.pid)];
  // Pool workers are always daemons; saying so on each would crowd out what differs.
  if (p.daemon && p.kind !== 'pool-worker') parts.push('daemon');
  if (p.kind === 'helper') parts.push(`helper: ${HELPER_ROLES[p.role ?? ''] ?? 'multiprocessing'}`);
  if (!p.instrumented) parts.push('OS only');
  if (p.orphaned && p.state === 'running') parts.push('orphaned');
  parts.push(processStateText(p));
  // `98 % · 212 MB` while it runs, `3.0 s CPU · 312 MB peak` once it ended (what is known).
  parts.push(...usageParts(p));
  return parts.join(' · ');
}

export function processLabel(p: ProcessInfo): string {
  return p.name || basename(p.command ?? '') || `pid ${p.pid}`;
}

export function queueDescription(q: QueueInfo): string {
  const parts = [`${q.depth} / ${q.maxsize > 0 ? q.maxsize : '∞'}`, `${q.puts} put`, `${q.gets} got`];
  if (q.unfinished !== null) parts.push(`${q.unfinished} unfinished`);
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
export function hintShortText(kind: HintKind, l10n: Localize = english): string {
  switch (kind) {
    case 'unjoined-child':
      return l10n.t('not joined');
    case 'queue-full-blocked':
      return l10n.t('full, put() blocked');
    case 'queue-empty-no-producers':
      return l10n.t('empty, no producer left');
    case 'non-daemon-blocks-exit':
      return l10n.t('keeps the program from exiting');
    case 'daemon-killed-with-parent':
      return l10n.t('daemon killed with its parent');
    case 'pool-not-closed':
      return l10n.t('pool never closed');
    case 'missing-main-guard':
      return l10n.t("no if __name__ == '__main__' guard");
  }
}

export function queueIsFull(q: QueueInfo): boolean {
  return q.maxsize > 0 && q.depth >= q.maxsize;
}

export function poolDescription(p: PoolInfo, liveWorkers: number, workers: readonly ProcessInfo[] = []): string {
  const [size, ...counts] = poolHeaderParts(p);
  const parts = [size, `${liveWorkers} alive`, ...counts];
  const spread = workerCpuText(workers);
  if (spread) parts.push(spread);
  if (p.state !== 'running') parts.push(p.state);
  return parts.join(' · ');
}

/**
 * Each worker's CPU side by side, so an uneven pool shows at a glance: `CPU 98 / 3 / 2 %`
 * for the running workers while any is measured, else `CPU 3.0 / 0.1 s` for those that ended.
 */
export function workerCpuText(workers: readonly ProcessInfo[]): string {
  const live = workers.filter((w) => w.state === 'running' && w.cpuPercent != null).map((w) => Math.round(w.cpuPercent!));
  if (live.length > 0) return `CPU ${live.join(' / ')} %`;
  const ended = workers.filter((w) => w.state !== 'running' && w.cpuSeconds != null).map((w) => w.cpuSeconds!.toFixed(1));
  return ended.length > 0 ? `CPU ${ended.join(' / ')} s` : '';
}

export function runLabel(run: RunInfo): string {
  return basename(run.script) || run.script;
}

export function runDescription(run: RunInfo, alive: number, total: number, now = Date.now(), usage?: UsageTotals): string {
  const live = run.state === 'starting' || run.state === 'running';
  const parts: string[] = [];
  // The program's own processes can report before VS Code tells us the task's pid: then it
  // is plainly running, whatever the bookkeeping says.
  if (live) parts.push(run.state === 'starting' && total > 0 ? 'running' : run.state);
  else if (run.state === 'failed') parts.push('failed');
  else parts.push(exitText(run.exitCode, run.signal) ?? 'finished');
  const elapsed = (run.endedAt ?? now) - run.startedAt;
  // A live run's text changes at most once a second, and once a minute after the first.
  parts.push(live ? formatElapsed(elapsed) : formatDuration(elapsed));
  const noun = (n: number) => (n === 1 ? '1 process' : `${n} processes`);
  if (!live || alive === total) parts.push(noun(live ? alive : total));
  else parts.push(`${noun(total)}, ${alive} alive`);
  // The run's totals: what its running processes use now, or what its processes used in all.
  if (usage && live && usage.measured) parts.push(liveTotalsText(usage));
  else if (usage && !live && usage.ended) parts.push(`${formatCpuSeconds(usage.cpuSeconds)} CPU`);
  return parts.join(' · ');
}

export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
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
