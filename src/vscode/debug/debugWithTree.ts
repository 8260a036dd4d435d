// Debugging with the process tree beside it. A launch configuration of type `mptree` (or the
// "Debug Python File with Process Tree" command) becomes a debugpy launch with the runtime's
// environment added, so the same processes are both debugged and reported:
// - with the Python Debugger extension (ms-python.debugpy) installed, the configuration is
//   handed to it as type `debugpy` (it launches, and attaches to each child itself);
// - without it, when the interpreter can import debugpy, this file runs debugpy's own adapter
//   (`python -m debugpy.adapter`) as type `mptree`, and attaches to each child as the Python
//   Debugger does (the adapter's `debugpyAttach` event);
// - with neither, it says so and offers a plain run.
// A tracker on every session of such a run tells the run its root pid, its exit, and which
// processes the debugger has stopped (DAP `stopped`/`continued`): the tree shows them paused.
// Ending the debug session stops the run; a run that ends ends its debug session.

import { execFile } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findPython } from '../../core/python';
import { resolveInterpreter, showInterpreterError, type ResolvedInterpreter } from '../interpreter';
import { LookupCancelled, withLookupProgress } from '../lookupProgress';
import type { Run } from '../runs';
import type { Services } from '../services';
import { startRun } from '../startRun';
import { isPythonDocument, revealRun } from '../pythonFiles';

export const DEBUG_TYPE = 'mptree';
export const PYTHON_DEBUGGER_EXTENSION = 'ms-python.debugpy';

export interface MptreeDebugConfiguration extends vscode.DebugConfiguration {
  program?: string;
  /** Run `python -m module` instead of a file (as the CLI's `mptree run -m`). */
  module?: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  python?: string;
  console?: 'integratedTerminal' | 'internalConsole' | 'externalTerminal';
  justMyCode?: boolean;
  stopOnEntry?: boolean;
  /** Set on the resolved configuration: the run whose tree shows this debug session. */
  mptreeRunId?: string;
}

/** The debugger a resolved configuration goes to. */
export type DebugBackend = 'python-debugger' | 'bundled-adapter' | 'none';

/** Whether `python` can import debugpy (what the bundled adapter needs). */
export function canImportDebugpy(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import debugpy'], { timeout: 15_000, windowsHide: true }, (error) => resolve(!error));
  });
}

/** The variables the run adds to the user's environment, for a debugger that merges env. */
export function runEnvironmentAdditions(
  runEnv: Readonly<Record<string, string>>,
  base: NodeJS.ProcessEnv,
  userEnv: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const added: Record<string, string> = { ...(userEnv ?? {}) };
  for (const [key, value] of Object.entries(runEnv)) if (base[key] !== value) added[key] = value;
  // The runtime goes first on PYTHONPATH, before the configuration's own entries if it has any.
  if (userEnv?.PYTHONPATH && runEnv.PYTHONPATH) {
    added.PYTHONPATH = `${runEnv.PYTHONPATH.split(path.delimiter)[0]}${path.delimiter}${userEnv.PYTHONPATH}`;
  }
  return added;
}

