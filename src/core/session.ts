// One run of a Python program under mptree: the socket server, the model, the launch, the OS
// scan, process control and the end of the run. Used as is by the CLI, which spawns the
// program itself, and by the VS Code layer, which launches through a Task ("external launch")
// and reports the root pid and exit code back.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DisposableStore, Emitter, type Event } from './event';
import { buildRunEnv, checkTarget, defaultRuntimeDir, describeTarget, launchArgs, spawnProgram, type LaunchTarget, type WhenViewerGone } from './launcher';
import { RunModel, exitCodeOf, signalName } from './model';
import { defaultLister, defaultUsageReader, descendantsSync, liveness, type Liveness, type OsProcessLister } from './osScan';
import { UsageMeter, type UsageReader } from './processUsage';
import { randomHex } from './randomHex';
import { runMembersSync } from './runMembers';
import { STACKS_TIMEOUT_MS, gatherStacks, isStoppedProcess, type StacksReport } from './stacks';
import { MIN_PYTHON, PythonError, checkPython, findPython, type PythonInfo } from './python';
import { RateLimitedLog, RuntimeServer, type ReceivedMessage } from './server';
import type { Disposable, LogEntry, LogLevel, Logger, ModelChange, ProcessInfo, RunInfo } from './types';
import { LocalizedError, phrase, render, type Localizer, type Phrase } from './l10n';

export interface RunSessionOptions {
  target: LaunchTarget;
  cwd: string;
  /** An interpreter already checked (e.g. from the Python extension); else found from `python`. */
  pythonInfo?: PythonInfo;
  /** --python / the mptree.pythonPath setting; empty: python3, then python on PATH. */
  python?: string | null;
  /** The user's environment the run starts from; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Where the Python runtime lives; next to the bundle by default. */
  runtimeDir?: string;
  logger?: Logger;
  lister?: OsProcessLister;
  /** Reads each live process's CPU time and memory once per scan; the platform's by default. */
  usageReader?: UsageReader;
  osScanIntervalMs?: number;
  /** What the program does if this session goes for good without stopping it; `stop` by default. */
  whenViewerGone?: WhenViewerGone;
  /** How long stop() lets processes handle SIGTERM before SIGKILL. */
  terminateGraceMs?: number;
  /** How long a running root may stay silent before the isolated-mode notice. */
  helloNoticeMs?: number;
  maxExited?: number;
  /** For tests: replaces the OS liveness probe. */
  liveness?: (pid: number) => Liveness;
}

/** What the VS Code layer needs to start the program itself (a Task with ProcessExecution). */
export interface LaunchSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

export type JoinResult = { exitCode: number | null } | { timedOut: true; seconds: number };

export interface SignalOutcome {
  pid: number;
  /** runtime: the parent's Process.terminate()/kill(); signal: we signalled it; none: already gone. */
  via: 'runtime' | 'signal' | 'none';
}

export interface EscalationOutcome extends SignalOutcome {
  /** Still alive after the grace period, so it was sent SIGKILL. */
  escalated: boolean;
}

export interface StopResult {
  /** Pids sent SIGTERM. */
  terminated: number[];
  /** Pids still alive after the grace period and sent SIGKILL. */
  killed: number[];
  /** Pids the OS still shows after all that (should be empty). */
  remaining: number[];
}

export interface StopOptions {
  /**
   * Processes that already got a terminating signal from whoever asked for the stop (a
   * SIGTERM sent to mptree's whole process group reached them too): they get the grace
   * period, not a second SIGTERM, which would interrupt their own clean-up.
   */
  alreadySignalled?: (pid: number) => boolean;
}

export class SessionError extends LocalizedError {
  constructor(text: Phrase) {
    super(text);
    this.name = 'SessionError';
  }
}

const isLive = (p: ProcessInfo) => p.state !== 'exited';

export class RunSession implements Disposable {
  readonly runId: string;
  readonly model: RunModel;
  readonly info: RunInfo;
  readonly launch: LaunchSpec;
  readonly python: PythonInfo;

  private readonly disposables = new DisposableStore();
  private readonly changeRunEmitter = new Emitter<RunInfo>();
  private readonly endEmitter = new Emitter<RunInfo>();
  private readonly logEmitter = new Emitter<LogEntry>();
  /** Fires for every model change (one per applied batch). */
  readonly onDidChange: Event<ModelChange>;
  /** Run-level changes: state, root pid, exit code, notice. */
  readonly onDidChangeRun = this.changeRunEmitter.event;
  readonly onDidEnd = this.endEmitter.event;
  readonly onLog = this.logEmitter.event;
  readonly ended: Promise<RunInfo>;

