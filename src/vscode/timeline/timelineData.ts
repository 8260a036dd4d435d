// What the timeline webview draws, built from a run's history events (live: as RunHistory
// records them; imported: the file's events). No `vscode` import: the same builder serves live
// and imported runs and is unit-testable. The webview receives a `reset` with everything, then
// `update`s with the lanes that changed and the samples added since the last one.
import type { HistoryEvent, ProcessRecord } from '../../core/history';
import type { PoolInfo, ProcessKind, ProcessState, QueueInfo } from '../../core/types';
import { english, type Localizer } from '../../core/l10n';

export interface Lane {
  key: string;
  pid: number;
  name: string;
  parentKey: string | null;
  depth: number;
  kind: ProcessKind;
  daemon: boolean;
  /** When the process came to be (or was first seen). */
  start: number;
  /** When it exited (became a zombie or was gone); null while running. */
  exitedAt: number | null;
  /** When its parent collected it (zombie → exited); null while unknown or not yet. */
  reapedAt: number | null;
  state: ProcessState;
  exitCode: number | null;
  signal: string | null;
  /** The first hint about it, in words; null when none. */
  hint: string | null;
}

export interface Series {
  id: string;
  /** usage-cpu, usage-memory: the run's running processes together (CPU % of one core, MB). */
  kind: 'queue' | 'pool' | 'usage-cpu' | 'usage-memory';
  label: string;
  /** maxsize of a bounded queue, pool size; 0: no fixed maximum. */
  limit: number;
  points: Array<[number, number]>;
}

export interface TimelineRunInfo {
  title: string;
  startedAt: number;
  endedAt: number | null;
  live: boolean;
  readOnly: boolean;
}

export type ToWebview =
  | { type: 'reset'; seq: number; run: TimelineRunInfo; lanes: Lane[]; series: Series[]; now: number }
  | { type: 'update'; seq: number; run: TimelineRunInfo; lanes: Lane[]; order: string[] | null; series: Array<Pick<Series, 'id' | 'points'> & Partial<Series>>; now: number };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'reveal'; key: string }
  | { type: 'ack'; seq: number }
  | { type: 'drawn'; ms: number; lanes: number };

/** Samples kept per series in the webview's copy; older ones are thinned in the builder. */
const MAX_POINTS = 4000;

export class TimelineBuilder {
  /** The words of lane and chart labels (vscode.l10n.t from the panel). */
  constructor(private readonly t: Localizer = english) {}

  private readonly records = new Map<string, ProcessRecord>();
  private readonly lanes = new Map<string, Lane>();
  private readonly series = new Map<string, Series>();
  private readonly queueMeta = new Map<string, QueueInfo>();
  private readonly poolMeta = new Map<string, PoolInfo>();
  private orderCache: string[] | null = null;
  private dirtyLanes = new Set<string>();
  private newPoints = new Map<string, Array<[number, number]>>();
  private structural = false;
  private hintText = new Map<string, string>();

  /** Queue and pool names and limits; their samples arrive as events. */
  setMeta(queues: readonly QueueInfo[], pools: readonly PoolInfo[]): void {
    for (const q of queues) this.queueMeta.set(q.id, q);
    for (const p of pools) this.poolMeta.set(p.id, p);
  }

  setHints(byKey: ReadonlyMap<string, string>): void {
    for (const key of new Set([...this.hintText.keys(), ...byKey.keys()])) {
      const text = byKey.get(key) ?? null;
      if ((this.hintText.get(key) ?? null) === text) continue;
      if (text === null) this.hintText.delete(key);
      else this.hintText.set(key, text);
      const lane = this.lanes.get(key);
      if (lane) {
        lane.hint = text;
        this.dirtyLanes.add(key);
      }
    }
  }

  consume(events: readonly HistoryEvent[]): void {
    for (const e of events) {
      if (e.type === 'process') this.onProcess(e.key, e.patch, e.t);
      else if (e.type === 'queue') this.addPoint('queue', e.id, e.t, e.depth);
      else if (e.type === 'pool') this.addPoint('pool', e.id, e.t, e.pending);
      else if (e.type === 'usage') {
        this.addPoint('usage-cpu', 'run', e.t, Math.round(e.cpuPercent));
        this.addPoint('usage-memory', 'run', e.t, Math.round(e.rssBytes / 2 ** 20));
      }
    }
  }

  get hasChanges(): boolean {
    return this.dirtyLanes.size > 0 || this.newPoints.size > 0 || this.structural;
  }

