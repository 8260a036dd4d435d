// Shared shapes of the VS Code-free core. The tree view, the CLI and the tests read these;
// only the model (model.ts and its parts in model/) writes them.

import type { CollectedBy } from './collectedBy';

/** The user's source line of a call: the first frame outside the standard library and the runtime. */
export interface SiteInfo {
  file: string;
  line: number;
  function: string | null;
}

export type LockKind = 'Lock' | 'RLock' | 'Semaphore' | 'BoundedSemaphore' | 'Condition' | 'Event' | 'Barrier';

export type WaitObjectKind = 'queue' | 'lock' | 'process' | 'pool' | 'connection' | 'future' | 'manager' | 'other';

/** What a blocking call waits on: `id` for queues, locks, pools, connections; `pid` for a join; `address` for a manager. */
export interface WaitObject {
  kind: WaitObjectKind;
  id: string | null;
  pid: number | null;
  address: string | null;
}

export type ProcessKind = 'main' | 'process' | 'pool-worker' | 'helper' | 'os';
export type ProcessState = 'running' | 'zombie' | 'exited';
export type HelperRole = 'resource-tracker' | 'forkserver' | 'manager';

export interface ProcessInfo {
  /** Stable identity: `${runId}:${pid}:${incarnation start ms}`. Pids are reused by the OS, keys never. */
  readonly key: string;
  readonly runId: string;
  readonly pid: number;
  /** OS parent pid, when known. */
  ppid: number | null;
  /** Logical parent: the process that called start(). Null for the run's root. */
  parentPid: number | null;
  /** Key of the logical parent's node, when that node exists. */
  parentKey: string | null;
  name: string;
  daemon: boolean;
  kind: ProcessKind;
  role: HelperRole | null;
  startMethod: string | null;
  target: string | null;
  /** Command line, when known (runtime argv or the OS scan's command). */
  command: string | null;
  state: ProcessState;
  /** multiprocessing's convention: negative = killed by that signal. Null while running or unknown. */
  exitCode: number | null;
  /** 'SIGTERM', 'SIGKILL', … when exitCode is negative. */
  signal: string | null;
  /** The program called join() on it (nothing else: see collectedBy). */
  joined: boolean;
  /** Who first collected its exit status: the program's join(), or multiprocessing itself. */
  collectedBy: CollectedBy | null;
  /** The parent collected its exit status (join, is_alive, …): no longer a zombie. */
  reaped: boolean;
  /** Its logical parent died while it was alive. */
  orphaned: boolean;
  /** The runtime inside it (or its parent) reports for it; false for OS-only processes. */
  instrumented: boolean;
  poolId: string | null;
  /** "file:line" of the start() call that made it, when the runtime reports it. */
  site: string | null;
  /** When its own code finished and the interpreter began to exit (process.atexit). */
  codeDoneAt: number | null;
  createdAt: number | null;
  startedAt: number;
  exitedAt: number | null;
  /** Stopped in a debugger, as its debug session said ('breakpoint', 'step', 'pause', …); null when not. */
  paused: string | null;
  /** Live, from the OS scan: CPU % of one core between the last two scans; null when unknown or not running. */
  cpuPercent: number | null;
  /** Live, from the OS scan: resident memory in bytes; null when unknown or not running. */
  rssBytes: number | null;
  /** At its end, measured (its own getrusage, or its zombie's CPU time read by its parent): user + system CPU seconds; null where unknown. */
  cpuSeconds: number | null;
  /** At its end, measured: its peak resident memory in bytes (its own ru_maxrss); null where unknown. */
  peakRssBytes: number | null;
  /** What it waits on now (its main thread's wait, else its oldest); null when no thread waits past the threshold. */
  wait: WaitInfo | null;
  /** Its latest wait that ended, or the one it was in when it died; null when it never waited. */
  lastWait: WaitInfo | null;
  /** Threads of it in a wait now. */
  waitingThreads: number;
  /** The program's live threads in it, as its latest wait.begin said; null when never said. */
  threads: number | null;
  /** A pool worker's task running past the threshold (once it ended: the task it died in); null when idle or not a worker. */
  task: TaskInfo | null;
  /** A pool worker's tasks done (worker.counts); 0 for other processes. */
  tasksDone: number;
  /** A pool worker's CPU seconds so far, as it reported with its counts; null when not reported. */
  workerCpuSeconds: number | null;
}

/** One thread's blocking call past the threshold (wait.begin). */
export interface WaitInfo {
  pid: number;
  threadId: number;
  thread: string;
  /** `Queue.get`, `Lock.acquire`, `Process.join`, … */
  call: string;
  object: WaitObject;
  /** Seconds, or null: it waits for ever. */
  timeout: number | null;
  site: SiteInfo | null;
  /** When the call began. */
  since: number;
  /** When it ended (lastWait only); null while it lasts. */
  endedAt: number | null;
}

export interface TaskInfo {
  poolId: string;
  /** `crunch(7)`, as the worker cut it. */
  call: string;
  since: number;
}

export interface LockHolder {
  pid: number;
  threadId: number;
  thread: string;
  /** The line that took the lock (its `with` or `acquire()`); where the holder is now when that cannot be told. */
  site: SiteInfo | null;
  since: number;
  /** Its process ended while holding it: the lock stays locked (multiprocessing's truth). */
  holderDead: boolean;
}

/** A Lock, RLock, Semaphore, Condition, Event or Barrier the runtime announced, and who holds it. */
export interface LockInfo {
  readonly key: string; // `${runId}:lock:${id}`
  readonly id: string;
  kind: LockKind;
  ownerPid: number;
  site: SiteInfo | null;
  /** The variable name at the creating line (`lock_a`, `counter.get_lock()`), when known. */
  label: string | null;
  /** Holders past the threshold (several for a Semaphore). */
  holders: LockHolder[];
  createdAt: number;
}