  private resolveEnded!: (info: RunInfo) => void;
  private child: ChildProcess | null = null;
  private scanTimer: NodeJS.Timeout | undefined;
  private noticeTimer: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  /** While the end waits for the last connections: checks again (see endWhenDrained). */
  private drainPoll: (() => void) | undefined;
  private scanning: Promise<void> | null = null;
  private rootExited = false;
  /** The root said hello: its runtime runs, and a version manager's shim has exec'd Python. */
  private rootHello = false;
  /** Whether the OS listing may run yet (see scheduleScan). */
  private listingAllowed = false;
  /** An unchecked shim's program that never reported: the interpreter asked why (see explainSilence). */
  private silenceExplained: Promise<void> | null = null;
  /** Unreported parents a listing was already asked for: one listing each, not one per child. */
  private readonly listedForParent = new Set<number>();
  private rootExitKnown = false;
  private disposed = false;
  private readonly log: RateLimitedLog;
  private readonly lister: OsProcessLister;
  private readonly usageReader: UsageReader;
  private readonly usageMeter = new UsageMeter();
  private readonly liveness: (pid: number) => Liveness;

  private constructor(
    private readonly options: RunSessionOptions,
    private readonly server: RuntimeServer,
    model: RunModel,
    python: PythonInfo,
    log: RateLimitedLog,
  ) {
    this.runId = server.runId;
    this.model = model;
    this.python = python;
    this.log = log;
    this.lister = options.lister ?? defaultLister();
    this.usageReader = options.usageReader ?? defaultUsageReader(this.lister);
    this.liveness = options.liveness ?? liveness;
    this.onDidChange = model.onDidChange;
    const args = launchArgs(options.target);
    this.launch = {
      command: launchCommand(python, options.pythonInfo !== undefined || !!options.python?.trim()),
      args,
      env: buildRunEnv(options.env ?? process.env, {
        runtimeDir: options.runtimeDir ?? defaultRuntimeDir(),
        address: server.address,
        token: server.token,
        runId: this.runId,
        whenViewerGone: options.whenViewerGone,
      }),
      cwd: options.cwd,
    };
    this.info = {
      runId: this.runId,
      script: describeTarget(options.target),
      args: [...options.target.args],
      python: python.executable,
      cwd: options.cwd,
      state: 'starting',
      rootPid: null,
      exitCode: null,
      signal: null,
      startedAt: Date.now(),
      endedAt: null,
      error: null,
      notice: null,
    };
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.disposables.add(this.changeRunEmitter);
    this.disposables.add(this.endEmitter);
    this.disposables.add(this.logEmitter);
  }

  /** Finds and checks Python (throws PythonError with a user-facing message) and opens the socket. */
  static async create(options: RunSessionOptions): Promise<RunSession> {
    // A missing script or a binary is said in one line here, before Python would say it less
    // clearly (or run a directory's __main__.py, which is fine and allowed).
    const problem = checkTarget(options.target, options.cwd);
    if (problem) throw new SessionError(problem);
    const python = options.pythonInfo ?? (await findPython({ explicit: options.python, env: options.env, uncheckedShims: true }));
    const runId = randomHex(6);
    let session: RunSession | undefined;
    const logger: Logger = {
      log: (level, message) => (session ? session.emitLog(level, message) : options.logger?.log(level, message)),
    };
    const log = new RateLimitedLog(logger);
    const model = new RunModel(runId, { maxExited: options.maxExited, log: (kind, message) => log.report(kind, 'warn', message) });
    const server = await RuntimeServer.start({
      runId,
      logger,
      onBatch: (batch) => {
        model.apply(batch.map((received) => received.message), batch.map((received) => received.from));
        session?.observeHellos(batch);
        // Readers whose last word on a queue another reader just contradicted (see
        // QueueTable.askOtherReaders in model/queues.ts): they read it again now.
        for (const [pid, ids] of model.takeResampleRequests()) server.notify(pid, { v: 1, type: 'queue.resample', ids });
      },
      onConnectionClosed: () => session?.drainPoll?.(),
    });
    session = new RunSession(options, server, model, python, log);
    return session;
  }

