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
  /** Its waits past the threshold, `[since, end]`, end null while it lasts: drawn hatched on the bar. */
  waits: Array<[number, number | null]>;
}

export interface Series {
  id: string;
  /** usage-cpu, usage-memory: the run's running processes together (CPU % of one core, MB). */
  kind: 'queue' | 'pool' | 'usage-cpu' | 'usage-memory';
  label: string;
  /** maxsize of a bounded queue, pool size; 0: no fixed maximum. */
  limit: number;
  /** The highest value of its points, kept as they come (the chart's "max"). */
  peak: number;
  points: Array<[number, number]>;
}

/** One lane's own CPU and memory over time: [t, CPU % of one core, resident MB]. */
export type UsagePoint = [number, number, number];

/** A lane's usage points: all of them (`whole`), or those added since the last message. */
export interface LaneUsage {
  key: string;
  whole: boolean;
  points: UsagePoint[];
}

export interface TimelineRunInfo {
  title: string;
  startedAt: number;
  endedAt: number | null;
  live: boolean;
  readOnly: boolean;
}

export type ToWebview =
  | { type: 'reset'; seq: number; run: TimelineRunInfo; lanes: Lane[]; series: Series[]; usage: LaneUsage[]; now: number }
  | {
      type: 'update';
      seq: number;
      run: TimelineRunInfo;
      lanes: Lane[];
      order: string[] | null;
      series: Array<Pick<Series, 'id' | 'points' | 'peak'> & Partial<Series>>;
      usage: LaneUsage[];
      now: number;
    };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'reveal'; key: string }
  | { type: 'ack'; seq: number }
  | { type: 'drawn'; ms: number; lanes: number };

