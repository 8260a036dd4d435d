// Starts a run of a Python file from the editor: saves it, finds the interpreter, starts the
// run through the RunManager and shows its node. Run File, Run Active File and the debug
// configuration all start runs this way; a failure is said in a message, never thrown.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveInterpreter, showInterpreterError } from './interpreter';
import { LookupCancelled, withLookupProgress } from './lookupProgress';
import { revealRun, saveIfDirty } from './pythonFiles';
import type { Run } from './runs';
import type { Services } from './services';

export async function startRun(services: Services, uri: vscode.Uri): Promise<Run | undefined> {
  if (uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(vscode.l10n.t('mptree: only files on disk can be run ({0}). Save it first.', uri.toString()));
    return undefined;
  }
  // The Python extension saves before running, too.
  await saveIfDirty(uri);
  let interpreter;
  try {
    interpreter = await withLookupProgress(vscode.l10n.t('mptree: finding the Python interpreter for {0}…', path.basename(uri.fsPath)), () =>
      resolveInterpreter(uri, services.log, { uncheckedShims: true }),
    );
  } catch (error) {
    if (error instanceof LookupCancelled) return undefined;
    services.log.error((error as Error).message);
    void showInterpreterError(error);
    return undefined;
  }
  try {
    const run = await services.runs.start(uri, interpreter);
    revealRun(services, run);
    return run;
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    services.log.error(`could not run ${uri.fsPath}: ${message}`);
    void vscode.window.showErrorMessage(vscode.l10n.t('mptree: could not run {0}: {1}', path.basename(uri.fsPath), message));
    return undefined;
  }
}