  private emitLog(level: LogLevel, message: string): void {
    this.options.logger?.log(level, message);
    try {
      this.logEmitter.fire({ level, message });
    } catch {
      // A failing log listener must not break the code that logged.
    }
  }

  private fireRunChange(): void {
    try {
      this.changeRunEmitter.fire(this.info);
    } catch (error) {
      this.emitLog('error', `mptree: run listener failed: ${(error as Error)?.message}`);
    }
  }

  get rootPid(): number | null {
    return this.info.rootPid;
  }

  /** `mptree run`'s own pid when this process spawned the program (start()); null for an external launch. */
  get launcherPid(): number | null {
    return this.child ? process.pid : null;
  }

  /** How the run's processes reach the session: a Unix socket, or loopback TCP. */
  get transport(): 'unix' | 'tcp' {
    return this.server.transport;
  }

  /** A line for the session's log (and its onLog listeners), from a part of the core beside it. */
  reportLog(level: LogLevel, message: string): void {
    this.emitLog(level, message);
  }

  get isEnded(): boolean {
    return this.info.state === 'finished' || this.info.state === 'failed';
  }

  // -------------------------------------------------------------------------------------------
  // Launch

  /** CLI: spawns the program with the terminal inherited. */
  start(stdio: 'inherit' | 'pipe' | 'ignore' = 'inherit'): ChildProcess {
    if (this.child || this.info.rootPid !== null) throw new SessionError(phrase('this run was already started'));
    this.emitLog('info', `mptree: ${this.launch.command} ${this.launch.args.join(' ')} (cwd ${this.launch.cwd})`);
    const child = spawnProgram(this.launch.command, this.launch.args, { env: this.launch.env, cwd: this.launch.cwd, stdio });
    this.child = child;
    child.once('spawn', () => this.attach(child.pid!));
    child.once('error', (error) => {
      if (this.info.rootPid === null) this.fail(`could not start ${this.launch.command}: ${error.message}`);
      else this.emitLog('error', `mptree: ${error.message}`);
    });
    child.once('exit', (code, signal) => this.notifyRootExit(exitCodeOf(code, signal)));
    return child;
  }

  /** External launch: the program is running as `pid` (the interpreter started with this.launch). */
  attach(pid: number): void {
    if (this.isEnded || this.disposed) return;
    this.info.rootPid = pid;
    this.info.state = 'running';
    this.model.setRootPid(pid, { name: describeTarget(this.options.target), command: [this.launch.command, ...this.launch.args].join(' ') });
    this.fireRunChange();
    // No listing now: the program has not run a line yet, so the root can have no child the
    // runtime will not report (and a shim's own helpers are not the program's). Liveness of
    // what the runtime reports is probed on the same timer.
    this.listingAllowed = !this.python.unchecked;
    this.scheduleScan(this.options.osScanIntervalMs ?? 1000);
    // Injection works through PYTHONPATH: `python -I`/`-E`/`-S` ignore it, and then only the OS
    // view can be shown. Say so rather than show a silently poorer tree.
    this.noticeTimer = setTimeout(() => {
      const root = this.model.processByPid(pid);
      if (this.rootExited || this.isEnded || !root || root.instrumented) return;
      // Silent so long: whatever runs is invisible to the runtime, so only the OS can show it.
      this.listingAllowed = true;
      if (this.python.unchecked) return void this.explainSilence();
      this.info.notice = ISOLATED_NOTICE;
      this.emitLog('warn', `mptree: ${this.info.notice}`);
      this.fireRunChange();
    }, this.options.helloNoticeMs ?? 3000);
  }

  /**
   * What hellos say that the model does not keep: the root's Python version (checked here for
   * a shim launched unchecked), and a process whose parent nobody reported, which means a
   * process the runtime cannot see sits between them (`subprocess` running a shell, say):
   * the OS listing runs at once to find it.
   */
  private observeHellos(batch: readonly ReceivedMessage[]): void {
    let unknownParent = false;
    for (const { message } of batch) {
      if (message.type !== 'hello') continue;
      if (message.pid === this.info.rootPid) {
        this.rootHello = true;
        if (this.python.unchecked && message.python) this.checkReportedVersion(message.python);
        continue;
      }
      const parent = message.ppid;
      if (parent === null || parent === this.info.rootPid || this.model.processByPid(parent) || this.listedForParent.has(parent)) continue;
      this.listedForParent.add(parent);
      unknownParent = true;
    }
    if (this.python.unchecked && !this.rootHello) return;
    this.listingAllowed = true;
    if (unknownParent && !this.rootExited) this.scheduleScan(0);
  }

