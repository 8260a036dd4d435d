// Hints where the user looks: a badge and a tooltip line on the process in the tree (through a
// FileDecorationProvider on the tree items' `mptree-process:` uris, beside the tree's own), and
// a diagnostic on the line of the program the hint is about. Recomputed on model changes
// (coalesced) and on a slow tick while a run is live (durations grow without any change).
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { computeHints, hintId, hintLine, hintProcessKeys, hintSites, hintText, HintTracker, parseSite, type Hint, type HintOptions } from '../../core/hints';
import type { ModelChange, ProcessInfo } from '../../core/types';
import { decorationUri } from '../tree/decorations';
import type { RunView } from '../tree/runView';
import type { HintModelView } from '../../core/hints';

const RECOMPUTE_MS = 250;
const TICK_MS = 1000;

export interface HintRun extends RunView {
  readonly info: RunView['info'];
  readonly model: RunView['model'] & HintModelView;
}

interface RunHints {
  run: HintRun;
  tracker: HintTracker;
  hints: Hint[];
  /** Hints carried by an imported file: shown as they are, never recomputed. */
  fixed: boolean;
}

export class HintsController implements vscode.FileDecorationProvider, vscode.Disposable {
  private readonly perRun = new Map<string, RunHints>();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('mptree');
  private readonly decorationEmitter = new vscode.EventEmitter<vscode.Uri[]>();
  readonly onDidChangeFileDecorations = this.decorationEmitter.event;
  private readonly changeEmitter = new vscode.EventEmitter<string>();
  /** A run's hints changed (its runId). */
  readonly onDidChangeHints = this.changeEmitter.event;
  private readonly byKey = new Map<string, Hint[]>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private tick: NodeJS.Timeout | undefined;

  constructor(private readonly options: Partial<HintOptions> = {}) {}

  /** Starts following a run (live or ended). */
  track(run: HintRun): void {
    if (this.perRun.has(run.info.runId)) return;
    this.perRun.set(run.info.runId, { run, tracker: new HintTracker(), hints: [], fixed: false });
    this.markDirty(run.info.runId);
    this.updateTick();
  }

  /** An imported run: its hints come from the file (what was seen while it ran). */
  trackFixed(run: HintRun, hints: readonly Hint[]): void {
    const entry: RunHints = { run, tracker: new HintTracker(), hints: [], fixed: true };
    this.perRun.set(run.info.runId, entry);
    this.apply(entry, [...hints]);
  }

  forget(runId: string): void {
    const entry = this.perRun.get(runId);
    if (!entry) return;
    this.apply(entry, []);
    this.perRun.delete(runId);
    this.updateTick();
  }

  onModelChange(runId: string, _change?: ModelChange): void {
    if (this.perRun.has(runId)) this.markDirty(runId);
  }

  hintsOf(runId: string): Hint[] {
    return this.perRun.get(runId)?.hints ?? [];
  }

  hintsForProcess(key: string): Hint[] {
    return this.byKey.get(key) ?? [];
  }

  /** One line per hint, for a tree tooltip (the lead's snippet in processTreeProvider uses it). */
  tooltipLines(key: string): string[] {
    return this.hintsForProcess(key).map((h) => hintLine(h, vscode.l10n.t));
  }

  /** Hint text per process key of a run, for the timeline's lanes. */
  textByKey(runId: string): Map<string, string> {
    const map = new Map<string, string>();
    for (const h of this.hintsOf(runId)) if (h.processKey && !map.has(h.processKey)) map.set(h.processKey, hintText(h, vscode.l10n.t));
    return map;
  }

  /** Recomputes now (tests; the command that exports a run). */
  recompute(runId: string): Hint[] {
    const entry = this.perRun.get(runId);
    if (!entry) return [];
    if (!entry.fixed) this.apply(entry, computeHints(entry.run.model, entry.run.info, Date.now(), entry.tracker, this.options));
    return entry.hints;
  }