  private onProcess(key: string, patch: Partial<ProcessRecord>, t: number): void {
    const prev = this.records.get(key);
    const record = prev ? { ...prev, ...patch } : (patch as ProcessRecord);
    if (!prev && (typeof record.pid !== 'number' || typeof record.state !== 'string')) return;
    this.records.set(key, record);
    if (!prev || prev.parentKey !== record.parentKey) this.structural = true;
    const lane = this.lanes.get(key);
    const reapedAt = prev && prev.state !== 'exited' && record.state === 'exited' ? t : lane?.reapedAt ?? null;
    this.lanes.set(key, {
      key,
      pid: record.pid,
      name: record.name || this.t('pid {0}', record.pid),
      parentKey: record.parentKey,
      depth: 0,
      kind: record.kind,
      daemon: record.daemon,
      start: record.createdAt ?? record.startedAt,
      exitedAt: record.exitedAt,
      // A zombie stage is drawn only when it was seen; a process that went straight to exited has none.
      reapedAt: record.state === 'exited' ? reapedAt ?? record.exitedAt : null,
      state: record.state,
      exitCode: record.exitCode,
      signal: record.signal,
      hint: this.hintText.get(key) ?? null,
    });
    this.dirtyLanes.add(key);
  }

  private addPoint(kind: Series['kind'], id: string, t: number, value: number): void {
    const sid = `${kind}:${id}`;
    let s = this.series.get(sid);
    if (!s) {
      s = { id: sid, kind, label: this.label(kind, id), limit: this.limit(kind, id), points: [] };
      this.series.set(sid, s);
      this.structural = true;
    }
    const last = s.points[s.points.length - 1];
    if (last && last[0] === t) last[1] = value;
    else s.points.push([t, value]);
    if (s.points.length > MAX_POINTS) {
      // Thin the older half: the recent shape stays exact.
      const half = s.points.length >> 1;
      s.points = [...s.points.slice(0, half).filter((_, i) => i % 2 === 0), ...s.points.slice(half)];
      this.structural = true;
    }
    let fresh = this.newPoints.get(sid);
    if (!fresh) this.newPoints.set(sid, (fresh = []));
    fresh.push([t, value]);
  }

  private label(kind: Series['kind'], id: string): string {
    if (kind === 'usage-cpu') return this.t('CPU of the running processes (% of one core)');
    if (kind === 'usage-memory') return this.t('Memory of the running processes (MB)');
    if (kind === 'queue') {
      const q = this.queueMeta.get(id);
      return q ? `${q.kind} ${id}${q.site ? ` · ${short(q.site)}` : ''}` : this.t('Queue {0}', id);
    }
    const p = this.poolMeta.get(id);
    return p ? `${this.t('{0} {1} pending', p.kind, id)}${p.site ? ` · ${short(p.site)}` : ''}` : this.t('Pool {0} pending', id);
  }

  private limit(kind: Series['kind'], id: string): number {
    return kind === 'queue' ? this.queueMeta.get(id)?.maxsize ?? 0 : 0;
  }

  /** Lanes in tree order (parents before children, depth-first), depths filled in. */
  private order(): string[] {
    if (this.orderCache && !this.structural) return this.orderCache;
    const children = new Map<string, string[]>();
    for (const lane of this.lanes.values()) {
      const parent = lane.parentKey !== null && this.lanes.has(lane.parentKey) && lane.parentKey !== lane.key ? lane.parentKey : '';
      let list = children.get(parent);
      if (!list) children.set(parent, (list = []));
      list.push(lane.key);
    }
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (parent: string, depth: number) => {
      for (const key of children.get(parent) ?? []) {
        if (seen.has(key)) continue;
        seen.add(key);
        const lane = this.lanes.get(key)!;
        if (lane.depth !== depth) {
          lane.depth = depth;
          this.dirtyLanes.add(key);
        }
        out.push(key);
        visit(key, depth + 1);
      }
    };
    visit('', 0);
    this.orderCache = out;
    return out;
  }

  reset(seq: number, run: TimelineRunInfo, now: number): ToWebview {
    const order = this.order();
    this.dirtyLanes.clear();
    this.newPoints.clear();
    this.structural = false;
    return {
      type: 'reset',
      seq,
      run,
      lanes: order.map((key) => this.lanes.get(key)!),
      series: [...this.series.values()].map((s) => ({ ...s, points: [...s.points] })),
      now,
    };
  }

  /** The changes since the last reset/update, or null when there are none. */
  update(seq: number, run: TimelineRunInfo, now: number): ToWebview | null {
    const structural = this.structural;
    const order = structural ? this.order() : null;
    if (!structural && this.dirtyLanes.size === 0 && this.newPoints.size === 0) return null;
    const lanes = [...this.dirtyLanes].map((key) => this.lanes.get(key)).filter((l): l is Lane => l !== undefined);
    const series = [...this.newPoints].map(([id, points]) => {
      const s = this.series.get(id)!;
      // A series thinned or first seen is sent whole; otherwise only its new points.
      return structural ? { ...s, points: [...s.points] } : { id, points };
    });
    this.dirtyLanes.clear();
    this.newPoints.clear();
    this.structural = false;
    return { type: 'update', seq, run, lanes, order, series, now };
  }

  laneCount(): number {
    return this.lanes.size;
  }
}

function short(site: string): string {
  const i = Math.max(site.lastIndexOf('/'), site.lastIndexOf('\\'));
  return i >= 0 ? site.slice(i + 1) : site;
}
