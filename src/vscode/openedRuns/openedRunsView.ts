// The Opened Runs view: runs read back from an exported file (Open Run), shown read-only with
// the same tree provider as the live view, and `mptree.hasOpenedRuns` kept true to its list.
import * as vscode from 'vscode';
import { ContextKey, OPENED_RUNS_VIEW_ID } from '../commandIds';
import type { TreeNode } from '../tree/nodes';
import { ProcessTreeProvider, type TreeOptions } from '../tree/processTreeProvider';
import { type ImportedRun, ImportedRuns } from './importedRuns';

export class OpenedRunsView implements vscode.Disposable {
  readonly runs = new ImportedRuns();
  readonly tree: ProcessTreeProvider;
  readonly view: vscode.TreeView<TreeNode>;
  private readonly disposables: vscode.Disposable[];

  constructor(treeOptions: TreeOptions) {
    this.tree = new ProcessTreeProvider(this.runs, treeOptions);
    this.view = vscode.window.createTreeView(OPENED_RUNS_VIEW_ID, { treeDataProvider: this.tree, showCollapseAll: true });
    this.disposables = [
      this.tree,
      this.view,
      this.runs.onDidChangeRuns(() => void vscode.commands.executeCommand('setContext', ContextKey.HasOpenedRuns, this.runs.runs.length > 0)),
    ];
  }

  /** Selects a process of an opened run in this view. */
  async reveal(run: ImportedRun, key: string): Promise<void> {
    await this.view.reveal(this.tree.processNode(run, key), { select: true, focus: true, expand: true });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.runs.dispose();
  }
}
