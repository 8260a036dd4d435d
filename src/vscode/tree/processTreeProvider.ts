// Maps the runs' models onto a TreeDataProvider. The model decides what is true; this class
// only decides what is shown, where, and when the view is told.
//
//   run                       (script, state, duration, process count)
//   └─ MainProcess            (a process: children are pools, child processes, queues)
//      ├─ Pool                (its workers below it, not beside their parent)
//      ├─ Process-1
//      └─ Queue  3 / 10

import { collectedByText } from '../../core/collectedBy';
import * as vscode from 'vscode';
import { hintText, type Hint } from '../../core/hints';
import type { ModelChange, PoolInfo, ProcessInfo, QueueInfo } from '../../core/types';
import { formatBytes, formatCpuPercent, formatCpuSeconds, usageParts, usageTotals } from '../../core/usageText';
import { PoolNode, ProcessNode, QueueNode, RunNode, type TreeNode } from './nodes';
import type { RunView, RunViewSource } from './runView';
import { poolContextValue, processContextValue, queueContextValue, runContextValue } from './contextValues';
import {
  distinctLabel,
  formatDuration,
  hintShortText,
  formatTime,
  md,
  poolDescription,
  processDescription,
  processLabel,
  processStateText,
  queueDescription,
  queueIsFull,
  runDescription,
  runLabel,
} from './present';
import { decorationUri } from './decorations';
import { poolStateText } from '../../core/renderTree';
import { noticeText } from '../../core/session';
import { siteShort, waitObjectWords } from '../../core/waitText';

// Every word of the tree in the user's language (a plain function: vscode.l10n.t needs no `this`).
const t = vscode.l10n.t;

/** Where rows read their hints from (the HintsController satisfies it). */
export interface HintSource {
  hintsForProcess(key: string): readonly Hint[];
  hintsOf(runId: string): readonly Hint[];
}

/** At most this many refreshes a second reach the view; changes in between are merged. */
const MIN_REFRESH_INTERVAL_MS = 100;
/** How often a running run's duration is redrawn, only while the view is visible. */
const DURATION_TICK_MS = 1000;

export interface TreeOptions {
  showHelperProcesses: boolean;
  keepExitedProcesses: boolean;
}

