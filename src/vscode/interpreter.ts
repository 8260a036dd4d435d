// Which Python runs the program. Order: the `mptree.pythonPath` setting (an explicit choice
// wins), else the Python extension's active interpreter for the file, else python3/python on
// PATH. The core checks the version; this file only gathers candidates and words failures.

import * as vscode from 'vscode';
import { PythonExtension } from '@vscode/python-extension';
import { checkPython, findPython, type PythonInfo } from '../core/python';
import { errorText } from '../core/l10n';

const PYTHON_EXTENSION_ID = 'ms-python.python';
/** The Python extension may still be activating; a run must not wait on it forever. */
const PYTHON_EXTENSION_TIMEOUT_MS = 10_000;

export type InterpreterSource = 'setting' | 'python-extension' | 'path';

export interface ResolvedInterpreter extends PythonInfo {
  source: InterpreterSource;
}

export class InterpreterError extends Error {
  constructor(
    message: string,
    readonly source: InterpreterSource,
  ) {
    super(message);
  }
}

/**
 * uncheckedShims: a run (not a debug session, which must know its interpreter has debugpy)
 * takes a version manager's shim as is and checks the version by the program's hello.
 */
export async function resolveInterpreter(resource: vscode.Uri | undefined, log: vscode.LogOutputChannel, options: { uncheckedShims?: boolean } = {}): Promise<ResolvedInterpreter> {
  const setting = vscode.workspace.getConfiguration('mptree', resource).get<string>('pythonPath', '').trim();
  if (setting) {
    try {
      return { ...(await findPython({ explicit: expandVariables(setting, resource), uncheckedShims: options.uncheckedShims })), source: 'setting' };
    } catch (error) {
      throw new InterpreterError(vscode.l10n.t('The mptree.pythonPath setting does not name a usable interpreter: {0}', describe(error)), 'setting');
    }
  }
  const fromExtension = await pythonExtensionInterpreter(resource, log);
  if (fromExtension) {
    try {
      return { ...(await checkPython(fromExtension)), source: 'python-extension' };
    } catch (error) {
      throw new InterpreterError(
        vscode.l10n.t("The Python extension's selected interpreter cannot run mptree: {0}. Select another interpreter or set mptree.pythonPath.", describe(error)),
        'python-extension',
      );
    }
  }
  try {
    return { ...(await findPython({ uncheckedShims: options.uncheckedShims })), source: 'path' };
  } catch (error) {
    throw new InterpreterError(describe(error), 'path');
  }
}

/** Shows what is wrong with the interpreter, with the action that fixes it. */
export async function showInterpreterError(error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  const openSetting = vscode.l10n.t('Open Setting');
  const select = vscode.l10n.t('Select Interpreter');
  const actions = [openSetting];
  if (error instanceof InterpreterError && error.source === 'python-extension') actions.unshift(select);
  const choice = await vscode.window.showErrorMessage(vscode.l10n.t('mptree: {0}', message), ...actions);
  if (choice === openSetting) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'mptree.pythonPath');
  } else if (choice === select) {
    await vscode.commands.executeCommand('python.setInterpreter');
  }
}

async function pythonExtensionInterpreter(resource: vscode.Uri | undefined, log: vscode.LogOutputChannel): Promise<string | undefined> {
  // Without the extension, PythonExtension.api() throws; ask only when it is there.
  if (!vscode.extensions.getExtension(PYTHON_EXTENSION_ID)) return undefined;
  try {
    const lookup = (async () => {
      const api = await PythonExtension.api();
      const active = api.environments.getActiveEnvironmentPath(resource);
      const resolved = await api.environments.resolveEnvironment(active);
      return resolved?.executable.uri?.fsPath ?? active.path;
    })();
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), PYTHON_EXTENSION_TIMEOUT_MS).unref?.());
    const found = await Promise.race([lookup, timeout]);
    if (!found) {
      log.warn('The Python extension did not name an interpreter in time; falling back to PATH.');
      sayFallback(vscode.l10n.t('mptree: the Python extension did not name an interpreter within {0} s; running with the Python found on PATH.', PYTHON_EXTENSION_TIMEOUT_MS / 1000));
    }
    return found;
  } catch (error) {
    log.warn(`Could not ask the Python extension for its interpreter: ${describe(error)}`);
    sayFallback(vscode.l10n.t('mptree: could not ask the Python extension for its interpreter ({0}); running with the Python found on PATH.', describe(error)));
    return undefined;
  }
}

/**
 * The user chose an interpreter in the Python extension and gets another one: said in a
 * message that does not block the run, with the setting that avoids the wait.
 */
function sayFallback(message: string): void {
  const openSetting = vscode.l10n.t('Set mptree.pythonPath');
  void vscode.window.showWarningMessage(message, openSetting).then((choice) => {
    if (choice === openSetting) void vscode.commands.executeCommand('workbench.action.openSettings', 'mptree.pythonPath');
  });
}

/** `${workspaceFolder}` and `~` are what people type into path settings. */
function expandVariables(value: string, resource: vscode.Uri | undefined): string {
  const folder = (resource && vscode.workspace.getWorkspaceFolder(resource)) ?? vscode.workspace.workspaceFolders?.[0];
  let out = value;
  if (folder) out = out.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath);
  if (out.startsWith('~/') && process.env.HOME) out = process.env.HOME + out.slice(1);
  return out;
}

function describe(error: unknown): string {
  // The user reads it: a core error in their language.
  return errorText(error, vscode.l10n.t);
}
