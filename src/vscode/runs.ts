// Runs launched from VS Code. The core's RunSession owns the socket, the model and process
// control; this file adds what only VS Code can do: launch the program as a Task in an
// integrated terminal (real stdin, Ctrl+C), and tell the session the root's pid and exit code.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { Emitter } from '../core/event';
import { publishDump } from '../core/runDump';
import { RunSession, type StopResult } from '../core/session';
import type { Logger, ModelChange } from '../core/types';
import type { ResolvedInterpreter } from './interpreter';
import type { RunView, RunViewSource } from './tree/runView';

// Not in the manifest's taskDefinitions: a task of this type is only ever made here, for a run
// whose session already listens; one written by hand in tasks.json could not have that.
const TASK_TYPE = 'mptree';
const TASK_SOURCE = 'mptree';

interface MptreeTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  runId: string;
  script: string;
}

export class Run implements RunView {
  execution: vscode.TaskExecution | undefined;
  private sawProcess = false;

  constructor(
    readonly session: RunSession,
    readonly scriptUri: vscode.Uri,
  ) {}

  get info() {
    return this.session.info;
  }
  get model() {
    return this.session.model;
  }
  get runId(): string {
    return this.session.runId;
  }
  get isLive(): boolean {
    return !this.session.isEnded;
  }

  /** The task's process started: the session can now watch it. */
  processStarted(pid: number): void {
    this.sawProcess = true;
    this.session.attach(pid);
  }

  processEnded(exitCode: number | undefined): void {
    this.session.notifyRootExit(exitCode ?? null);
  }

  /** The task ended. True when its process never started: the run failed before it began. */
  taskEnded(): boolean {
    this.execution = undefined;
    if (this.sawProcess || this.session.isEnded) return false;
    this.session.launchFailed(vscode.l10n.t('the task ended before the program started'));
    this.session.dispose();
    return true;
  }

  /** SIGTERM to every process, SIGKILL after the grace period; the terminal stays for reading. */
  async stop(graceMs: number): Promise<StopResult> {
    // Before the task reports its pid, ending the task stops the root; the session still stops
    // whatever the runtime already reported.
    if (this.session.rootPid === null) this.execution?.terminate();
    return this.session.stop(graceMs);
  }
}

