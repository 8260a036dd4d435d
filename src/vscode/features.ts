// Everything beyond the live tree: hints (tree badges and tooltips, diagnostics), the run
// history of each run, export and import of runs, and the timeline. One entry point,
// registerBeyondTreeFeatures, which extension.ts calls once with what it already made.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunHistory, type HistoryEvent } from '../core/history';
import type { HintOptions } from '../core/hints';
import type { Run, RunManager } from './runs';
import { ProcessTreeProvider, type TreeOptions } from './tree/processTreeProvider';
import type { TreeNode } from './tree/nodes';
import { HintsController } from './timeline/hintsController';
import { ImportedRun, ImportedRuns } from './timeline/importedRuns';
import { TimelinePanel, type TimelineSource } from './timeline/timelinePanel';
import { showTimeline } from './commands/showTimeline';
import { exportRunCommand } from './commands/exportRun';
import { openRun } from './commands/openRun';

/** The commands this file registers (the lead merges them into CommandId). */
export enum BeyondCommandId {
  ShowTimeline = 'mptree.showTimeline',
  ExportRun = 'mptree.exportRun',
  OpenRun = 'mptree.openRun',
}

export const OPENED_RUNS_VIEW_ID = 'mptree.openedRuns';

export interface BeyondDeps {
  context: vscode.ExtensionContext;
  runs: RunManager;
  tree: ProcessTreeProvider;
  treeView: vscode.TreeView<TreeNode>;
  log: vscode.LogOutputChannel;
  /** Same options as the main tree, for the Opened Runs view. */
  treeOptions?: TreeOptions;
  /** Tests lower the hints' time thresholds. */
  hintOptions?: Partial<HintOptions>;
}

/** What the commands use, and what activate() can hand to tests. */
export interface BeyondApi {
  readonly deps: BeyondDeps;
  readonly hints: HintsController;
  readonly imported: ImportedRuns;
  readonly importedTree: ProcessTreeProvider;
  readonly importedView: vscode.TreeView<TreeNode> | undefined;
  historyOf(runId: string): RunHistory | undefined;
  /** Opens (or shows) the timeline of a run. */
  openTimeline(run: Run | ImportedRun): TimelinePanel;
  timelineOf(runId: string): TimelinePanel | undefined;
  revealProcess(runId: string, key: string): Promise<boolean>;
  readonly testHooks: {
    /** Updates posted to a run's timeline webview, and updates the webview acknowledged. */
    updatesPosted(runId: string): number;
    updatesAcked(runId: string): number;
    /** Frames the webview drew: how long each took and how many lanes it had. */
    draws(runId: string): ReadonlyArray<{ ms: number; lanes: number }>;
  };
}