export class ProcessTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  /** Fired after each batch reaches the view: tests wait on it instead of sleeping. */
  private readonly refreshedEmitter = new vscode.EventEmitter<void>();
  readonly onDidRefresh = this.refreshedEmitter.event;

  private readonly runNodes = new Map<RunView, RunNode>();
  private readonly nodes = new Map<string, ProcessNode | QueueNode | PoolNode>();
  /** Where each node was last listed: the parent to refresh once it is gone from the model. */
  private readonly listedUnder = new Map<TreeNode, TreeNode | undefined>();
  /** contextValue last shown per process, to notice state changes that move or hide nodes. */
  private readonly shownState = new Map<string, string>();
  /** Description last shown per run node. */
  private readonly shownRunText = new Map<RunNode, string>();

  private readonly dirty = new Set<TreeNode>();
  private dirtyAll = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private durationTimer: NodeJS.Timeout | undefined;
  private visible = true;
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Processes last shown without children; see onDidGainChildren. */
  private readonly shownAsLeaf = new Set<string>();
  private readonly gainedChildren: ProcessNode[] = [];
  private readonly gainedChildrenEmitter = new vscode.EventEmitter<ProcessNode[]>();
  /**
   * A process that was a leaf got its first child. VS Code shows a node that turns from leaf
   * into parent collapsed, whatever its new collapsibleState says; the extension expands it
   * through TreeView.reveal, which only the owner of the view can call.
   */
  readonly onDidGainChildren = this.gainedChildrenEmitter.event;
  private readonly decorationEmitter = new vscode.EventEmitter<vscode.Uri[]>();
  /** Process uris whose label colour or badge must be asked for again. */
  readonly onDidChangeDecorations = this.decorationEmitter.event;

  constructor(
    private readonly source: RunViewSource,
    private options: TreeOptions,
  ) {
    this.subscriptions.push(
      this.changeEmitter,
      this.refreshedEmitter,
      this.gainedChildrenEmitter,
      this.decorationEmitter,
      source.onDidChangeRuns((run) => this.onRunChanged(run)),
      source.onDidChangeModel(({ run, change }) => this.onModelChanged(run, change)),
    );
    this.updateDurationTimer();
  }

  // ---- public surface -------------------------------------------------------------------

  private hintLines: (key: string) => string[] = () => [];

  /** Where tooltips read hint lines from (the HintsController, src/vscode/hints/). */
  setHintLines(lookup: (key: string) => string[]): void {
    this.hintLines = lookup;
  }

  private hints: HintSource = { hintsForProcess: () => [], hintsOf: () => [] };

  /** Where rows read the short form of their hints from. */
  setHints(source: HintSource): void {
    this.hints = source;
  }

  /** A run's hints changed: its rows (whose descriptions end with them) are redrawn. */
  hintsChanged(runId: string): void {
    for (const node of this.nodes.values()) if (node.run.info.runId === runId) this.markDirty(node);
    this.schedule();
  }

  setOptions(options: TreeOptions): void {
    this.options = options;
    this.refresh();
  }

  /** The view became visible or hidden: the duration tick runs only while someone looks. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.updateDurationTimer();
    // VS Code replays element refreshes it got while hidden; only the clock text may be stale.
    if (visible) {
      for (const run of this.source.runs) this.markRunIfChanged(this.runNode(run));
      this.schedule();
    }
  }

  /** Everything, now: the options changed what is shown. */
  refresh(): void {
    this.dirtyAll = true;
    this.flush();
  }

  runNode(run: RunView): RunNode {
    let node = this.runNodes.get(run);
    if (!node) {
      node = new RunNode(run);
      this.runNodes.set(run, node);
    }
    return node;
  }

  processNode(run: RunView, key: string): ProcessNode {
    return this.cached(key, () => new ProcessNode(run, key));
  }

  // ---- TreeDataProvider -----------------------------------------------------------------

  getChildren(element?: TreeNode): TreeNode[] {
    const children = this.computeChildren(element);
    for (const child of children) this.listedUnder.set(child, element);
    return children;
  }

  getParent(element: TreeNode): TreeNode | undefined {
    if (element instanceof RunNode) return undefined;
    const run = element.run;
    if (element instanceof QueueNode || element instanceof PoolNode) {
      return run.model.get(element.ownerKey) ? this.processNode(run, element.ownerKey) : this.listedUnder.get(element);
    }
    const info = element.info;
    if (!info) return this.listedUnder.get(element);
    return this.parentOf(run, info);
  }

  getTreeItem(element: TreeNode): vscode.TreeItem {
    if (element instanceof RunNode) return this.runItem(element);
    if (element instanceof ProcessNode) return this.processItem(element);
    if (element instanceof QueueNode) return this.queueItem(element);
    return this.poolItem(element);
  }

  // ---- structure --------------------------------------------------------------------------

  private computeChildren(element?: TreeNode): TreeNode[] {
    if (!element) return this.source.runs.map((run) => this.runNode(run));
    const run = element.run;
    if (element instanceof RunNode) {
      return this.visibleProcesses(run, null).map((p) => this.processNode(run, p.key));
    }
    if (element instanceof QueueNode) return [];
    if (element instanceof PoolNode) {
      const pool = element.info;
      if (!pool) return [];
      return this.visibleProcesses(run, element.ownerKey)
        .filter((p) => p.poolId === pool.id)
        .map((p) => this.processNode(run, p.key));
    }
    const info = element.info;
    if (!info) return [];
    const pools = run.model.poolsOf(info.key);
    const poolIds = new Set(pools.map((p) => p.id));
    // Workers of a pool this process owns are listed under the pool node instead.
    const processes = this.visibleProcesses(run, info.key).filter((p) => !p.poolId || !poolIds.has(p.poolId));
    return [
      ...processes.map((p) => this.processNode(run, p.key)),
      ...pools.map((p) => this.cached(p.key, () => new PoolNode(run, p.key, info.key))),
      ...run.model.queuesOf(info.key).map((q) => this.cached(q.key, () => new QueueNode(run, q.key, info.key))),
    ];
  }

  private parentOf(run: RunView, info: ProcessInfo): TreeNode {
    if (info.parentKey === null) return this.runNode(run);
    if (info.poolId) {
      const pool = run.model.poolsOf(info.parentKey).find((p) => p.id === info.poolId);
      if (pool) return this.cached(pool.key, () => new PoolNode(run, pool.key, info.parentKey!));
    }
    return this.processNode(run, info.parentKey);
  }

  private visibleProcesses(run: RunView, parentKey: string | null): ProcessInfo[] {
    return run.model.children(parentKey).filter((p) => this.isVisible(run, p));
  }

  /**
   * Hidden by the settings (helpers, exited) unless something visible hangs below it: a live
   * child of an exited parent must stay reachable, and getParent must stay truthful.
   */
  private isVisible(run: RunView, p: ProcessInfo): boolean {
    const hidden =
      (!this.options.showHelperProcesses && p.kind === 'helper') ||
      (!this.options.keepExitedProcesses && p.state === 'exited');
    if (!hidden) return true;
    return run.model.children(p.key).some((child) => this.isVisible(run, child));
  }

  private cached<N extends ProcessNode | QueueNode | PoolNode>(key: string, make: () => N): N {
    let node = this.nodes.get(key);
    if (!node) {
      node = make();
      this.nodes.set(key, node);
    }
    return node as N;
  }

  // ---- change handling --------------------------------------------------------------------

  private onRunChanged(run: RunView | undefined): void {
    if (run && this.source.runs.includes(run)) {
      // A new run is a new root: the root list changes. A known run only changed its facts.
      if (this.runNodes.has(run)) this.markDirty(this.runNode(run));
      else this.scheduleAll();
    } else {
      this.forgetRemovedRuns();
      this.scheduleAll();
    }
    this.updateDurationTimer();
  }

  private onModelChanged(run: RunView, change: ModelChange): void {
    const runNode = this.runNode(run);
    // Refreshing a run node makes VS Code re-list its whole expanded subtree, so it is marked
    // only when its own text changed (a process came or went), not for every queue count.
    this.markRunIfChanged(runNode);
    const hidingSettings = !this.options.keepExitedProcesses || !this.options.showHelperProcesses;
    const decorations: vscode.Uri[] = [];
    // A structural change that names nothing, or an owner not found: re-list the whole run.
    let unattributed = change.structural && change.processes.length + change.queues.length + change.pools.length === 0;

    for (const key of change.processes) {
      const node = this.processNode(run, key);
      const info = node.info;
      this.markDirty(node);
      decorations.push(decorationUri(key));
      if (!info) {
        // Removed (Clear Exited): its old parent must re-list.
        const parent = this.listedUnder.get(node);
        this.markDirty(parent ?? runNode);
        this.forget(node);
        continue;
      }
      const context = processContextValue(info);
      const stateChanged = this.shownState.get(key) !== context;
      if (change.structural || stateChanged) {
        const parent = this.parentOf(run, info);
        this.markDirty(parent);
        // A process that was listed elsewhere (its pool appeared later) leaves that parent.
        const before = this.listedUnder.get(node);
        if (before && before !== parent) this.markDirty(before);
        if (info.poolId) this.markPoolOf(run, info);
      }
      if (stateChanged && hidingSettings) {
        // Hiding can cascade upwards (an exited parent hides with its last child): re-list the run.
        this.markDirty(runNode);
      }
    }
    for (const key of change.queues) {
      const node = this.nodes.get(key);
      if (node) this.markDirty(node);
      if (change.structural || !node) {
        if (!this.markOwner(run, key, 'queue')) unattributed = true;
      }
    }
    for (const key of change.pools) {
      const node = this.nodes.get(key);
      if (node) this.markDirty(node);
      if (change.structural || !node) {
        if (!this.markOwner(run, key, 'pool')) unattributed = true;
      }
    }
    // Refreshing the run node makes VS Code re-ask every expanded node below it.
    if (unattributed) this.markDirty(runNode);
    if (decorations.length > 0) this.decorationEmitter.fire(decorations);
    this.schedule();
  }

  private markPoolOf(run: RunView, worker: ProcessInfo): void {
    if (worker.parentKey === null) return;
    const pool = run.model.poolsOf(worker.parentKey).find((p) => p.id === worker.poolId);
    if (pool) this.markDirty(this.cached(pool.key, () => new PoolNode(run, pool.key, worker.parentKey!)));
  }

  /** Marks the process owning a queue or pool; false when the owner could not be found. */
  private markOwner(run: RunView, key: string, type: 'queue' | 'pool'): boolean {
    const known = this.nodes.get(key);
    if (known instanceof QueueNode || known instanceof PoolNode) {
      this.markDirty(this.processNode(run, known.ownerKey));
      if (!known.info) this.forget(known);
      return true;
    }
    // A new queue or pool: find its owner by scanning the owners' lists.
    for (const owner of this.allProcesses(run)) {
      const list: Array<QueueInfo | PoolInfo> = type === 'queue' ? run.model.queuesOf(owner.key) : run.model.poolsOf(owner.key);
      if (list.some((item) => item.key === key)) {
        this.markDirty(this.processNode(run, owner.key));
        return true;
      }
    }
    return false;
  }

  private forget(node: ProcessNode | QueueNode | PoolNode): void {
    this.nodes.delete(node.key);
    this.listedUnder.delete(node);
    this.shownState.delete(node.key);
    this.shownAsLeaf.delete(node.key);
  }

  private forgetRemovedRuns(): void {
    const live = new Set(this.source.runs);
    for (const [run, node] of this.runNodes) {
      if (live.has(run)) continue;
      this.runNodes.delete(run);
      this.listedUnder.delete(node);
      this.shownRunText.delete(node);
      for (const [key, child] of this.nodes) {
        if (child.run === run) this.forget(child);
      }
    }
  }

  private markTicking(run: RunView): void {
    for (const p of run.model.liveProcesses()) if (p.state === 'running' && (p.wait || p.task)) this.markDirty(this.processNode(run, p.key));
  }

  private markRunIfChanged(node: RunNode): void {
    if (this.shownRunText.get(node) !== this.runText(node).description) this.markDirty(node);
  }

  private markDirty(node: TreeNode): void {
    this.dirty.add(node);
  }

  private scheduleAll(): void {
    this.dirtyAll = true;
    this.schedule();
  }

  /** Coalesces: the first change after a quiet period waits at most MIN_REFRESH_INTERVAL_MS. */
  private schedule(): void {
    if (this.flushTimer) return;
    const wait = Math.max(0, this.lastFlush + MIN_REFRESH_INTERVAL_MS - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    this.lastFlush = Date.now();
    if (this.dirtyAll) {
      this.dirtyAll = false;
      this.dirty.clear();
      this.changeEmitter.fire(undefined);
    } else if (this.dirty.size > 0) {
      const nodes = [...this.dirty];
      this.dirty.clear();
      this.changeEmitter.fire(nodes);
    } else {
      return;
    }
    this.refreshedEmitter.fire();
    if (this.gainedChildren.length > 0) {
      const gained = this.gainedChildren.splice(0);
      // After VS Code has asked for the new items: reveal needs them to exist.
      setTimeout(() => this.gainedChildrenEmitter.fire(gained), MIN_REFRESH_INTERVAL_MS);
    }
  }

  private updateDurationTimer(): void {
    const wanted = this.visible && this.source.runs.some((r) => isLive(r));
    if (wanted && !this.durationTimer) {
      this.durationTimer = setInterval(() => {
        for (const run of this.source.runs) if (isLive(run)) this.markRunIfChanged(this.runNode(run));
        // How long a process has waited, or a worker has run its task, grows without a change.
        for (const run of this.source.runs) if (isLive(run)) this.markTicking(run);
        this.schedule();
        this.updateDurationTimer();
      }, DURATION_TICK_MS);
    } else if (!wanted && this.durationTimer) {
      clearInterval(this.durationTimer);
      this.durationTimer = undefined;
    }
  }

  private allProcesses(run: RunView): ProcessInfo[] {
    return run.model.processes();
  }

  // ---- items ------------------------------------------------------------------------------

  private runItem(node: RunNode): vscode.TreeItem {
    const info = node.run.info;
    const item = new vscode.TreeItem(runLabel(info), vscode.TreeItemCollapsibleState.Expanded);
    item.id = node.id;
    item.description = this.runText(node).description;
    this.shownRunText.set(node, item.description);
    item.contextValue = runContextValue(info);
    item.iconPath = runIcon(node.run);
    // No hints here: they are read on the rows they concern, and redrawing a run row for a
    // hint would re-list its whole subtree.
    item.accessibilityInformation = { label: spoken(vscode.l10n.t('Run of {0}: {1}', runLabel(info), item.description), []) };
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${md(runLabel(info))}** — ${md(item.description)}\n\n`);
    appendTable(tip, [
      [t('Script'), code(info.script)],
      [t('Arguments'), info.args.length ? code(info.args.join(' ')) : '—'],
      [t('Interpreter'), code(info.python)],
      [t('Working folder'), code(info.cwd)],
      [t('Root pid'), info.rootPid === null ? '—' : String(info.rootPid)],
      [t('Started'), formatTime(info.startedAt)],
      [t('Ended'), formatTime(info.endedAt)],
      [t('Duration'), formatDuration((info.endedAt ?? Date.now()) - info.startedAt, t)],
    ]);
    if (info.error) tip.appendMarkdown(`\n\n$(error) ${md(info.error)}`);
    if (info.notice) tip.appendMarkdown(`\n\n$(info) ${md(noticeText(info.notice, t))}`);
    item.tooltip = tip;
    return item;
  }

  /** The run's description; while it runs, seconds tick only in the first minute. */
  runText(node: RunNode): { description: string; alive: number; total: number } {
    let total = 0;
    let alive = 0;
    const processes = this.allProcesses(node.run);
    for (const p of processes) {
      total++;
      if (p.state === 'running') alive++;
    }
    return { description: runDescription(node.run.info, alive, total, Date.now(), usageTotals(processes), t), alive, total };
  }

  private processItem(node: ProcessNode): vscode.TreeItem {
    const p = node.info;
    if (!p) {
      // Gone between the change and the redraw; the parent's refresh is on its way.
      const gone = new vscode.TreeItem(t('(cleared)'));
      gone.id = node.id;
      return gone;
    }
    const hasChildren =
      this.visibleProcesses(node.run, p.key).length > 0 ||
      node.run.model.queuesOf(p.key).length > 0 ||
      node.run.model.poolsOf(p.key).length > 0;
    const item = new vscode.TreeItem(
      processLabel(p),
      hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    if (!hasChildren) this.shownAsLeaf.add(p.key);
    else if (this.shownAsLeaf.delete(p.key)) this.gainedChildren.push(node);
    item.id = node.id;
    // The uri only carries the key to the decoration provider, which dims exited labels.
    item.resourceUri = decorationUri(p.key);
    const now = Date.now();
    item.description = withHints(processDescription(p, t, node.run.model, now), this.processHintShorts(p));
    item.contextValue = processContextValue(p);
    this.shownState.set(p.key, item.contextValue);
    item.iconPath = processIcon(p);
    item.tooltip = this.processTooltip(node.run, p);
    // Read out whole: the state and each hint in words, not the row's glyphs and dots.
    item.accessibilityInformation = {
      label: spoken(t('Process {0}: {1}', processLabel(p), processDescription(p, t, node.run.model, now)), this.hints.hintsForProcess(p.key)),
    };
    return item;
  }

  private processHintShorts(p: ProcessInfo): string[] {
    return this.hints
      .hintsForProcess(p.key)
      // A zombie's row already says "not joined".
      .filter((h) => !(h.kind === 'unjoined-child' && p.state === 'zombie'))
      .map((h) => hintShortText(h.kind, t));
  }

  private processTooltip(run: RunView, p: ProcessInfo): vscode.MarkdownString {
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${md(processLabel(p))}** — ${md(t('pid {0}, {1}', p.pid, processStateText(p, t)))}\n\n`);
    for (const line of this.hintLines(p.key)) tip.appendMarkdown(`$(warning) ${md(line.replace(/^⚠ /, ''))}\n\n`);
    const parent = p.parentKey ? run.model.get(p.parentKey) : undefined;
    const pool = p.poolId && p.parentKey ? run.model.poolsOf(p.parentKey).find((x) => x.id === p.poolId) : undefined;
    const ended = p.exitedAt ?? (p.state === 'running' ? Date.now() : null);
    appendTable(tip, [
      [t('Kind'), kindText(p)],
      [t('Daemon'), p.daemon ? t('yes — killed when its parent exits') : t('no')],
      [t('Parent (logical)'), parent ? `${md(processLabel(parent))} (${parent.pid})` : p.parentPid === null ? t('— (root of the run)') : String(p.parentPid)],
      [t('OS parent (ppid)'), p.ppid === null ? '—' : String(p.ppid)],
      [t('Start method'), p.startMethod ? code(p.startMethod) : '—'],
      [t('Target'), p.target ? code(p.target) : '—'],
      [t('Pool'), pool ? `${pool.kind} (${md(pool.id)})` : p.poolId ? md(p.poolId) : '—'],
      [t('State'), md(processStateText(p, t))],
      [t('Exit code'), p.exitCode === null ? '—' : String(p.exitCode) + (p.signal ? ` (${p.signal})` : '')],
      [t('Joined'), p.joined ? t('yes') : collectedByText(p.collectedBy, t) ? t('no — {0}', collectedByText(p.collectedBy, t)!) : t('no')],
      [t('Reaped'), p.reaped ? t('yes') : p.state === 'zombie' ? t('**no — call join() in the parent**') : t('no')],
      [t('Orphaned'), p.orphaned ? t('yes — its parent died first') : t('no')],
      [t('Reported by'), p.instrumented ? t('mptree runtime') : t('OS scan only (not a multiprocessing process)')],
      [t('Created'), formatTime(p.createdAt)],
      [t('Seen'), formatTime(p.startedAt)],
      [t('Exited'), formatTime(p.exitedAt)],
      [t('Lifetime'), ended === null ? '—' : formatDuration(ended - (p.createdAt ?? p.startedAt), t)],
      ...this.usageRows(p),
      ...this.activityRows(run, p),
    ]);
    if (p.command) tip.appendMarkdown('\n\n').appendCodeblock(p.command, 'shell');
    return tip;
  }

  /** What it waits on (each waiting thread, the line of the call), and a worker's task and tally. */
  private activityRows(run: RunView, p: ProcessInfo): Array<[string, string]> {
    const rows: Array<[string, string]> = [];
    const now = Date.now();
    if (p.task && p.state === 'running') rows.push([t('Task'), `${code(p.task.call)} · ${formatDuration(now - p.task.since, t)}`]);
    if (p.kind === 'pool-worker' && p.tasksDone != null) rows.push([t('Tasks done'), String(p.tasksDone)]);
    const waits = p.state === 'running' ? run.model.waitsOf?.(p.key) ?? (p.wait ? [p.wait] : []) : [];
    for (const w of waits) {
      const thread = waits.length > 1 || w.thread !== 'MainThread' ? t(' (thread {0})', w.thread) : '';
      rows.push([t('Waiting{0}', thread), `${md(waitObjectWords(w, run.model, t))} · ${formatDuration(now - w.since, t)}${w.timeout !== null ? t(' (timeout {0} s)', w.timeout) : ''}`]);
      rows.push([t('Waiting at'), w.site ? `${code(`${w.site.file}:${w.site.line}`)}${w.site.function ? ` ${md(w.site.function)}()` : ''}` : '—']);
    }
    if (waits.length > 0 && p.threads !== null) rows.push([t('Threads waiting'), t('{0} of {1}', p.waitingThreads, p.threads)]);
    if (p.state !== 'running' && p.lastWait) rows.push([t('Last wait'), md(`${p.lastWait.call} ${siteShort(p.lastWait.site)}`.trim())]);
    return rows;
  }

  /** What it costs: live from the OS scan while it runs, measured at its end after. */
  private usageRows(p: ProcessInfo): Array<[string, string]> {
    const unknown = vscode.l10n.t('unknown');
    if (p.state === 'running') {
      return [
        [vscode.l10n.t('CPU (% of one core)'), p.cpuPercent === null ? unknown : formatCpuPercent(p.cpuPercent)],
        [vscode.l10n.t('Memory (resident)'), p.rssBytes === null ? unknown : formatBytes(p.rssBytes)],
      ];
    }
    return [
      [vscode.l10n.t('CPU time (user + system)'), p.cpuSeconds === null ? unknown : formatCpuSeconds(p.cpuSeconds)],
      [vscode.l10n.t('Peak memory (resident)'), p.peakRssBytes === null ? unknown : formatBytes(p.peakRssBytes)],
    ];
  }

  private queueItem(node: QueueNode): vscode.TreeItem {
    const q = node.info;
    const siblings = node.run.model.queuesOf(node.ownerKey);
    const item = new vscode.TreeItem(q ? distinctLabel(q, siblings) : t('(cleared)'), vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    if (!q) return item;
    const queueHints = this.hints.hintsOf(node.run.info.runId).filter((h) => h.queueId === q.id);
    item.description = withHints(queueDescription(q, t), queueHints.map((h) => hintShortText(h.kind, t)));
    item.contextValue = queueContextValue(q);
    const full = queueIsFull(q);
    const fullWords = full ? [vscode.l10n.t('full: put() blocks until an item is taken')] : [];
    item.accessibilityInformation = {
      label: spoken([vscode.l10n.t('{0} holding {1}', String(item.label), queueDescription(q, t)), ...fullWords].join(' · '), queueHints),
    };
    item.iconPath = new vscode.ThemeIcon(
      full ? 'inbox' : 'list-ordered',
      full ? new vscode.ThemeColor('list.warningForeground') : new vscode.ThemeColor('charts.purple'),
    );
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${md(q.kind)}** ${code(q.id)}${full ? t(' — **full**: put() blocks') : ''}\n\n`);
    appendTable(tip, [
      [t('Depth'), `${q.depth}`],
      [t('maxsize'), q.maxsize > 0 ? String(q.maxsize) : t('0 (unbounded)')],
      [t('Puts'), String(q.puts)],
      [t('Gets'), String(q.gets)],
      ...(q.unfinished !== null
        ? ([
            [t('task_done() calls'), String(q.tasksDone)],
            [t('Unfinished tasks'), q.unfinished > 0 ? t('{0} — join() on the queue waits for these', q.unfinished) : String(q.unfinished)],
          ] as Array<[string, string]>)
        : []),
      [t('Created at'), q.site ? code(q.site) : '—'],
      [t('Created by pid'), String(q.ownerPid)],
    ]);
    item.tooltip = tip;
    return item;
  }

  private poolItem(node: PoolNode): vscode.TreeItem {
    const pool = node.info;
    const item = new vscode.TreeItem(
      pool ? distinctLabel(pool, node.run.model.poolsOf(node.ownerKey)) : t('(cleared)'),
      vscode.TreeItemCollapsibleState.Expanded,
    );
    item.id = node.id;
    if (!pool) return item;
    const poolHints = this.hints.hintsOf(node.run.info.runId).filter((h) => h.poolId === pool.id);
    const workers = node.run.model.children(node.ownerKey).filter((p) => p.poolId === pool.id);
    const alive = workers.filter((w) => w.state === 'running').length;
    item.description = withHints(poolDescription(pool, alive, workers, t), poolHints.map((h) => hintShortText(h.kind, t)));
    item.accessibilityInformation = { label: spoken(t('{0}: {1}', String(item.label), poolDescription(pool, alive, workers, t)), poolHints) };
    item.contextValue = poolContextValue(pool);
    item.iconPath = new vscode.ThemeIcon(
      'layers',
      new vscode.ThemeColor(pool.state === 'running' ? 'charts.blue' : 'disabledForeground'),
    );
    if (workers.length === 0) item.collapsibleState = vscode.TreeItemCollapsibleState.None;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${md(pool.kind)}** ${code(pool.id)}\n\n`);
    appendTable(tip, [
      [t('Size'), String(pool.size)],
      [t('Workers alive'), t('{0} ({1} ever started)', alive, pool.workers.length)],
      [t('Tasks submitted (map items, apply and submit calls)'), String(pool.submitted)],
      [t('Tasks completed'), String(pool.completed)],
      [t('Pending'), String(pool.pending)],
      [t('State'), poolStateText(pool.state, t)],
      [t('Created at'), pool.site ? code(pool.site) : '—'],
      [t('Created by pid'), String(pool.ownerPid)],
      ...workers.map((w): [string, string] => [t('CPU of {0}', md(processLabel(w))), usageParts(w, t).join(' · ') || t('unknown')]),
      ...workers.map((w): [string, string] => [
        t('Tasks done by {0}', md(processLabel(w))),
        w.task && w.state === 'running' ? t('{0}, now {1}', w.tasksDone ?? 0, code(w.task.call)) : String(w.tasksDone ?? 0),
      ]),
    ]);
    item.tooltip = tip;
    return item;
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.durationTimer) clearInterval(this.durationTimer);
    this.flushTimer = this.durationTimer = undefined;
    for (const d of this.subscriptions) d.dispose();
  }
}

