// What command handlers may use. Passed explicitly rather than imported as singletons so a
// command's dependencies are visible in its signature.

import type * as vscode from 'vscode';
import type { RunManager } from './runs';
import type { ProcessTreeProvider } from './tree/processTreeProvider';
import type { TreeNode } from './tree/nodes';

export interface Services {
  readonly runs: RunManager;
  readonly tree: ProcessTreeProvider;
  readonly treeView: vscode.TreeView<TreeNode>;
  readonly log: vscode.LogOutputChannel;
  /** Where the extension's files are (the shipped examples) and where it may write its own. */
  readonly extension: Pick<vscode.ExtensionContext, 'extensionUri' | 'globalStorageUri'>;
}
