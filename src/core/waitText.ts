// What a process waits on, and what a pool worker runs, in the words the tree, the CLI's tree
// and the tooltips use: `waiting: Queue.get q4242-1 · 12 s`, `waiting: Lock lock_a held by
// takes-b-then-a (app.py:13) · 3 s`, `crunch(7) · 3.2 s`. Free of `vscode`: the words come
// from the Localizer the caller passes.
import { english, type Localizer } from './l10n';
import type { LockInfo, ProcessInfo, SiteInfo, WaitInfo } from './types';

/** What the words read of the model; an imported run without locks still names the object by id. */
export interface WaitTextView {
  lock?(id: string): LockInfo | undefined;
  processByPid(pid: number): ProcessInfo | undefined;
}

/** `app.py:13`, or '' when the site is unknown. */
export function siteShort(site: SiteInfo | null | undefined): string {
  if (!site) return '';
  const file = site.file.slice(Math.max(site.file.lastIndexOf('/'), site.file.lastIndexOf('\\')) + 1);
  return `${file}:${site.line}`;
}

/** `3.2 s` under ten seconds, then `12 s`, `2 min 5 s`, `1 h 3 min`. */
export function durationText(ms: number, t: Localizer = english): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 10_000) return t('{0} s', (ms / 1000).toFixed(1));
  const s = Math.floor(ms / 1000);
  if (s < 60) return t('{0} s', s);
  const m = Math.floor(s / 60);
  if (m < 60) return t('{0} min {1} s', m, s % 60);
  return t('{0} h {1} min', Math.floor(m / 60), m % 60);
}

const ACQUIRE = /\.acquire$/;

/** The object of a wait: `Lock lock_a held by takes-b-then-a (app.py:13)`, `Queue.get q4242-1`, `Process.join worker (4243)`. */
export function waitObjectWords(w: WaitInfo, view: WaitTextView, t: Localizer = english): string {
  const o = w.object;
  if (o.kind === 'lock' && o.id !== null) {
    const lock = view.lock?.(o.id);
    const name = lock?.label ?? o.id;
    // An acquire is about the lock and its holder; a Condition/Event/Barrier wait about the call.
    const what = ACQUIRE.test(w.call) ? `${lock?.kind ?? w.call.replace(ACQUIRE, '')} ${name}` : `${w.call} ${name}`;
    const holders = lock?.holders.filter((h) => !(h.pid === w.pid && h.threadId === w.threadId)) ?? [];
    if (!ACQUIRE.test(w.call) || holders.length === 0) return what;
    const h = holders[0];
    const holder = view.processByPid(h.pid);
    const who = holder?.name || t('pid {0}', h.pid);
    const at = siteShort(h.site);
    const more = holders.length > 1 ? t(' and {0} more', holders.length - 1) : '';
    if (h.holderDead) return at ? t('{0} held by {1}, which died ({2}){3}', what, who, at, more) : t('{0} held by {1}, which died{2}', what, who, more);
    return at ? t('{0} held by {1} ({2}){3}', what, who, at, more) : t('{0} held by {1}{2}', what, who, more);
  }
  if (o.kind === 'process' && o.pid !== null) {
    const p = view.processByPid(o.pid);
    return p ? `${w.call} ${p.name || o.pid} (${o.pid})` : `${w.call} ${o.pid}`;
  }
  const id = o.id ?? o.address;
  return id ? `${w.call} ${id}` : w.call;
}

/** `waiting: Queue.get q4242-1 · 12 s`. */
export function waitWords(w: WaitInfo, view: WaitTextView, now: number, t: Localizer = english): string {
  return `${t('waiting: {0}', waitObjectWords(w, view, t))} · ${durationText(now - w.since, t)}`;
}

/** `crunch(7) · 3.2 s`. */
export function taskWords(p: Pick<ProcessInfo, 'task'>, now: number, t: Localizer = english): string {
  return p.task ? `${p.task.call} · ${durationText(now - p.task.since, t)}` : '';
}

/** A running process's activity instead of `running`: its wait, else its task; '' when neither. */
export function activityWords(p: ProcessInfo, view: WaitTextView, now: number, t: Localizer = english): string {
  if (p.state !== 'running') return '';
  const parts = [taskWords(p, now, t), p.wait ? waitWords(p.wait, view, now, t) : ''].filter((s) => s !== '');
  return parts.join(' · ');
}