/** The row's text, then its hints in a few words each, marked as a warning is in the tooltip. */
function withHints(description: string, shorts: readonly string[]): string {
  const unique = [...new Set(shorts)];
  return unique.length === 0 ? description : `${description} · ⚠ ${unique.join(', ')}`;
}

/**
 * What a screen reader says for a row: its words with commas for the row's dots, then each
 * hint's whole sentence (the row shows only its short form behind a warning sign).
 */
function spoken(text: string, hints: readonly Hint[]): string {
  const words = text.replace(/ · /g, ', ').replace(/ \/ ∞/g, ' ' + vscode.l10n.t('of unlimited')).replace(/ \/ (\d+)/g, (_, n: string) => ' ' + vscode.l10n.t('of {0}', n));
  const unique = [...new Set(hints.map((h) => hintText(h, t)))];
  return unique.length === 0 ? words : `${words}. ${vscode.l10n.t('Warning')}: ${unique.join(' ')}`;
}

function isLive(run: RunView): boolean {
  return run.info.state === 'starting' || run.info.state === 'running';
}

function kindText(p: ProcessInfo): string {
  switch (p.kind) {
    case 'main':
      return t('main program');
    case 'pool-worker':
      return t('pool worker');
    case 'helper':
      return p.role ? t('multiprocessing helper ({0})', p.role) : t('multiprocessing helper (unknown role)');
    case 'os':
      return t('OS process (not instrumented)');
    default:
      return 'multiprocessing.Process';
  }
}

