// What command handlers may use. Passed explicitly rather than imported as singletons so a
// command's dependencies are visible in its signature. Commands depend on these services;
// no service imports a command.

import type * as vscode from 'vscode';
import type { HintsController } from './hints/hintsController';
import type { RunHistories } from './history/runHistories';
import type { OpenedRunsView } from './openedRuns/openedRunsView';
import type { RunManager } from './runs';
import type { StacksDocuments } from './stacks/stacksDocuments';
import type { Timelines } from './timeline/timelines';
import type { ProcessTreeProvider } from './tree/processTreeProvider';
import type { TreeNode } from './tree/nodes';

export interface Services {
  readonly runs: RunManager;
  readonly tree: ProcessTreeProvider;
  readonly treeView: vscode.TreeView<TreeNode>;
  readonly log: vscode.LogOutputChannel;
  /** Where the extension's files are (the shipped examples) and where it may write its own. */
  readonly extension: Pick<vscode.ExtensionContext, 'extensionUri' | 'globalStorageUri'>;
  /** Hints of every run: tree badges, tooltip lines, diagnostics. */
  readonly hints: HintsController;
  /** What each run in the tree did over time (Export Run, the timeline). */
  readonly histories: RunHistories;
  /** Runs read back from exported files, and their view. */
  readonly openedRuns: OpenedRunsView;
  readonly timelines: Timelines;
  /** The read-only documents of Show Python Stacks. */
  readonly stacks: StacksDocuments;
}