export class DebugWithTree implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Runs by id until their debug session is gone. */
  private readonly runs = new Map<string, Run>();
  /** Root debug session (request launch) of each run. */
  private readonly rootSessions = new Map<string, vscode.DebugSession>();
  /** Debuggee pid of each debug session, from its `process` event. */
  private readonly pidOfSession = new Map<string, number>();

  constructor(private readonly services: Services) {
    this.disposables.push(
      vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, {
        provideDebugConfigurations: () => [initialConfiguration()],
        resolveDebugConfigurationWithSubstitutedVariables: (folder, config) => this.resolve(folder, config as MptreeDebugConfiguration),
      }),
      // Listed in Run and Debug's "Select and Start Debugging" without a launch.json.
      vscode.debug.registerDebugConfigurationProvider(
        DEBUG_TYPE,
        { provideDebugConfigurations: () => dynamicConfigurations() },
        vscode.DebugConfigurationProviderTriggerKind.Dynamic,
      ),
      vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, { createDebugAdapterDescriptor: (session) => adapterFor(session) }),
      vscode.debug.registerDebugAdapterTrackerFactory('*', { createDebugAdapterTracker: (session) => this.trackerFor(session) }),
      vscode.debug.onDidStartDebugSession((session) => this.started(session)),
      vscode.debug.onDidTerminateDebugSession((session) => this.terminated(session)),
      vscode.debug.onDidReceiveDebugSessionCustomEvent((event) => this.customEvent(event)),
    );
  }

  /** The run a debug session (or its parent, for a child process's session) belongs to. */
  runOf(session: vscode.DebugSession | undefined): Run | undefined {
    for (let s = session; s; s = s.parentSession) {
      const id = (s.configuration as MptreeDebugConfiguration).mptreeRunId;
      if (id) return this.runs.get(id);
    }
    return undefined;
  }

  private async resolve(folder: vscode.WorkspaceFolder | undefined, config: MptreeDebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    // Already ours (a child's attach, or a configuration resolved once): as it is.
    if (config.mptreeRunId || config.request === 'attach') return config;
    const module = config.module?.trim() || undefined;
    const program = module ? undefined : config.program || activePythonPath();
    if (!module && !program) {
      void vscode.window.showErrorMessage(vscode.l10n.t('mptree: the debug configuration names no program or module, and no Python file is open.'));
      return undefined;
    }
    // A module has no file of its own: the folder stands for it (interpreter, workspace folder).
    const moduleFolder = config.cwd || folder?.uri.fsPath || vscode.workspace.workspaceFolders?.[0]?.uri.fsPath || process.cwd();
    const uri = vscode.Uri.file(program ?? moduleFolder);
    const title = vscode.l10n.t('mptree: finding the Python interpreter and debugpy for {0}…', program ? path.basename(program) : `-m ${module}`);
    let looked: { interpreter: ResolvedInterpreter; backend: DebugBackend };
    try {
      looked = await withLookupProgress(title, async () => {
        // The configuration's own `python` wins, as in a debugpy configuration.
        const interpreter: ResolvedInterpreter = config.python
          ? { ...(await findPython({ explicit: config.python })), source: 'setting' }
          : await resolveInterpreter(uri, this.services.log);
        const backend: DebugBackend = vscode.extensions.getExtension(PYTHON_DEBUGGER_EXTENSION)
          ? 'python-debugger'
          : (await canImportDebugpy(interpreter.command))
            ? 'bundled-adapter'
            : 'none';
        return { interpreter, backend };
      });
    } catch (error) {
      if (error instanceof LookupCancelled) return undefined;
      this.services.log.error((error as Error).message);
      void showInterpreterError(error);
      return undefined;
    }
    const { interpreter, backend } = looked;
    if (backend === 'none') {
      void this.offerPlainRun(uri, interpreter.command);
      return undefined;
    }
    const cwd = config.cwd || folder?.uri.fsPath || (program ? path.dirname(program) : moduleFolder);
    const run = await this.services.runs.startForDebug(uri, interpreter, config.args ?? [], cwd, module);
    this.runs.set(run.runId, run);
    run.session.onDidEnd(() => this.runEnded(run));
    revealRun(this.services, run);
    const { program: _ignoredProgram, module: _ignoredModule, ...rest } = config;
    return {
      ...rest,
      type: backend === 'python-debugger' ? 'debugpy' : DEBUG_TYPE,
      request: 'launch',
      name: config.name || vscode.l10n.t('Debug {0} with Process Tree', program ? path.basename(program) : `-m ${module}`),
      // debugpy takes one or the other, never both.
      ...(module ? { module } : { program }),
      args: config.args ?? [],
      cwd,
      python: interpreter.command,
      env: runEnvironmentAdditions(run.session.launch.env, process.env, config.env),
      // Every process of the program is debugged, as every one is in the tree.
      subProcess: true,
      console: config.console ?? 'integratedTerminal',
      justMyCode: config.justMyCode ?? true,
      mptreeRunId: run.runId,
    };
  }

  private async offerPlainRun(uri: vscode.Uri, python: string): Promise<void> {
    const run = vscode.l10n.t('Run with Process Tree');
    const install = vscode.l10n.t('Install Python Debugger');
    const choice = await vscode.window.showErrorMessage(
      vscode.l10n.t(
        'mptree: debugging needs the Python Debugger extension ({0}), or debugpy for {1} (python -m pip install debugpy). Run {2} without the debugger instead?',
        PYTHON_DEBUGGER_EXTENSION,
        python,
        path.basename(uri.fsPath),
      ),
      run,
      install,
    );
    if (choice === run) await startRun(this.services, uri);
    else if (choice === install) await vscode.commands.executeCommand('workbench.extensions.search', PYTHON_DEBUGGER_EXTENSION);
  }

  private trackerFor(session: vscode.DebugSession): vscode.DebugAdapterTracker | undefined {
    if (!this.runOf(session)) return undefined;
    return {
      onDidSendMessage: (message: { type?: string; event?: string; body?: Record<string, unknown> }) => {
        if (message.type !== 'event') return;
        const run = this.runOf(session);
        if (!run) return;
        const body = message.body ?? {};
        const pid = this.pidOfSession.get(session.id);
        switch (message.event) {
          case 'process': {
            const systemPid = Number(body.systemProcessId);
            if (!Number.isSafeInteger(systemPid)) return;
            this.pidOfSession.set(session.id, systemPid);
            // The launched program's own pid: the run's root.
            if (session.configuration.request === 'launch' && run.session.rootPid === null) run.processStarted(systemPid);
            return;
          }
          case 'stopped':
            if (pid !== undefined) run.model.setPaused(pid, typeof body.reason === 'string' && body.reason ? body.reason : 'paused');
            return;
          case 'continued':
            if (pid !== undefined) run.model.setPaused(pid, null);
            return;
          case 'exited':
            if (session.configuration.request === 'launch') run.processEnded(typeof body.exitCode === 'number' ? body.exitCode : undefined);
            return;
        }
      },
      onExit: () => {
        const pid = this.pidOfSession.get(session.id);
        if (pid !== undefined) this.runOf(session)?.model.setPaused(pid, null);
      },
    };
  }

  private started(session: vscode.DebugSession): void {
    const id = (session.configuration as MptreeDebugConfiguration).mptreeRunId;
    if (id && session.configuration.request === 'launch' && this.runs.has(id)) this.rootSessions.set(id, session);
  }

  private customEvent(event: vscode.DebugSessionCustomEvent): void {
    // The bundled adapter's announcement of a new child process: attach to it as the Python
    // Debugger extension would (with its own adapter, it does this itself).
    if (event.session.type !== DEBUG_TYPE || event.event !== 'debugpyAttach') return;
    const run = this.runOf(event.session);
    // An announcement that arrives after the run or its debug session ended (a child started
    // while Stop Run was at work) must not open a session nobody will close.
    if (!run || !run.isLive || !this.rootSessions.has(run.runId)) return;
    const body = event.body as vscode.DebugConfiguration;
    void vscode.debug.startDebugging(
      event.session.workspaceFolder,
      { ...body, type: DEBUG_TYPE, request: 'attach', mptreeRunId: run.runId },
      { parentSession: event.session, lifecycleManagedByParent: true, consoleMode: vscode.DebugConsoleMode.MergeWithParent },
    );
  }

  private terminated(session: vscode.DebugSession): void {
    this.pidOfSession.delete(session.id);
    const id = (session.configuration as MptreeDebugConfiguration).mptreeRunId;
    if (!id || this.rootSessions.get(id) !== session) return;
    this.rootSessions.delete(id);
    const run = this.runs.get(id);
    this.runs.delete(id);
    // The debug session is over: nothing of its program may stay behind.
    if (run?.isLive) void run.stop(vscode.workspace.getConfiguration('mptree').get<number>('terminateGraceSeconds', 3) * 1000);
  }

  private runEnded(run: Run): void {
    const session = this.rootSessions.get(run.runId);
    if (session) void vscode.debug.stopDebugging(session);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
  }
}