export function registerBeyondTreeFeatures(deps: BeyondDeps): BeyondApi {
  const { context, runs } = deps;
  const histories = new Map<string, RunHistory>();
  const tracked = new Set<Run>();
  const timelines = new Map<string, TimelinePanel>();
  const hints = new HintsController(deps.hintOptions);
  const imported = new ImportedRuns();
  const importedTree = new ProcessTreeProvider(imported, deps.treeOptions ?? { showHelperProcesses: true, keepExitedProcesses: true });
  let importedView: vscode.TreeView<TreeNode> | undefined;
  try {
    importedView = vscode.window.createTreeView(OPENED_RUNS_VIEW_ID, { treeDataProvider: importedTree, showCollapseAll: true });
  } catch (error) {
    // The view is not contributed (package.json not updated yet): opened runs still get a timeline.
    deps.log.warn(`mptree: the ${OPENED_RUNS_VIEW_ID} view is not available: ${(error as Error).message}`);
  }

  const follow = (run: Run) => {
    if (tracked.has(run)) return;
    tracked.add(run);
    histories.set(run.runId, new RunHistory(run.session));
    hints.track(run);
  };
  const forgetRemoved = () => {
    const present = new Set(runs.runs);
    for (const run of [...tracked]) {
      if (present.has(run)) continue;
      tracked.delete(run);
      histories.get(run.runId)?.dispose();
      histories.delete(run.runId);
      hints.forget(run.runId);
    }
  };
  for (const run of runs.runs) follow(run);

  const liveSource = (run: Run): TimelineSource => {
    const history = histories.get(run.runId)!;
    return {
      id: run.runId,
      runInfo: () => ({ title: path.basename(run.info.script), startedAt: run.info.startedAt, endedAt: run.info.endedAt, live: run.isLive, readOnly: false }),
      events: () => history.events,
      queues: () => run.model.queues(),
      pools: () => run.model.pools(),
      onEvents: (listener) => history.onDidRecord(listener),
      onRunChange: (listener) => run.session.onDidChangeRun(() => listener()),
      hints: () => hints.textByKey(run.runId),
    };
  };

  const importedSource = (run: ImportedRun): TimelineSource => {
    // The file's keys, renamed to this run's, so a click reveals the node of the Opened Runs view.
    const events: HistoryEvent[] = run.data.events.map((e) =>
      e.type === 'process'
        ? {
            ...e,
            key: run.keyOf(e.key),
            patch: {
              ...e.patch,
              ...(e.patch.key !== undefined ? { key: run.keyOf(e.patch.key) } : {}),
              ...(e.patch.parentKey ? { parentKey: run.keyOf(e.patch.parentKey) } : {}),
            },
          }
        : e,
    );
    return {
      id: run.info.runId,
      runInfo: () => ({ title: run.title, startedAt: run.info.startedAt, endedAt: run.info.endedAt, live: false, readOnly: true }),
      events: () => events,
      queues: () => run.model.queues(),
      pools: () => run.model.pools(),
      hints: () => hints.textByKey(run.info.runId),
    };
  };

  const revealProcess = async (runId: string, key: string): Promise<boolean> => {
    const live = runs.runByKey(runId);
    const opened = live ? undefined : imported.byRunId(runId);
    try {
      if (live) {
        if (!live.model.get(key)) throw new Error('it is no longer in the tree (cleared)');
        await deps.treeView.reveal(deps.tree.processNode(live, key), { select: true, focus: true, expand: true });
        return true;
      }
      if (opened && importedView) {
        await importedView.reveal(importedTree.processNode(opened, key), { select: true, focus: true, expand: true });
        return true;
      }
    } catch (error) {
      void vscode.window.showInformationMessage(`mptree: cannot show that process in the tree: ${(error as Error).message}`);
    }
    return false;
  };

  const api: BeyondApi = {
    deps,
    hints,
    imported,
    importedTree,
    importedView,
    historyOf: (runId) => histories.get(runId),
    timelineOf: (runId) => timelines.get(runId),
    openTimeline(run) {
      const id = run.info.runId;
      const existing = timelines.get(id);
      if (existing) {
        existing.show();
        return existing;
      }
      const source = run instanceof ImportedRun ? importedSource(run) : liveSource(run);
      const panel = new TimelinePanel(source, context.extensionUri, (key) => void revealProcess(id, key));
      timelines.set(id, panel);
      panel.onDidDispose(() => timelines.delete(id));
      return panel;
    },
    revealProcess,
    testHooks: {
      updatesPosted: (runId) => timelines.get(runId)?.postedUpdates ?? 0,
      updatesAcked: (runId) => timelines.get(runId)?.ackedUpdates ?? 0,
      draws: (runId) => timelines.get(runId)?.draws ?? [],
    },
  };

  context.subscriptions.push(
    hints,
    importedTree,
    ...(importedView ? [importedView] : []),
    { dispose: () => imported.dispose() },
    vscode.window.registerFileDecorationProvider(hints),
    runs.onDidChangeRuns((run) => {
      if (run && runs.runs.includes(run as Run)) follow(run as Run);
      forgetRemoved();
      if (run) hints.onRunChange(run.info.runId);
    }),
    runs.onDidChangeModel(({ run, change }) => hints.onModelChange(run.info.runId, change)),
    hints.onDidChangeHints((runId) => timelines.get(runId)?.refreshHints()),
    vscode.commands.registerCommand(BeyondCommandId.ShowTimeline, (node?: unknown) => guard(deps, BeyondCommandId.ShowTimeline, () => showTimeline(api, node))),
    vscode.commands.registerCommand(BeyondCommandId.ExportRun, (node?: unknown, target?: unknown) =>
      guard(deps, BeyondCommandId.ExportRun, () => exportRunCommand(api, node, target instanceof vscode.Uri ? target : undefined)),
    ),
    vscode.commands.registerCommand(BeyondCommandId.OpenRun, (uri?: unknown) => guard(deps, BeyondCommandId.OpenRun, () => openRun(api, uri))),
    {
      dispose: () => {
        for (const panel of [...timelines.values()]) panel.dispose();
        for (const history of histories.values()) history.dispose();
        histories.clear();
      },
    },
  );
  return api;
}

async function guard<T>(deps: BeyondDeps, id: string, fn: () => Promise<T> | T): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    deps.log.error(`${id}: ${message}`);
    void vscode.window.showErrorMessage(`mptree: ${message}`);
    return undefined;
  }
}
