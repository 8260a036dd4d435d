// The VS Code layer: wires the core's run sessions to a tree view, commands, a status bar
// item and a log channel. Everything it makes is disposed with the extension; every run's
// processes are killed when the window closes or the extension is disabled.

import * as vscode from 'vscode';
import { ContextKey, DEBUG_VIEW_ID, VIEW_ID } from './vscode/commandIds';
import { registerCommands } from './vscode/commands/registerCommands';
import { DebugWithTree, dynamicConfigurations } from './vscode/debug/debugWithTree';
import { HintsController } from './vscode/hints/hintsController';
import { hintsOfRuns } from './vscode/hints/hintsOfRuns';
import { RunHistories } from './vscode/history/runHistories';
import { OpenedRunsView } from './vscode/openedRuns/openedRunsView';
import { RunManager } from './vscode/runs';
import type { Services } from './vscode/services';
import { ProcessStatusBar } from './vscode/statusBar';
import { countTimelineTraffic, type MptreeApi } from './vscode/testApi';
import { Timelines } from './vscode/timeline/timelines';
import { StacksDocuments } from './vscode/stacks/stacksDocuments';
import { ProcessDecorationProvider } from './vscode/tree/decorations';
import { ProcessTreeProvider, type TreeOptions } from './vscode/tree/processTreeProvider';
import { revealProcess } from './vscode/tree/revealProcess';
import { WalkthroughProgress } from './vscode/walkthroughProgress';
import { ViewBadge } from './vscode/tree/viewBadge';

export type { MptreeApi } from './vscode/testApi';

let runManager: RunManager | undefined;

export function activate(context: vscode.ExtensionContext): MptreeApi {
  // Measured here, not by the host, so the benchmark can report our own share of start-up.
  const activationStarted = performance.now();
  const log = vscode.window.createOutputChannel('mptree', { log: true });
  const runs = new RunManager(log);
  runManager = runs;
  const treeProvider = new ProcessTreeProvider(runs, treeOptions());
  const treeView = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: treeProvider, canSelectMany: true, showCollapseAll: true });
  // One provider behind both views: a debug session moves the sidebar to Run and Debug, where
  // the tree then sits beside the Call Stack instead of displacing it.
  const debugTreeView = vscode.window.createTreeView(DEBUG_VIEW_ID, { treeDataProvider: treeProvider, canSelectMany: true, showCollapseAll: true });
  const updateVisible = () => treeProvider.setVisible(treeView.visible || debugTreeView.visible);
  updateVisible();
  const statusBar = new ProcessStatusBar(runs);
  const hints = new HintsController();
  const histories = new RunHistories(runs);
  const openedRuns = new OpenedRunsView(treeOptions());
  const reveal = (runId: string, key: string) => revealProcess({ runs, tree: treeProvider, treeView, openedRuns }, runId, key);
  const timelines = new Timelines(context.extensionUri, histories, hints, (runId, key) => void reveal(runId, key));
  const timelineCounts = countTimelineTraffic(timelines);
  const stacks = new StacksDocuments();
  const services: Services = { runs, tree: treeProvider, treeView, log, extension: context, hints, histories, openedRuns, timelines, stacks };
  const walkthrough = new WalkthroughProgress(runs, hints);
  treeProvider.setHintLines((key) => hints.tooltipLines(key));
  openedRuns.tree.setHintLines((key) => hints.tooltipLines(key));

  context.subscriptions.push(
    // Disposed in this order (after deactivate): the runs' processes go first, the log last.
    runs,
    treeProvider,
    treeView,
    statusBar,
    debugTreeView,
    treeView.onDidChangeVisibility(updateVisible),
    debugTreeView.onDidChangeVisibility(updateVisible),
    treeProvider.onDidGainChildren((nodes) => {
      // Only while visible: reveal would open a hidden view, stealing the user's sidebar.
      for (const view of [treeView, debugTreeView]) {
        if (!view.visible) continue;
        for (const node of nodes) {
          if (node.info) void Promise.resolve(view.reveal(node, { expand: true, select: false, focus: false })).catch(() => undefined);
        }
      }
    }),
    vscode.window.registerFileDecorationProvider(
      new ProcessDecorationProvider((key) => runs.runByKey(key.slice(0, key.indexOf(':')))?.model.get(key), treeProvider.onDidChangeDecorations),
    ),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('mptree.showHelperProcesses') || e.affectsConfiguration('mptree.keepExitedProcesses')) {
        treeProvider.setOptions(treeOptions());
      }
    }),
    hints,
    vscode.window.registerFileDecorationProvider(hints),
    hintsOfRuns(runs, hints),
    histories,
    openedRuns,
    timelines,
    timelineCounts,
    stacks,
    ...registerCommands(services),
    new DebugWithTree(services),
    trackContextKeys(runs),
    showNotices(runs),
    walkthrough,
    log,
  );
  const badge = new ViewBadge(runs, hints, [treeView, debugTreeView]);
  context.subscriptions.push(badge);
  // Rows end with the short form of their hints: redrawn when a run's hints change.
  treeProvider.setHints(hints);
  openedRuns.tree.setHints(hints);
  context.subscriptions.push(
    hints.onDidChangeHints((runId) => {
      treeProvider.hintsChanged(runId);
      openedRuns.tree.hintsChanged(runId);
    }),
  );
  return {
    runs,
    treeProvider,
    treeView,
    debugTreeView,
    badge,
    dynamicDebugConfigurations: dynamicConfigurations,
    statusBar,
    log,
    hints,
    histories,
    openedRuns,
    timelines,
    revealProcess: reveal,
    timelineCounts,
    walkthrough,
    activationMs: performance.now() - activationStarted,
  };
}

/**
 * Synchronous: VS Code gives deactivate little time and no guarantee it awaits a promise.
 * Disposing the runs sends SIGKILL to every live process of every run.
 */
export function deactivate(): void {
  runManager?.dispose();
  runManager = undefined;
}

function treeOptions(): TreeOptions {
  const config = vscode.workspace.getConfiguration('mptree');
  return {
    showHelperProcesses: config.get<boolean>('showHelperProcesses', true),
    keepExitedProcesses: config.get<boolean>('keepExitedProcesses', true),
  };
}

/** Keeps `mptree.hasRuns` / `mptree.hasLiveRuns` true to the runs, for menus and the palette. */
function trackContextKeys(runs: RunManager): vscode.Disposable {
  let last = '';
  const update = () => {
    const hasRuns = runs.runs.length > 0;
    const hasLive = runs.liveRuns().length > 0;
    const now = `${hasRuns}:${hasLive}`;
    if (now === last) return;
    last = now;
    void vscode.commands.executeCommand('setContext', ContextKey.HasRuns, hasRuns);
    void vscode.commands.executeCommand('setContext', ContextKey.HasLiveRuns, hasLive);
  };
  update();
  return runs.onDidChangeRuns(update);
}

/** A run that cannot be watched (isolated mode) says so once, instead of a silently poorer tree. */
function showNotices(runs: RunManager): vscode.Disposable {
  const shown = new Set<string>();
  return runs.onDidChangeRuns((run) => {
    const notice = run?.info.notice;
    if (!run || !notice || shown.has(run.info.runId)) return;
    shown.add(run.info.runId);
    void vscode.window.showWarningMessage(`mptree: ${notice}`);
  });
}
