// Every command the extension contributes, in one place. Registration, menus in code and the
// unit test that compares these against package.json all read this enum, so a renamed or
// forgotten command fails a test instead of silently doing nothing.
// No runtime `vscode` import here: the unit test loads this file in plain Node.

export enum CommandId {
  RunFile = 'mptree.runFile',
  RunActiveFile = 'mptree.runActiveFile',
  DebugFile = 'mptree.debugFile',
  Terminate = 'mptree.terminate',
  Kill = 'mptree.kill',
  Join = 'mptree.join',
  TerminateTree = 'mptree.terminateTree',
  StopRun = 'mptree.stopRun',
  CopyPid = 'mptree.copyPid',
  ClearExited = 'mptree.clearExited',
  OpenExample = 'mptree.openExample',
  ShowTimeline = 'mptree.showTimeline',
  ExportRun = 'mptree.exportRun',
  OpenRun = 'mptree.openRun',
  CloseOpenedRun = 'mptree.closeOpenedRun',
  ShowStacks = 'mptree.showStacks',
}

export const VIEW_ID = 'mptree.processes';
/** Runs read back from exported files (Open Run). */
export const OPENED_RUNS_VIEW_ID = 'mptree.openedRuns';
/** The same tree in the Run and Debug sidebar, beside the Call Stack, while a run is live. */
export const DEBUG_VIEW_ID = 'mptree.debugProcesses';
export const CONTAINER_ID = 'mptree';

/** Context keys the extension sets for `when` clauses. */
export enum ContextKey {
  HasLiveRuns = 'mptree.hasLiveRuns',
  HasRuns = 'mptree.hasRuns',
  HasOpenedRuns = 'mptree.hasOpenedRuns',
}

/**
 * Context keys set once each thing the walkthrough teaches has happened for real: its steps
 * complete on them (`completionEvents: onContext:<key>`). Set, never unset: a step done stays
 * done.
 */
export enum WalkthroughKey {
  RunStarted = 'mptree.walkthrough.runStarted',
  /** A child seen as a zombie was then joined (by the program or the Join command). */
  ZombieJoined = 'mptree.walkthrough.zombieJoined',
  DaemonKilledWithParent = 'mptree.walkthrough.daemonKilledWithParent',
  QueueFull = 'mptree.walkthrough.queueFull',
  PoolSeen = 'mptree.walkthrough.poolSeen',
  WorkerPausedInDebugger = 'mptree.walkthrough.workerPausedInDebugger',
}

/** The walkthrough's id, as `openWalkthrough` takes it: `publisher.name#id`. */
export const WALKTHROUGH_ID = 'mptree.learn';