export type QueueKind = 'Queue' | 'JoinableQueue' | 'SimpleQueue' | 'ManagerQueue' | 'ManagerJoinableQueue';

export interface QueueInfo {
  readonly key: string; // `${runId}:queue:${id}`
  readonly runId: string;
  readonly id: string;
  kind: QueueKind;
  ownerPid: number;
  maxsize: number;
  puts: number;
  /** Counted (SimpleQueue, manager queues), or puts − depth where the depth is read from the queue. */
  gets: number;
  tasksDone: number;
  /** Read from the queue itself (multiprocessing.Queue, JoinableQueue: its qsize()), else puts − gets; never below 0. */
  depth: number;
  /** JoinableQueue: puts − tasksDone; null for other kinds. */
  unfinished: number | null;
  /** Pids that ever put into it (senders of its counts), where known; not for manager queues. */
  putters?: readonly number[];
  site: string | null;
  createdAt: number;
}

export type PoolKind = 'Pool' | 'ProcessPoolExecutor';

export interface PoolInfo {
  readonly key: string; // `${runId}:pool:${id}`
  readonly runId: string;
  readonly id: string;
  kind: PoolKind;
  ownerPid: number;
  size: number;
  /** Every worker pid the pool ever had, replacements included. */
  workers: number[];
  submitted: number;
  completed: number;
  pending: number;
  state: 'running' | 'closed' | 'terminated' | 'joined' | 'shutdown';
  site: string | null;
  createdAt: number;
}

export type RunState = 'starting' | 'running' | 'finished' | 'failed';

export interface RunInfo {
  readonly runId: string;
  /** Script path or `-m module`. */
  readonly script: string;
  readonly args: readonly string[];
  readonly python: string;
  readonly cwd: string;
  state: RunState;
  rootPid: number | null;
  exitCode: number | null;
  signal: string | null;
  startedAt: number;
  endedAt: number | null;
  /** Why the run could not start or what went wrong, in words for the user. */
  error: string | null;
  /** A notice for the user, e.g. that injection could not work (python -I) and only the OS view is shown. */
  notice: string | null;
}

/** The CLI's --snapshot JSON (documented in the README). */
export interface SnapshotJson {
  version: 1;
  run: {
    script: string;
    args: string[];
    python: string;
    exitCode: number | null;
    signal: string | null;
    startedAt: number;
    endedAt: number | null;
  };
  processes: Array<{
    pid: number;
    ppid: number | null;
    parentPid: number | null;
    name: string;
    daemon: boolean;
    kind: ProcessKind;
    role: HelperRole | null;
    startMethod: string | null;
    target: string | null;
    state: ProcessState;
    exitCode: number | null;
    signal: string | null;
    joined: boolean;
    collectedBy: CollectedBy | null;
    orphaned: boolean;
    /** Total user + system CPU seconds, measured at its end; null where unknown (still running, or not reported). */
    cpuSeconds: number | null;
    /** Peak resident memory in bytes, measured at its end; null where unknown. */
    peakRssBytes: number | null;
    /** Its current wait, else its last one (endedAt set); null when it never waited past the threshold. */
    wait: WaitInfo | null;
    /** A pool worker's current task; null when none. */
    task: TaskInfo | null;
    /** A pool worker's tasks done; absent for other processes. */
    tasksDone?: number;
  }>;
  queues: Array<{
    id: string;
    kind: QueueKind;
    ownerPid: number;
    maxsize: number;
    depth: number;
    puts: number;
    gets: number;
    unfinished: number | null;
  }>;
  pools: Array<{
    id: string;
    kind: PoolKind;
    ownerPid: number;
    size: number;
    workers: number[];
    submitted: number;
    completed: number;
    pending: number;
  }>;
  /** The locks announced, with their holders (a dead holder's lock stays locked). */
  locks: Array<{ id: string; kind: LockKind; ownerPid: number; label: string | null; site: SiteInfo | null; holders: LockHolder[] }>;
  /** The deadlocks found while the run lived (src/core/deadlocks.ts). */
  deadlocks: DeadlockJson[];
  /** Classic mistakes recognised in the run (src/core/hints.ts, docs/hints.md); the CLI fills it. */
  hints?: Array<{ kind: string; pid: number | null; message: string; site?: string }>;
}

export type DeadlockKind = 'lock-cycle' | 'join-queue' | 'all-waiting';

/** A deadlock as a snapshot carries it. */
export interface DeadlockJson {
  kind: DeadlockKind;
  /** The processes in it, in the order of the cycle or the chain. */
  pids: number[];
  /** What each waits on, as the tree says it (`Lock lock_a`, `Queue q4242-1`, `process 4243`). */
  objects: string[];
  /** The user's source lines of the waits, "file:line". */
  sites: string[];
  /** English sentence (the hint's). */
  message: string;
  /** When it was first found. */
  foundAt: number;
}

/** What changed in one reduction step; the tree refreshes only these. */
export interface ModelChange {
  runId: string;
  processes: string[]; // keys
  queues: string[];
  pools: string[];
  /** Structure changed (a node added or removed): parents must re-list their children. */
  structural: boolean;
}

export interface Disposable {
  dispose(): void;
}

export type Listener<T> = (value: T) => void;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where the core writes its diagnostics; the VS Code layer maps it to a LogOutputChannel. */
export interface Logger {
  log(level: LogLevel, message: string): void;
}

export interface LogEntry {
  level: LogLevel;
  message: string;
}
