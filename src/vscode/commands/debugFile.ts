import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEBUG_TYPE, type MptreeDebugConfiguration } from '../debug/debugWithTree';
import type { Services } from '../services';

/**
 * Debug Python File with Process Tree: the clicked file, else the active Python editor. A
 * debug session of type `mptree` that the configuration provider turns into a debugpy launch
 * with the runtime injected (see debug/debugWithTree.ts). True when a debug session started.
 */
export async function debugFile(_services: Services, uri?: unknown): Promise<boolean> {
  let target = uri instanceof vscode.Uri ? uri : undefined;
  const editor = vscode.window.activeTextEditor?.document;
  if (!target && editor && (editor.languageId === 'python' || editor.uri.fsPath.endsWith('.py'))) {
    if (editor.isUntitled && !(await editor.save())) return false;
    target = vscode.window.activeTextEditor?.document.uri;
  }
  if (!target || target.scheme !== 'file') {
    void vscode.window.showErrorMessage('mptree: open or select a Python file on disk to debug it with the process tree.');
    return false;
  }
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target!.toString());
  if (open?.isDirty) await open.save();
  const config: MptreeDebugConfiguration = {
    type: DEBUG_TYPE,
    request: 'launch',
    name: `Debug ${path.basename(target.fsPath)} with Process Tree`,
    program: target.fsPath,
    console: 'integratedTerminal',
  };
  return vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(target), config);
}