function processIcon(p: ProcessInfo): vscode.ThemeIcon {
  const color = (id: string) => new vscode.ThemeColor(id);
  if (p.paused && p.state === 'running') return new vscode.ThemeIcon('debug-pause', color('debugIcon.pauseForeground'));
  if (p.state === 'zombie') return new vscode.ThemeIcon('warning', color('list.warningForeground'));
  if (p.state === 'exited') {
    // Dimmed either way; the shape still tells a clean exit from a failure or a signal.
    const clean = p.exitCode === 0;
    return new vscode.ThemeIcon(clean ? 'pass' : 'error', color('disabledForeground'));
  }
  if (!p.instrumented) return new vscode.ThemeIcon('terminal', color('charts.blue'));
  if (p.kind === 'helper') return new vscode.ThemeIcon('gear', color('descriptionForeground'));
  if (p.kind === 'main' || p.parentKey === null) return new vscode.ThemeIcon('vm-running', color('charts.green'));
  return new vscode.ThemeIcon(p.daemon ? 'circle-large-outline' : 'circle-large-filled', color('charts.green'));
}

function runIcon(run: RunView): vscode.ThemeIcon {
  const info = run.info;
  if (isLive(run)) return new vscode.ThemeIcon('play-circle', new vscode.ThemeColor('charts.green'));
  if (info.state === 'failed' || (info.exitCode !== null && info.exitCode !== 0) || info.signal) {
    return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
  }
  return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
}

function code(text: string): string {
  // Backticks inside the text would end the span early; a longer fence keeps it intact.
  const fence = text.includes('`') ? '`` ' : '`';
  const end = text.includes('`') ? ' ``' : '`';
  return `${fence}${text.replace(/\|/g, '\\|').replace(/\n/g, ' ')}${end}`;
}

function appendTable(tip: vscode.MarkdownString, rows: Array<[string, string]>): void {
  tip.appendMarkdown('| | |\n|:--|:--|\n');
  for (const [k, v] of rows) tip.appendMarkdown(`| ${k} | ${v} |\n`);
}