/** Samples kept per series in the webview's copy; older ones are thinned in the builder. */
const MAX_POINTS = 4000;
/** Usage points kept per lane (one per OS scan that moved it: ~15 min at 1 s before thinning). */
export const MAX_LANE_POINTS = 1000;
/** Waiting intervals kept per lane. */
const MAX_WAITS_PER_LANE = 500;

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
  private readonly laneUsage = new Map<string, UsagePoint[]>();
  private newUsage = new Map<string, UsagePoint[]>();
  /** Lanes whose usage was thinned since the last message: sent whole. */
  private wholeUsage = new Set<string>();

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
        for (const [key, cpu, rss] of e.processes ?? []) this.addUsage(key, [e.t, Math.round(cpu), Math.round(rss / 2 ** 20)]);
      }
    }
  }

  get hasChanges(): boolean {
    return this.dirtyLanes.size > 0 || this.newPoints.size > 0 || this.newUsage.size > 0 || this.structural;
  }

  private onProcess(key: string, patch: Partial<ProcessRecord>, t: number): void {
    const prev = this.records.get(key);
    const record = prev ? { ...prev, ...patch } : (patch as ProcessRecord);
    if (!prev && (typeof record.pid !== 'number' || typeof record.state !== 'string')) return;
    this.records.set(key, record);
    if (!prev || prev.parentKey !== record.parentKey) this.structural = true;
    const lane = this.lanes.get(key);
    const reapedAt = prev && prev.state !== 'exited' && record.state === 'exited' ? t : lane?.reapedAt ?? null;
    const waits = lane?.waits ?? [];
    if ('wait' in patch || 'state' in patch) this.followWait(waits, record, t);
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
      waits,
    });
    this.dirtyLanes.add(key);
  }

  /**
   * A lane's waiting time from its record's wait: a new wait opens an interval at the call's
   * start, its end (or the process's) closes it. Bounded: the oldest intervals are merged away.
   */
  private followWait(waits: Array<[number, number | null]>, record: ProcessRecord, t: number): void {
    const open = waits.length > 0 && waits[waits.length - 1][1] === null ? waits[waits.length - 1] : null;
    const wait = record.state === 'running' ? record.wait ?? null : null;
    if (open && (!wait || wait.since !== open[0])) open[1] = Math.max(open[0], record.state === 'running' ? t : record.exitedAt ?? t);
    if (wait && (!open || wait.since !== open[0])) waits.push([wait.since, null]);
    if (waits.length > MAX_WAITS_PER_LANE) {
      // Merge the two oldest: the early picture coarsens, the recent one stays exact.
      const [a, b] = waits.splice(0, 2);
      waits.unshift([a[0], b[1]]);
    }
  }

  private addPoint(kind: Series['kind'], id: string, t: number, value: number): void {
    const sid = `${kind}:${id}`;
    let s = this.series.get(sid);
    if (!s) {
      s = { id: sid, kind, label: this.label(kind, id), limit: this.limit(kind, id), peak: 0, points: [] };
      this.series.set(sid, s);
      this.structural = true;
    }
    const last = s.points[s.points.length - 1];
    if (last && last[0] === t) last[1] = value;
    else s.points.push([t, value]);
    // Thinning below drops points, never the peak: it is kept apart.
    if (value > s.peak) s.peak = value;
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

  /** A lane's own figures; bounded per lane, the older half thinned as the series are. */
  private addUsage(key: string, point: UsagePoint): void {
    let points = this.laneUsage.get(key);
    if (!points) this.laneUsage.set(key, (points = []));
    const last = points[points.length - 1];
    if (last && last[0] === point[0]) points[points.length - 1] = point;
    else points.push(point);
    if (points.length > MAX_LANE_POINTS) {
      const half = points.length >> 1;
      const thinned = [...points.slice(0, half).filter((_, i) => i % 2 === 0), ...points.slice(half)];
      this.laneUsage.set(key, thinned);
      this.wholeUsage.add(key);
      this.newUsage.delete(key);
    }
    if (this.wholeUsage.has(key)) return;
    let fresh = this.newUsage.get(key);
    if (!fresh) this.newUsage.set(key, (fresh = []));
    fresh.push(point);
  }

  /** A lane's usage points so far (oldest first). */
  usageOf(key: string): readonly UsagePoint[] {
    return this.laneUsage.get(key) ?? [];
  }

  private label(kind: Series['kind'], id: string): string {
    if (kind === 'usage-cpu') return this.t('Run CPU (% of one core)');
    if (kind === 'usage-memory') return this.t('Run memory (MB)');
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
    this.newUsage.clear();
    this.wholeUsage.clear();
    this.structural = false;
    return {
      type: 'reset',
      seq,
      run,
      lanes: order.map((key) => this.lanes.get(key)!),
      series: [...this.series.values()].map((s) => ({ ...s, points: [...s.points] })),
      usage: [...this.laneUsage].map(([key, points]) => ({ key, whole: true, points: [...points] })),
      now,
    };
  }

  /** The changes since the last reset/update, or null when there are none. */
  update(seq: number, run: TimelineRunInfo, now: number): ToWebview | null {
    const structural = this.structural;
    const order = structural ? this.order() : null;
    if (!this.hasChanges) return null;
    const lanes = [...this.dirtyLanes].map((key) => this.lanes.get(key)).filter((l): l is Lane => l !== undefined);
    const series = [...this.newPoints].map(([id, points]) => {
      const s = this.series.get(id)!;
      // A series thinned or first seen is sent whole; otherwise only its new points.
      return structural ? { ...s, points: [...s.points] } : { id, points, peak: s.peak };
    });
    const usage: LaneUsage[] = [
      ...[...this.wholeUsage].map((key) => ({ key, whole: true, points: [...(this.laneUsage.get(key) ?? [])] })),
      ...[...this.newUsage].map(([key, points]) => ({ key, whole: false, points })),
    ];
    this.dirtyLanes.clear();
    this.newPoints.clear();
    this.newUsage.clear();
    this.wholeUsage.clear();
    this.structural = false;
    return { type: 'update', seq, run, lanes, order, series, usage, now };
  }

  laneCount(): number {
    return this.lanes.size;
  }
}

function short(site: string): string {
  const i = Math.max(site.lastIndexOf('/'), site.lastIndexOf('\\'));
  return i >= 0 ? site.slice(i + 1) : site;
}