  private markDirty(runId: string): void {
    this.dirty.add(runId);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const ids = [...this.dirty];
      this.dirty.clear();
      for (const id of ids) this.recompute(id);
    }, RECOMPUTE_MS);
  }

  private updateTick(): void {
    const anyLive = [...this.perRun.values()].some((e) => !e.fixed && (e.run.info.state === 'running' || e.run.info.state === 'starting'));
    // One more pass after the last run ends, so end-of-run hints (pool never closed) appear.
    if (!anyLive && this.tick) {
      clearInterval(this.tick);
      this.tick = undefined;
      for (const [id, e] of this.perRun) if (!e.fixed) this.markDirty(id);
    } else if (anyLive && !this.tick) {
      this.tick = setInterval(() => {
        for (const [id, e] of this.perRun) if (!e.fixed && (e.run.info.state === 'running' || e.run.info.state === 'starting')) this.markDirty(id);
        this.updateTick();
      }, TICK_MS);
    }
  }

  /** A run started or ended: the tick follows. */
  onRunChange(runId: string): void {
    if (this.perRun.has(runId)) this.markDirty(runId);
    this.updateTick();
  }

  private apply(entry: RunHints, hints: Hint[]): void {
    const before = new Set(entry.hints.map(hintId));
    const after = new Set(hints.map(hintId));
    const sameSet = before.size === after.size && [...before].every((id) => after.has(id));
    const sameText = sameSet && entry.hints.every((h, i) => hints[i]?.message === h.message);
    if (sameSet && sameText) return;
    // A deadlock names several processes: each gets its badge and tooltip line.
    const touched = new Set<string>();
    for (const h of entry.hints) for (const key of hintProcessKeys(h)) touched.add(key);
    for (const h of hints) for (const key of hintProcessKeys(h)) touched.add(key);
    entry.hints = hints;
    for (const key of touched) this.byKey.delete(key);
    for (const e of this.perRun.values()) for (const h of e.hints) for (const key of hintProcessKeys(h)) if (touched.has(key)) push(this.byKey, key, h);
    this.decorationEmitter.fire([...touched].map(decorationUri));
    this.updateDiagnostics();
    this.changeEmitter.fire(entry.run.info.runId);
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== 'mptree-process') return undefined;
    const hints = this.byKey.get(decodeURIComponent(uri.path.slice(1)));
    if (!hints || hints.length === 0) return undefined;
    const error = hints.some((h) => h.severity === 'error');
    const warning = hints.some((h) => h.severity === 'warning');
    return new vscode.FileDecoration(
      '!',
      hints.map((h) => hintText(h, vscode.l10n.t)).join('\n'),
      error ? new vscode.ThemeColor('list.errorForeground') : warning ? new vscode.ThemeColor('list.warningForeground') : undefined,
    );
  }

  private updateDiagnostics(): void {
    // The newest run of each script speaks for its files: an old run must not leave stale lines.
    const newest = new Map<string, RunHints>();
    for (const e of this.perRun.values()) {
      const prev = newest.get(e.run.info.script);
      if (!prev || prev.run.info.startedAt <= e.run.info.startedAt) newest.set(e.run.info.script, e);
    }
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const e of newest.values()) {
      for (const h of e.hints) {
        // A deadlock is about several lines (each wait, each holder's acquire): a problem on each.
        for (const at of locateAll(h, e.run)) {
          const range = new vscode.Range(at.line - 1, 0, at.line - 1, Number.MAX_SAFE_INTEGER);
          const d = new vscode.Diagnostic(range, hintText(h, vscode.l10n.t), diagnosticSeverity(h.severity));
          d.source = 'mptree';
          d.code = h.kind;
          let list = byFile.get(at.file);
          if (!list) byFile.set(at.file, (list = []));
          list.push(d);
        }
      }
    }
    this.diagnostics.clear();
    for (const [file, list] of byFile) this.diagnostics.set(vscode.Uri.file(file), list);
  }

  /** The diagnostics currently shown (tests). */
  diagnosticsFor(file: string): readonly vscode.Diagnostic[] {
    return this.diagnostics.get(vscode.Uri.file(file)) ?? [];
  }

  dispose(): void {
    clearTimeout(this.timer);
    clearInterval(this.tick);
    this.diagnostics.dispose();
    this.decorationEmitter.dispose();
    this.changeEmitter.dispose();
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  list.push(value);
}

function diagnosticSeverity(severity: Hint['severity']): vscode.DiagnosticSeverity {
  if (severity === 'error') return vscode.DiagnosticSeverity.Error;
  return severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
}

/** Every line a hint is about: each of its sites, else the one line locate() finds. */
export function locateAll(h: Hint, run: HintRun): Array<{ file: string; line: number }> {
  const sites = hintSites(h)
    .map(parseSite)
    .filter((s): s is { file: string; line: number } => s !== null);
  if (sites.length > 0) return sites;
  const at = locate(h, run);
  return at ? [at] : [];
}

const sourceCache = new Map<string, { mtime: number; lines: string[] }>();

function scriptLines(file: string): string[] | null {
  try {
    const stat = fs.statSync(file);
    const cached = sourceCache.get(file);
    if (cached && cached.mtime === stat.mtimeMs) return cached.lines;
    // Only small sources: this looks for a line, it is not an indexer.
    if (stat.size > 2 * 1024 * 1024) return null;
    const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
    sourceCache.set(file, { mtime: stat.mtimeMs, lines });
    return lines;
  } catch {
    return null;
  }
}

/**
 * Where a hint belongs in the source: the site the runtime reported, else (processes carry no
 * site yet) the one line of the script that names the process's target, else for the missing
 * guard the first line that starts a process or makes a pool.
 */
export function locate(h: Hint, run: HintRun): { file: string; line: number } | null {
  const site = parseSite(h.site);
  if (site) return site;
  const script = run.info.script;
  if (!script.endsWith('.py')) return null;
  const lines = scriptLines(script);
  if (!lines) return null;
  const p: ProcessInfo | undefined = h.processKey ? run.model.get(h.processKey) : undefined;
  const target = p?.target?.split('.').pop();
  if (target && /^\w+$/.test(target)) {
    const re = new RegExp(`target\\s*=\\s*(?:self\\.)?${target}\\b`);
    const found = lines.map((text, i) => (re.test(text) ? i + 1 : 0)).filter((n) => n > 0);
    if (found.length === 1) return { file: script, line: found[0] };
  }
  if (h.kind === 'missing-main-guard') {
    const i = lines.findIndex((text) => /\.start\(|Pool\(|Executor\(/.test(text) && !/^\s*#/.test(text));
    if (i >= 0) return { file: script, line: i + 1 };
  }
  return null;
}