  private checkReportedVersion(reported: string): void {
    const [major, minor] = reported.split('.').map(Number);
    if (!(major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1]))) return;
    this.emitLog('warn', `mptree: ${this.launch.command} runs Python ${reported}; mptree needs Python ${MIN_PYTHON.join('.')} or newer, so the tree may be incomplete`);
  }

  /**
   * A shim launched unchecked whose program never reported: ask the interpreter now (the
   * program has run as it would bare) and say why, Python 2 or too old, instead of the
   * isolated-mode guess. The answer becomes the run's notice.
   */
  private explainSilence(): Promise<void> {
    this.silenceExplained ??= checkPython(this.launch.command, { env: this.launch.env, cache: null }).then(
      () => ISOLATED_NOTICE,
      (error: unknown) => (error instanceof PythonError ? knownNotice(phrase('{0}. The program ran without the runtime: {1}', error.text, ONLY_OS_VIEW)) : ISOLATED_NOTICE),
    ).then((notice) => {
      if (this.info.notice) return;
      this.info.notice = notice;
      this.emitLog('warn', `mptree: ${notice}`);
      this.fireRunChange();
    });
    return this.silenceExplained;
  }

  /** The root exited (CLI: child exit; VS Code: the task's process ended). exitCode: -N for signal N. */
  notifyRootExit(exitCode: number | null): void {
    const pid = this.info.rootPid;
    if (pid === null) return;
    if (exitCode !== null) this.rootExitKnown = true;
    if (this.info.exitCode === null && exitCode !== null) {
      this.info.exitCode = exitCode;
      this.info.signal = signalName(exitCode);
    }
    if (!this.rootExited) {
      // Settle which of the root's children died before it did: only those still alive now
      // are orphans (and zombie children of the root are reaped by init with it).
      this.model.applyOsScan({ processes: [], takenAt: Date.now(), liveness: this.liveness });
    }
    this.model.markExited(pid, exitCode);
    if (!this.rootExited) {
      this.rootExited = true;
      this.fireRunChange();
      // After the root, only leftovers remain: look for their end more often.
      this.scheduleScan(0);
    } else if (this.isEnded) {
      this.fireRunChange();
    }
    this.checkEnd();
  }

  /** External launch: the launcher (a VS Code task) ended without ever starting the program. */
  launchFailed(reason: string): void {
    if (!this.isEnded) this.fail(reason);
  }

  private fail(error: string): void {
    this.info.error = error;
    this.emitLog('error', `mptree: ${error}`);
    this.end('failed');
  }

  private checkEnd(): void {
    if (!this.rootExited || this.isEnded || this.model.liveCount > 0) return;
    if (this.rootExitKnown) return this.endWhenDrained();
    // External launch: the scan saw the root go; give the task's exit code a moment to arrive.
    this.endTimer ??= setTimeout(() => this.endWhenDrained(), 1500);
  }

  /**
   * Every process is gone, but what they wrote last (a child's exit code, the final queue
   * counts) may still sit unread in their sockets: the OS reports a death independently of
   * the data its socket still holds. End once every connection has hung up (all read), or
   * after DRAIN_MS for a descendant we do not know that still holds one.
   */
  private endWhenDrained(): void {
    if (this.drainPoll || this.isEnded) return;
    const deadline = Date.now() + DRAIN_MS;
    let seenIdle = false;
    let pollCount = 0;
    const poll = () => {
      clearTimeout(this.drainTimer);
      this.drainTimer = undefined;
      if (this.isEnded || this.disposed) return;
      // A late process.started made the run live again: the scans carry on and call back.
      if (this.model.liveCount > 0) {
        this.drainPoll = undefined;
        return;
      }
      if (Date.now() >= deadline) return this.end('finished');
      const round = ++pollCount;
      if (this.server.connectionCount === 0) {
        // A process's last connection may still wait in the listen backlog: it is accepted
        // when the event loop next polls for I/O, and a timer due in this turn runs before
        // that. So "no connection" counts only when seen again after a poll: an immediate
        // runs in a check phase, and a poll phase comes before it whatever phase queued it
        // (at no cost in time, where a timer would wait a millisecond or more).
        if (seenIdle) return this.end('finished');
        seenIdle = true;
        setImmediate(() => {
          if (pollCount === round) poll();
        });
        return;
      }
      seenIdle = false;
      // Woken early by the server when a connection closes (onConnectionClosed); the timer
      // covers a descendant we do not know that holds one open.
      this.drainTimer = setTimeout(poll, DRAIN_RECHECK_MS);
    };
    // A connection that closed was read to its end: look again, from a fresh start.
    this.drainPoll = () => {
      seenIdle = false;
      poll();
    };
    // One turn of the event loop at least, so data already readable is read first.
    this.drainTimer = setTimeout(poll, 0);
  }

  private end(state: 'finished' | 'failed'): void {
    if (this.isEnded) return;
    const root = this.info.rootPid === null ? undefined : this.model.processByPid(this.info.rootPid);
    if (state === 'finished' && !this.info.notice && root && !root.instrumented && this.python.unchecked && !this.disposed) {
      // The run ends once the interpreter has said why it was silent.
      void this.explainSilence().then(() => this.end(state));
      return;
    }
    if (state === 'finished' && !this.info.notice && root && !root.instrumented) {
      // A short program in isolated mode ends before the timed notice: say it at the end.
      this.info.notice = ISOLATED_NOTICE;
      this.emitLog('warn', `mptree: ${this.info.notice}`);
    }
    this.info.state = state;
    this.info.endedAt = Date.now();
    this.clearTimers();
    this.log.flush();
    // Nothing can talk to the run any more: close the socket and remove its directory now.
    this.server.dispose();
    this.fireRunChange();
    try {
      this.endEmitter.fire(this.info);
    } finally {
      this.resolveEnded(this.info);
    }
  }

  private clearTimers(): void {
    clearTimeout(this.scanTimer);
    clearTimeout(this.noticeTimer);
    clearTimeout(this.endTimer);
    clearTimeout(this.drainTimer);
    this.scanTimer = this.noticeTimer = this.endTimer = this.drainTimer = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // OS scan

  /** CPU and memory of every running process of the run (the root, what was listed, orphans). */
  private async readUsage(root: number, listed: readonly number[]): Promise<void> {
    const pids = new Set<number>(listed);
    if (!this.rootExited) pids.add(root);
    for (const node of this.model.liveProcesses()) if (node.state === 'running') pids.add(node.pid);
    try {
      const readings = await this.usageReader.read([...pids]);
      if (this.isEnded || this.disposed) return;
      this.model.applyUsage(this.usageMeter.update(readings, Date.now()));
    } catch (error) {
      this.log.report('usage', 'warn', `mptree: reading the processes' CPU and memory failed: ${(error as Error)?.message ?? error}`);
    }
  }

  private scheduleScan(delayMs: number): void {
    if (this.isEnded || this.disposed) return;
    clearTimeout(this.scanTimer);
    this.scanTimer = setTimeout(() => {
      void this.scanOnce().finally(() => {
        const interval = this.rootExited ? 200 : (this.options.osScanIntervalMs ?? 1000);
        this.scheduleScan(interval);
      });
    }, delayMs);
  }

  /** One OS scan applied to the model; concurrent callers share the scan in flight. */
  scanOnce(): Promise<void> {
    this.scanning ??= this.doScan().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async doScan(): Promise<void> {
    const root = this.info.rootPid;
    if (root === null || this.isEnded) return;
    const takenAt = Date.now();
    let processes: Awaited<ReturnType<OsProcessLister['list']>> = [];
    // Once the root is gone its orphans hang under init: listing "descendants of the root"
    // would find nothing (or, after pid reuse, strangers). Liveness probes cover the rest.
    if (!this.rootExited && this.listingAllowed) {
      try {
        processes = await this.lister.list(root);
      } catch (error) {
        this.log.report('scan', 'warn', `mptree: OS process scan failed: ${(error as Error)?.message ?? error}`);
      }
    }
    if (this.isEnded || this.disposed) return;
    this.model.applyOsScan({ processes, takenAt, liveness: this.liveness });
    await this.readUsage(root, processes.map((p) => p.pid));
    if (this.isEnded || this.disposed) return;
    // External launch: nobody tells us when the root dies but the task, which may lag.
    if (!this.rootExited && !this.child && this.liveness(root) !== 'alive') this.notifyRootExit(null);
    this.checkEnd();
  }

  // -------------------------------------------------------------------------------------------
  // Stacks on demand

  /**
   * Every thread's Python stack of each live process of the run (or of the given pids), as
   * each one's runtime thread reads it now. Resolves within about timeoutMs whatever the
   * processes do: one that cannot answer (no runtime, not connected, stopped, holding the
   * GIL in C) is in the report with the reason.
   */
  requestStacks(pids?: readonly number[], timeoutMs = STACKS_TIMEOUT_MS): Promise<StacksReport> {
    const targets = pids ?? this.model.liveProcesses().filter((node) => node.state === 'running').map((node) => node.pid);
    return gatherStacks(
      targets,
      {
        processByPid: (pid) => this.model.processByPid(pid),
        hasConnection: (pid) => !this.isEnded && this.server.hasConnection(pid),
        ask: (pid, ms) => this.server.stacks(pid, ms),
        isStopped: process.platform === 'linux' ? isStoppedProcess : undefined,
      },
      timeoutMs,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Control

  private liveNode(pid: number): ProcessInfo {
    const node = this.model.processByPid(pid);
    if (!node) throw new SessionError(phrase('pid {0} is not a process of this run', pid));
    return node;
  }

  /** Process.join(timeout) in the logical parent. */
  async join(pid: number, timeoutSec: number): Promise<JoinResult> {
    const node = this.liveNode(pid);
    if (node.state === 'exited') return { exitCode: node.exitCode };
    if (node.kind === 'main' || node.kind === 'os' || node.parentPid === null) {
      throw new SessionError(phrase('cannot join pid {0}: only a process started by multiprocessing can be joined (by its parent)', pid));
    }
    if (!this.server.hasConnection(node.parentPid)) {
      throw new SessionError(phrase('cannot join pid {0}: its parent (pid {1}) is not connected to mptree (it exited, or runs without the runtime)', pid, node.parentPid ?? '?'));
    }
    const result = await this.server.control(node.parentPid, 'join', pid, timeoutSec);
    if (result.ok) return { exitCode: result.exitCode ?? this.model.processByPid(pid)?.exitCode ?? null };
    if (result.timedOut) return { timedOut: true, seconds: timeoutSec };
    throw new SessionError(result.error ? phrase('join of pid {0} failed: {1}', pid, result.error) : phrase('join of pid {0} failed: no reason given', pid));
  }

  /** SIGTERM, through the parent's Process.terminate() when it is connected. */
  async terminate(pid: number): Promise<SignalOutcome> {
    const node = this.liveNode(pid);
    if (node.state !== 'running') return { pid, via: 'none' };
    const parent = node.parentPid;
    if (node.kind !== 'main' && node.kind !== 'os' && parent !== null && this.server.hasConnection(parent)) {
      try {
        const result = await this.server.control(parent, 'terminate', pid);
        if (result.ok) return { pid, via: 'runtime' };
        this.emitLog('info', `mptree: parent ${parent} could not terminate ${pid} (${result.error}); sending SIGTERM`);
      } catch (error) {
        this.emitLog('info', `mptree: ${(error as Error).message}; sending SIGTERM to ${pid}`);
      }
    }
    return this.signal(node, 'SIGTERM');
  }

  /**
   * terminate(), then SIGKILL if the process is still alive after graceMs (it ignores or
   * handles SIGTERM without exiting). `escalated` says whether the SIGKILL was needed, so the
   * caller can tell the user.
   */
  async terminateWithEscalation(pid: number, graceMs = this.options.terminateGraceMs ?? 3000): Promise<EscalationOutcome> {
    const node = this.liveNode(pid);
    const first = await this.terminate(pid);
    if (first.via === 'none') return { ...first, escalated: false };
    // The OS decides, not the model: the runtime's process.exited may lag behind the death.
    const stillThere = () => this.model.processByPid(pid) === node && node.state === 'running' && this.liveness(pid) === 'alive';
    const deadline = Date.now() + graceMs;
    while (stillThere() && Date.now() < deadline) await delay(Math.min(50, graceMs));
    if (!stillThere()) return { ...first, escalated: false };
    const killed = this.signal(node, 'SIGKILL');
    return killed.via === 'none' ? { ...first, escalated: false } : { pid, via: first.via, escalated: true };
  }

  /** SIGKILL, sent directly: a hung parent must not be able to delay it. */
  async kill(pid: number): Promise<SignalOutcome> {
    return this.signal(this.liveNode(pid), 'SIGKILL');
  }

  /** Terminates a process and everything under it, deepest first. */
  async terminateTree(pid: number): Promise<SignalOutcome[]> {
    const order: ProcessInfo[] = [];
    const visit = (node: ProcessInfo) => {
      for (const child of this.model.children(node.key)) visit(child);
      if (node.state === 'running') order.push(node);
    };
    visit(this.liveNode(pid));
    const outcomes: SignalOutcome[] = [];
    for (const node of order) outcomes.push(await this.terminate(node.pid));
    return outcomes;
  }

  private signal(node: ProcessInfo, signal: NodeJS.Signals): SignalOutcome {
    // Only the current, live incarnation: a pid we saw die may belong to a stranger now.
    if (this.model.processByPid(node.pid) !== node || node.state !== 'running' || node.pid === process.pid) {
      return { pid: node.pid, via: 'none' };
    }
    try {
      process.kill(node.pid, signal);
      return { pid: node.pid, via: 'signal' };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return { pid: node.pid, via: 'none' };
      throw new SessionError(phrase('could not send {0} to pid {1}: {2}', signal, node.pid, (error as Error).message));
    }
  }

  /**
   * Stops the whole run: SIGTERM to every live process (runtime-known, OS-found, and on
   * Linux every process started with this run's MPTREE_RUN_ID, orphans included), a grace
   * period, SIGKILL to the rest, then a check through the OS that nothing is left.
   */
  async stop(graceMs = this.options.terminateGraceMs ?? 3000, options: StopOptions = {}): Promise<StopResult> {
    // An external launch can report processes before its task says the root's pid: stop
    // whatever the runtime reported even then.
    if (this.info.rootPid === null && this.model.liveCount === 0) return { terminated: [], killed: [], remaining: [] };
    await this.scanOnce();
    const targets = this.findRunProcesses();
    const terminated: number[] = [];
    for (const pid of targets) {
      if (options.alreadySignalled?.(pid)) continue;
      if (this.sendSignal(pid, 'SIGTERM')) terminated.push(pid);
    }
    const isAlive = (pid: number) => this.liveness(pid) === 'alive';
    const deadline = Date.now() + graceMs;
    while ([...targets].some(isAlive) && Date.now() < deadline) await delay(50);
    // Whatever is left, and whatever was forked meanwhile (by a SIGTERM handler, say), is
    // frozen and killed: found by the tree walk and by the run id, so an orphan is too.
    await this.scanOnce();
    const rest = this.freezeRun([...targets].filter(isAlive));
    const killed: number[] = [];
    for (const pid of rest) if (this.sendSignal(pid, 'SIGKILL')) killed.push(pid);
    const killDeadline = Date.now() + 2000;
    while (rest.some(isAlive) && Date.now() < killDeadline) await delay(25);
    await this.scanOnce();
    const remaining = [...new Set([...targets, ...rest])].filter(isAlive);
    return { terminated, killed, remaining };
  }

  /**
   * Every live process of the run we can find now: the model's running ones and the root,
   * their descendants, and (Linux) every process whose environment carries this run's id.
   */
  private findRunProcesses(): Set<number> {
    const seeds = this.model
      .liveProcesses()
      .filter((node) => node.state === 'running' && this.model.processByPid(node.pid) === node)
      .map((node) => node.pid);
    const rootPid = this.info.rootPid;
    if (rootPid !== null && !this.rootExited && !seeds.includes(rootPid)) seeds.push(rootPid);
    const found = new Set<number>();
    for (const pid of [...seeds, ...runMembersSync(this.runId)]) if (this.liveness(pid) === 'alive') found.add(pid);
    for (const pid of descendantsSync([...found])) found.add(pid);
    found.delete(process.pid);
    for (const pid of found) if (pid <= 1) found.delete(pid);
    return found;
  }

  /**
   * SIGSTOP to each pid, then to whatever new the tree walk and the run id find, until a
   * round finds nothing new: a stopped process cannot fork, so the result is complete.
   * The caller kills them; a stopped process with a pending SIGKILL dies at once.
   */
  private freezeRun(pids: readonly number[]): number[] {
    const targets = new Set(pids.filter((pid) => pid !== process.pid && pid > 1));
    for (let round = 0; round < 10; round++) {
      for (const pid of targets) this.sendSignal(pid, 'SIGSTOP');
      let added = 0;
      for (const pid of [...descendantsSync([...targets]), ...runMembersSync(this.runId)]) {
        if (pid === process.pid || pid <= 1 || targets.has(pid)) continue;
        targets.add(pid);
        added++;
      }
      if (added === 0) break;
    }
    return [...targets];
  }

  /** A signal to a pid found just now (model, tree walk or run id); false if it is gone. */
  private sendSignal(pid: number, signal: NodeJS.Signals): boolean {
    const node = this.model.processByPid(pid);
    if (node && node.state === 'running') return this.signal(node, signal).via === 'signal';
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Synchronous (dispose runs on window close and at process exit, where nothing async
   * completes): SIGKILL to every live process of the run, including descendants the model
   * has not seen yet. On Linux each process found is first stopped with SIGSTOP, so that
   * none can fork a new child between the listing and the kill; the listing is repeated
   * until it finds nothing new.
   */
  private killEverything(): void {
    const known = this.model.liveProcesses().filter((node) => isLive(node) && this.model.processByPid(node.pid) === node);
    const roots = known.filter((node) => node.state === 'running').map((node) => node.pid);
    const rootPid = this.info.rootPid;
    if (rootPid !== null && !this.rootExited && !roots.includes(rootPid)) roots.push(rootPid);
    // Orphans of the run (reparented to init) are found by its id, not by the tree walk.
    const targets = this.freezeRun([...roots, ...runMembersSync(this.runId)]);
    for (const pid of targets) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already, or not ours to signal.
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearTimers();
    // A disposed session leaves nothing running behind it: the window closed, the CLI exits.
    if (!this.isEnded) {
      this.killEverything();
      this.info.state = 'finished';
      this.info.endedAt ??= Date.now();
      this.resolveEnded(this.info);
    }
    this.server.dispose();
    this.log.dispose();
    this.model.dispose();
    this.disposables.dispose();
  }
}

/**
 * The interpreter binary itself rather than the command that found it: a pyenv or asdf shim
 * is a shell script that forks helpers before it execs Python, and those would show up in
 * the tree as the run's first processes.
 */
function launchCommand(python: PythonInfo, explicit: boolean): string {
  // A shim taken unchecked is the only thing known: it finds Python itself, as it would bare.
  if (python.unchecked) return python.command;
  // An interpreter the user named is launched as named: it may be a wrapper that sets flags
  // or the environment (`exec python3 -I "$@"`, a module load), and skipping it would change
  // how the program runs. Only version-manager shims (pyenv, asdf, mise: a `shims` folder)
  // are skipped even then, for the reason above.
  if (explicit && !python.command.split(/[\\/]/).includes('shims')) return python.command;
  const executable = python.executable;
  return path.isAbsolute(executable) && fs.existsSync(executable) ? executable : python.command;
}

/** How long the end of a run waits for the last data of closed processes (see endWhenDrained). */
const DRAIN_MS = 1000;
/** See endWhenDrained: how often a connection still open is looked at again. */
const DRAIN_RECHECK_MS = 10;

const ISOLATED = phrase(
  'The program did not report to mptree: Python was probably started in isolated mode (-I, -E or -S) or the runtime is not on its path. Only the processes the OS shows are listed, without names, queues or pools.',
);
// RunInfo.notice is English (it is part of snapshots and exports); noticeText translates it.
const ISOLATED_NOTICE = render(ISOLATED);
// The tail of a notice that says why a shim's Python did not report (see explainSilence).
const ONLY_OS_VIEW = phrase('only the processes the OS shows are listed, without names, queues or pools.');

// Notices this process made, by their English text, so that noticeText can say them again in
// another language (a handful per session: one per distinct reason an interpreter gave).
const NOTICES = new Map<string, Phrase>([[ISOLATED_NOTICE, ISOLATED]]);

function knownNotice(notice: Phrase): string {
  const english = render(notice);
  NOTICES.set(english, notice);
  return english;
}

/** A run's notice in the language of `t` (one the core knows; others, e.g. from a file, as they are). */
export function noticeText(notice: string, t: Localizer): string {
  const known = NOTICES.get(notice);
  return known ? render(known, t) : notice;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