export class RunManager implements RunViewSource, vscode.Disposable {
  private readonly list: Run[] = [];
  private readonly runsEmitter = new Emitter<RunView | undefined>();
  private readonly modelEmitter = new Emitter<{ run: RunView; change: ModelChange }>();
  readonly onDidChangeRuns = this.runsEmitter.event;
  readonly onDidChangeModel = this.modelEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly perRun = new Map<Run, Array<{ dispose(): void }>>();
  private disposed = false;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.subscriptions.push(
      vscode.tasks.onDidStartTaskProcess((e) => this.runOf(e.execution)?.processStarted(e.processId)),
      vscode.tasks.onDidEndTaskProcess((e) => this.runOf(e.execution)?.processEnded(e.exitCode)),
      vscode.tasks.onDidEndTask((e) => {
        const run = this.runOf(e.execution);
        if (run?.taskEnded()) {
          this.log.error(`[${run.runId}] the program did not start; the terminal shows why`);
          this.runsEmitter.fire(run);
        }
      }),
    );
  }

  get runs(): readonly Run[] {
    return this.list;
  }

  liveRuns(): Run[] {
    return this.list.filter((run) => run.isLive);
  }

  /** Live processes over all runs, for the status bar. */
  liveProcessCount(): number {
    let count = 0;
    for (const run of this.list) if (run.isLive) count += run.model.liveProcesses().filter((p) => p.state === 'running').length;
    return count;
  }

  runByKey(runId: string): Run | undefined {
    return this.list.find((run) => run.runId === runId);
  }

  /** A run whose session is ready and listening, not launched yet: the caller starts the program. */
  private async prepare(scriptUri: vscode.Uri, interpreter: ResolvedInterpreter, args: string[], cwd: string, module?: string): Promise<Run> {
    const config = vscode.workspace.getConfiguration('mptree');
    const session = await RunSession.create({
      target: module ? { module, args } : { script: scriptUri.fsPath, args },
      cwd,
      // The session decides what to spawn: the interpreter behind a checked shim, an unchecked shim or a named wrapper as is.
      pythonInfo: interpreter,
      logger: this.logger(),
      osScanIntervalMs: config.get<number>('osScanIntervalMs', 1000),
      terminateGraceMs: config.get<number>('terminateGraceSeconds', 3) * 1000,
      whenViewerGone: config.get<string>('whenViewerGone', 'stop') === 'keep' ? 'keep' : 'stop',
    });
    return new Run(session, scriptUri);
  }

  /**
   * A run for a debug session: the debugger launches the program (with session.launch's
   * environment); the debug tracker tells the run its root pid and exit. With `module`, the
   * program is `python -m module` and scriptUri only the folder it runs in.
   */
  async startForDebug(scriptUri: vscode.Uri, interpreter: ResolvedInterpreter, args: string[], cwd: string, module?: string): Promise<Run> {
    const run = await this.prepare(scriptUri, interpreter, args, cwd, module);
    this.log.info(`[${run.runId}] debug launch (${interpreter.source}, Python ${interpreter.versionString}): ${module ? `-m ${module}` : scriptUri.fsPath}  (cwd ${cwd})`);
    this.add(run);
    return run;
  }

  async start(scriptUri: vscode.Uri, interpreter: ResolvedInterpreter, args: string[] = []): Promise<Run> {
    const folder = vscode.workspace.getWorkspaceFolder(scriptUri);
    // The Python extension's convention: run from the workspace folder, so relative paths in
    // the program mean the same as with its own Run button.
    const cwd = folder?.uri.fsPath ?? path.dirname(scriptUri.fsPath);
    const run = await this.prepare(scriptUri, interpreter, args, cwd);
    const { command, args: argv, env } = run.session.launch;
    this.log.info(`[${run.runId}] launch (${interpreter.source}, Python ${interpreter.versionString}): ${quoteCommand([command, ...argv])}  (cwd ${cwd})`);

    const definition: MptreeTaskDefinition = { type: TASK_TYPE, runId: run.runId, script: scriptUri.fsPath };
    const task = new vscode.Task(
      definition,
      folder ?? vscode.TaskScope.Workspace,
      `${path.basename(scriptUri.fsPath)} (mptree)`,
      TASK_SOURCE,
      new vscode.ProcessExecution(command, argv, { env, cwd }),
    );
    task.presentationOptions = {
      reveal: vscode.TaskRevealKind.Always,
      focus: true,
      // A terminal of its own per run: several runs at once, each with its own stdin.
      panel: vscode.TaskPanelKind.New,
      showReuseMessage: false,
      clear: false,
      echo: true,
    };
    // Not a build or test task, and never problem-matched.
    task.isBackground = false;

    this.add(run);
    try {
      run.execution = await vscode.tasks.executeTask(task);
    } catch (error) {
      this.log.error(`[${run.runId}] could not start the task: ${(error as Error).message}`);
      this.remove(run);
      throw error;
    }
    return run;
  }

  private add(run: Run): void {
    const session = run.session;
    // `mptree dump` reaches this run from a terminal too; withdrawn at its end or with it.
    let dumpEndpoint: { dispose(): void } | null = null;
    let forgotten = false;
    void publishDump(session).then((published) => {
      dumpEndpoint = published;
      if (forgotten) published?.dispose();
    });
    const subs = [
      {
        dispose: () => {
          forgotten = true;
          dumpEndpoint?.dispose();
        },
      },
      session.onDidChange((change) => this.modelEmitter.fire({ run, change })),
      session.onDidChangeRun(() => this.runsEmitter.fire(run)),
      session.onDidEnd((info) => {
        const end = info.error ?? (info.signal ? `killed by ${info.signal}` : `exit code ${info.exitCode ?? 'unknown'}`);
        this.log.info(`[${run.runId}] run ended: ${end}`);
      }),
    ];
    this.perRun.set(run, subs);
    this.list.push(run);
    this.runsEmitter.fire(run);
  }

  /** Forgets finished runs that have nothing left to show. */
  removeEmptyFinishedRuns(): void {
    for (const run of [...this.list]) {
      if (!run.isLive && run.model.processes().length === 0) this.remove(run);
    }
  }

  remove(run: Run): void {
    const index = this.list.indexOf(run);
    if (index < 0) return;
    this.list.splice(index, 1);
    for (const sub of this.perRun.get(run) ?? []) sub.dispose();
    this.perRun.delete(run);
    run.session.dispose();
    this.runsEmitter.fire(undefined);
  }

  private runOf(execution: vscode.TaskExecution): Run | undefined {
    const definition = execution.task.definition;
    if (definition.type !== TASK_TYPE) return undefined;
    return this.list.find((run) => run.runId === definition.runId);
  }

  private logger(): Logger {
    return {
      log: (level, message) => {
        switch (level) {
          case 'error':
            return this.log.error(message);
          case 'warn':
            return this.log.warn(message);
          case 'debug':
            return this.log.debug(message);
          default:
            return this.log.info(message);
        }
      },
    };
  }

  /**
   * Synchronous on purpose: deactivate may not wait. Each session's dispose sends SIGKILL
   * to every process of its run still alive.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const run of this.list) {
      try {
        run.session.dispose();
      } catch (error) {
        this.log.error(`[${run.runId}] dispose failed: ${(error as Error).message}`);
      }
      run.execution?.terminate();
    }
    for (const subs of this.perRun.values()) for (const sub of subs) sub.dispose();
    this.perRun.clear();
    for (const sub of this.subscriptions) sub.dispose();
    this.runsEmitter.dispose();
    this.modelEmitter.dispose();
  }
}

/** A command line as a user could paste it into a POSIX shell. */
export function quoteCommand(parts: readonly string[]): string {
  return parts.map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part.replace(/'/g, `'\\''`)}'`)).join(' ');
}
