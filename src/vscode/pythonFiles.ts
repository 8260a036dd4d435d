// The editor side of "which file do we run": the Run and Debug commands and the debug
// configuration provider all take the Python file in front, and all save it first.

import * as vscode from 'vscode';
import type { Run } from './runs';
import type { Services } from './services';

/** A Python document by language, or by extension for a file VS Code has not classified. */
export function isPythonDocument(document: vscode.TextDocument): boolean {
  return document.languageId === 'python' || document.uri.fsPath.endsWith('.py');
}

/**
 * The Python file in the active editor, saved first when it is untitled (saving names it;
 * only then can a terminal run it). Undefined when no Python editor is in front; null when
 * the user cancelled that save.
 */
export async function activePythonFile(): Promise<vscode.Uri | null | undefined> {
  const document = vscode.window.activeTextEditor?.document;
  if (!document || !isPythonDocument(document)) return undefined;
  if (!document.isUntitled) return document.uri;
  if (!(await document.save())) return null;
  const saved = vscode.window.activeTextEditor?.document;
  return saved && !saved.isUntitled ? saved.uri : null;
}

/** Saves an open, modified document of uri: a run of stale text is a confusing surprise. */
export async function saveIfDirty(uri: vscode.Uri): Promise<void> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open?.isDirty) await open.save();
}

/** Shows a new run's node in the tree without taking focus from the terminal (stdin goes there). */
export function revealRun(services: Services, run: Run): void {
  void Promise.resolve(services.treeView.reveal(services.tree.runNode(run), { select: false, focus: false, expand: true })).catch(() => undefined);
}
