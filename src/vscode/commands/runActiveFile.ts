import * as vscode from 'vscode';
import type { Run } from '../runs';
import type { Services } from '../services';
import { runFile, startRun } from './runFile';

export async function runActiveFile(services: Services): Promise<Run[]> {
  const document = vscode.window.activeTextEditor?.document;
  if (document && (document.languageId === 'python' || document.uri.fsPath.endsWith('.py'))) {
    if (document.isUntitled) {
      // Saving names the file; only then can a terminal run it.
      if (!(await document.save())) return [];
      const saved = vscode.window.activeTextEditor?.document;
      if (!saved || saved.isUntitled) return [];
      const run = await startRun(services, saved.uri);
      return run ? [run] : [];
    }
    const run = await startRun(services, document.uri);
    return run ? [run] : [];
  }
  // No Python editor in front: ask which file, rather than fail.
  return runFile(services);
}
