// The extension's test API: what activate() returns. Only the integration tests and the
// benchmark read it; it is not an API for other extensions and may change with any release.
// Everything a test needs to see inside the extension goes through here, so the shipped
// classes carry no test hooks: the counts below are kept by this file alone, from events the
// classes have for their own sake.
import type * as vscode from 'vscode';
import type { HintsController } from './hints/hintsController';
import type { RunHistories } from './history/runHistories';
import type { OpenedRunsView } from './openedRuns/openedRunsView';
import type { RunManager } from './runs';
import type { ProcessStatusBar } from './statusBar';
import type { Timelines } from './timeline/timelines';
import type { TreeNode } from './tree/nodes';
import type { ProcessTreeProvider } from './tree/processTreeProvider';
import type { WalkthroughProgress } from './walkthroughProgress';
import type { ViewBadge } from './tree/viewBadge';

/** Frames a timeline keeps for the benchmark; the newest win. */
const MAX_DRAWS = 500;

export interface TimelineCounts {
  /** Updates posted to a run's timeline webview. */
  updatesPosted(runId: string): number;
  /** Updates the webview acknowledged (it drew them). */
  updatesAcked(runId: string): number;
  /** Frames the webview drew, newest last: how long each took and how many lanes it had. */
  draws(runId: string): ReadonlyArray<{ ms: number; lanes: number }>;
}

export interface MptreeApi {
  /** How long activate() took, in milliseconds (reported by npm run bench). */
  readonly activationMs: number;
  readonly runs: RunManager;
  readonly treeProvider: ProcessTreeProvider;
  readonly treeView: vscode.TreeView<TreeNode>;
  /** The same tree in the Run and Debug sidebar (shown while a run is live). */
  readonly debugTreeView: vscode.TreeView<TreeNode>;
  /** The views' badge: hints and zombies. */
  readonly badge: ViewBadge;
  /** What Run and Debug's dynamic configuration list gets from mptree now. */
  dynamicDebugConfigurations(): vscode.DebugConfiguration[];
  readonly statusBar: ProcessStatusBar;
  readonly log: vscode.LogOutputChannel;
  readonly hints: HintsController;
  readonly histories: RunHistories;
  readonly openedRuns: OpenedRunsView;
  readonly timelines: Timelines;
  /** What a click on a timeline lane does: selects the process in its tree. */
  revealProcess(runId: string, key: string): Promise<boolean>;
  /** What passed between each open timeline panel and its webview. */
  readonly timelineCounts: TimelineCounts;
  /** Which of the walkthrough's events have happened. */
  readonly walkthrough: WalkthroughProgress;
}

/** Counts each timeline panel's traffic from the moment it opens until it is closed. */
export function countTimelineTraffic(timelines: Timelines): TimelineCounts & vscode.Disposable {
  const perRun = new Map<string, { posted: number; acked: number; draws: Array<{ ms: number; lanes: number }> }>();
  const opening = timelines.onDidOpen((panel) => {
    const counts = { posted: 0, acked: 0, draws: [] as Array<{ ms: number; lanes: number }> };
    const runId = panel.runId;
    perRun.set(runId, counts);
    panel.onDidExchange((traffic) => {
      if (traffic.type === 'posted') counts.posted++;
      else if (traffic.type === 'acked') counts.acked++;
      else {
        counts.draws.push({ ms: traffic.ms, lanes: traffic.lanes });
        if (counts.draws.length > MAX_DRAWS) counts.draws.splice(0, counts.draws.length - MAX_DRAWS);
      }
    });
    panel.onDidDispose(() => {
      if (perRun.get(runId) === counts) perRun.delete(runId);
    });
  });
  return {
    updatesPosted: (runId) => perRun.get(runId)?.posted ?? 0,
    updatesAcked: (runId) => perRun.get(runId)?.acked ?? 0,
    draws: (runId) => perRun.get(runId)?.draws ?? [],
    dispose: () => {
      opening.dispose();
      perRun.clear();
    },
  };
}