function adapterFor(session: vscode.DebugSession): vscode.DebugAdapterDescriptor {
  const config = session.configuration as MptreeDebugConfiguration & { connect?: { host?: string; port: number } };
  // A child process's session joins the adapter already running for the program.
  if (config.request === 'attach' && config.connect) return new vscode.DebugAdapterServer(config.connect.port, config.connect.host ?? '127.0.0.1');
  return new vscode.DebugAdapterExecutable(config.python ?? 'python3', ['-m', 'debugpy.adapter']);
}

/** A configuration without `program` debugs the saved Python file in front, if any. */
function activePythonPath(): string | undefined {
  const document = vscode.window.activeTextEditor?.document;
  if (!document || document.isUntitled || document.uri.scheme !== 'file') return undefined;
  return isPythonDocument(document) ? document.uri.fsPath : undefined;
}

/** One configuration per Python file open in an editor, the active one first. */
export function dynamicConfigurations(): MptreeDebugConfiguration[] {
  const active = activePythonPath();
  const open = vscode.window.visibleTextEditors
    .map((e) => e.document)
    .filter((d) => !d.isUntitled && d.uri.scheme === 'file' && isPythonDocument(d))
    .map((d) => d.uri.fsPath);
  const files = [...new Set([...(active ? [active] : []), ...open])];
  return files.map((file) => ({
    type: DEBUG_TYPE,
    request: 'launch',
    name: vscode.l10n.t('Debug {0} with Process Tree', path.basename(file)),
    program: file,
    console: 'integratedTerminal',
    justMyCode: true,
  }));
}

export function initialConfiguration(): MptreeDebugConfiguration {
  return {
    type: DEBUG_TYPE,
    request: 'launch',
    name: 'Python: Current File with Process Tree',
    program: '${file}',
    console: 'integratedTerminal',
    justMyCode: true,
  };
}
