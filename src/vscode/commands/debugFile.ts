import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEBUG_TYPE, type MptreeDebugConfiguration } from '../debug/debugWithTree';
import { activePythonFile, saveIfDirty } from '../pythonFiles';
import type { Services } from '../services';

/**
 * Debug Python File with Process Tree: the clicked file, else the active Python editor. A
 * debug session of type `mptree` that the configuration provider turns into a debugpy launch
 * with the runtime injected (see debug/debugWithTree.ts). True when a debug session started.
 */
export async function debugFile(_services: Services, uri?: unknown): Promise<boolean> {
  const target = uri instanceof vscode.Uri ? uri : await activePythonFile();
  if (target === null) return false; // the save of an untitled file was cancelled
  if (!target || target.scheme !== 'file') {
    void vscode.window.showErrorMessage(vscode.l10n.t('mptree: open or select a Python file on disk to debug it with the process tree.'));
    return false;
  }
  await saveIfDirty(target);
  const config: MptreeDebugConfiguration = {
    type: DEBUG_TYPE,
    request: 'launch',
    name: vscode.l10n.t('Debug {0} with Process Tree', path.basename(target.fsPath)),
    program: target.fsPath,
    console: 'integratedTerminal',
  };
  return vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(target), config);
}
