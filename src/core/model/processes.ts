// The processes of one run: who belongs to it, each incarnation of a pid, where it hangs in
// the tree and how far it got (running → zombie → exited). Owns every map and index about
// processes; queues and pools only ask it who is a member and which node a pid is now.
import type { Liveness, OsProcess } from '../osScan';
import type { LiveUsage } from '../processUsage';
import type {
  HelloMessage,
  ProcessAtexitMessage,
  ProcessExitedMessage,
  ProcessExitingMessage,
  ProcessReapedMessage,
  ProcessStartedMessage,
  ProcessUsageMessage,
  RuntimeProcessKind,
} from '../protocol';
import type { ProcessInfo, ProcessKind } from '../types';
import type { BatchChanges } from './changes';
import { signalName } from './signals';

export interface OsScanResult {
  /** Descendants of the root as the OS listed them. */
  processes: readonly OsProcess[];
  /** When the listing started (ms since epoch): nodes newer than this cannot be in it. */
  takenAt: number;
  /** Double check for known processes the listing lacks: orphans leave the root's subtree. */
  liveness: (pid: number) => Liveness;
}

export interface ProcessTableOptions {
  /** Exited processes kept for history; the oldest beyond this are forgotten. */
  maxExited: number;
  log?: (kind: string, message: string) => void;
  /** A node was forgotten: what was listed under it (its queues, its pools) goes too. */
  onForget: (key: string) => void;
  /** A running node ended (zombie or exited): its waits end with it, its locks' holders are dead. */
  onEnd?: (node: ProcessInfo, t: number) => void;
}

/** The key the top-level nodes are indexed under in childIndex. */
const TOP = '';
/**
 * A scan reading of a process that started this much later than its node is another process
 * (pid reuse). Generous: a child forked late on a loaded machine must not lose its figures.
 */
const REUSED_AFTER_MS = 5000;

export class ProcessTable {
  private readonly nodes = new Map<string, ProcessInfo>();
  /** pid → key of its latest incarnation. */
  private readonly current = new Map<number, string>();
  /** Pids that belong to the run: said hello, were started by a run process, or descend from the root. */
  private readonly members = new Set<number>();
  /** parentKey (TOP for roots) → child keys in arrival order: children() must not scan all nodes. */
  private readonly childIndex = new Map<string, Set<string>>();
  /** Children placed at the top because their parent pid had no node yet. */
  private readonly waitingForParent = new Map<number, Set<string>>();
  /** Running or zombie nodes: the set the OS scan checks and the session waits for. */
  private readonly live = new Set<string>();
  /** Exited nodes, oldest exit first, for the history cap. */
  private readonly exitedOrder = new Set<string>();
  /** Exit codes a process reported about itself (process.exiting), used if no parent reports one. */
  private readonly selfReportedExit = new Map<string, number>();
  /** Nodes whose CPU total came from their parent (the zombie's figure): their own does not replace it. */
  private readonly cpuFromParent = new Set<string>();
  private rootPidValue: number | null = null;

  constructor(
    private readonly runId: string,
    private readonly changes: BatchChanges,
    private readonly options: ProcessTableOptions,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Queries

  get rootPid(): number | null {
    return this.rootPidValue;
  }

  get(key: string): ProcessInfo | undefined {
    return this.nodes.get(key);
  }

  /** The current incarnation of a pid. */
  byPid(pid: number): ProcessInfo | undefined {
    const key = this.current.get(pid);
    return key === undefined ? undefined : this.nodes.get(key);
  }

  isMember(pid: number): boolean {
    return this.members.has(pid);
  }

  /** Children of a node, or the top-level nodes for null; in the order they appeared. */
  children(parentKey: string | null): ProcessInfo[] {
    const keys = this.childIndex.get(parentKey ?? TOP);
    if (!keys) return [];
    const result: ProcessInfo[] = [];
    for (const key of keys) {
      const node = this.nodes.get(key);
      if (node) result.push(node);
    }
    return result;
  }

  all(): ProcessInfo[] {
    return [...this.nodes.values()];
  }

  /** Running or zombie processes. */
  liveProcesses(): ProcessInfo[] {
    return [...this.live].map((key) => this.nodes.get(key)!).filter(Boolean);
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** Depth-first, parents before children: the order the tree shows. */
  walk(): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    const visit = (parentKey: string | null) => {
      for (const child of this.children(parentKey)) {
        out.push(child);
        visit(child.key);
      }
    };
    visit(null);
    return out;
  }

  /** A message about a pid outside the run is dropped, and said so once per kind (the session rate-limits). */
  dropForeign(type: string, pid: number): void {
    this.options.log?.(`foreign:${type}`, `mptree: dropped ${type} about pid ${pid}, which is not part of this run`);
  }

  // -------------------------------------------------------------------------------------------
  // What the runtime, the session and the OS scan say

  /** The run's root (the launched interpreter). Shown at once, before its hello. */
  setRoot(pid: number, info: { name?: string; command?: string | null; t?: number }): void {
    this.rootPidValue = pid;
    this.members.add(pid);
    const existing = this.byPid(pid);
    if (existing) {
      if (existing.parentKey === null && existing.kind !== 'os') this.update(existing, { kind: 'main' });
      return;
    }
    this.createNode(pid, info.t ?? Date.now(), {
      name: info.name ?? `pid ${pid}`,
      kind: 'main',
      command: info.command ?? null,
      instrumented: false,
    });
  }

  onHello(m: HelloMessage): void {
    this.members.add(m.pid);
    let node = this.byPid(m.pid);
    if (node && this.isNewIncarnation(node, m.t, m.created)) node = undefined;
    const command = m.argv && m.argv.length > 0 ? m.argv.join(' ') : null;
    if (!node) {
      node = this.createNode(m.pid, m.created ?? m.t, {
        ppid: m.ppid,
        parentPid: m.parentPid ?? m.ppid,
        name: m.name,
        daemon: m.daemon,
        kind: this.kindOf(m.kind, m.pid, m.parentPid ?? m.ppid),
        role: m.role,
        startMethod: m.startMethod,
        target: m.target,
        command,
        instrumented: true,
        createdAt: m.created,
      });
      return;
    }
    const patch: Partial<ProcessInfo> = { instrumented: true, ppid: m.ppid ?? node.ppid, command: command ?? node.command };
    if (m.created !== null) patch.createdAt = m.created;
    // A fork child says hello as a plain Python process before it reaches Process._bootstrap;
    // that early hello must not overwrite what its parent's process.started already told us
    // (the inherited name would be the parent's own).
    const knownBetter = m.kind === 'python' && node.kind !== 'os' && node.kind !== 'main' && node.startMethod !== null;
    if (!knownBetter) {
      Object.assign(patch, {
        name: m.name,
        daemon: m.daemon,
        kind: this.kindOf(m.kind, m.pid, m.parentPid ?? m.ppid),
        role: m.role,
        startMethod: m.startMethod ?? node.startMethod,
        target: m.target ?? node.target,
        parentPid: m.pid === this.rootPidValue ? null : m.parentPid ?? m.ppid ?? node.parentPid,
      });
    }
    this.update(node, patch);
    this.place(node);
  }

  /**
   * The OS parent of a child its parent reports starting: the parent itself for fork and
   * spawn (it forked or spawned it), that parent's forkserver for forkserver (when the run
   * has exactly one such server); otherwise the OS scan's or the child's hello fills it.
   */
  private osParentOf(m: ProcessStartedMessage): number | null {
    if (m.parentPid === null) return null;
    if (m.startMethod === 'fork' || m.startMethod === 'spawn' || m.startMethod === 'os.fork') return m.parentPid;
    if (m.startMethod !== 'forkserver') return null;
    const parent = this.byPid(m.parentPid);
    const servers = parent ? this.children(parent.key).filter((p) => p.kind === 'helper' && p.role === 'forkserver') : [];
    return servers.length === 1 ? servers[0].pid : null;
  }

  /** The parent's account of a child it started (its pool, if any, is the pools' business). */
  onStarted(m: ProcessStartedMessage): void {
    this.members.add(m.pid);
    let node = this.byPid(m.pid);
    if (node && this.isNewIncarnation(node, m.t, null)) node = undefined;
    const fields: Partial<ProcessInfo> = {
      parentPid: m.parentPid,
      name: m.name,
      daemon: m.daemon,
      kind: m.kind === 'python' ? 'process' : m.kind,
      role: m.role,
      startMethod: m.startMethod,
      target: m.target,
      poolId: m.poolId,
      ...(m.site ? { site: m.site } : {}),
    };
    const ppid = node?.ppid ?? this.osParentOf(m);
    if (ppid !== null) fields.ppid = ppid;
    if (!node) {
      this.createNode(m.pid, m.t, { ...fields, instrumented: true });
    } else {
      // The parent's account is authoritative for what multiprocessing knows of the child.
      this.update(node, { ...fields, instrumented: true, poolId: m.poolId ?? node.poolId });
      this.place(node);
    }
  }

  /** process.exited: the parent read the child's status without reaping it. */
  onExited(m: ProcessExitedMessage): void {
    const node = this.memberNode(m.pid, m.type);
    if (!node) return;
    const code = m.exitCode;
    if (node.state === 'running') this.exit(node, code, m.t, 'zombie');
    // The parent's word beats the child's own process.exiting or an unknown OS exit.
    else if (node.exitCode !== code) this.update(node, { exitCode: code, signal: signalName(code) });
  }

  /** process.atexit: its own code is done, the interpreter is shutting down. */
  onAtexit(m: ProcessAtexitMessage): void {
    const node = this.memberNode(m.pid, m.type);
    if (node && node.codeDoneAt === null) this.update(node, { codeDoneAt: m.t });
  }

  /** process.exiting: the exit code a process reports about itself. */
  onExiting(m: ProcessExitingMessage): void {
    const node = this.memberNode(m.pid, m.type);
    if (!node) return;
    this.applyEndUsage(node, m.cpuSeconds, m.peakRssBytes, 'self');
    if (node.state === 'running') this.selfReportedExit.set(node.key, m.exitCode);
    else if (node.exitCode === null) this.update(node, { exitCode: m.exitCode, signal: signalName(m.exitCode) });
  }

  /** process.usage: what it cost at its end, from itself or from its parent. */
  onUsage(m: ProcessUsageMessage): void {
    const node = this.memberNode(m.pid, m.type);
    if (node) this.applyEndUsage(node, m.cpuSeconds, m.peakRssBytes, m.source);
  }

  /**
   * The OS scan's live figures, by pid, for the running processes. A reading of a process
   * that started well after the node did is another process on a reused pid: unknown.
   */
  applyUsage(usage: ReadonlyMap<number, LiveUsage>): void {
    for (const key of this.live) {
      const node = this.nodes.get(key);
      if (!node || node.state !== 'running') continue;
      let reading = usage.get(node.pid);
      if (reading && reading.startMs !== null && reading.startMs > node.startedAt + REUSED_AFTER_MS) reading = undefined;
      this.update(node, { cpuPercent: reading?.cpuPercent ?? null, rssBytes: reading?.rssBytes ?? null });
    }
  }

  /**
   * Figures measured at a process's end. The parent's (the kernel's CPU time of the zombie,
   * taken after the last instruction) beats the process's own, read a moment before its end;
   * peak memory only the process itself knows.
   */
  private applyEndUsage(node: ProcessInfo, cpuSeconds: number | null | undefined, peakRssBytes: number | null | undefined, source: 'self' | 'parent'): void {
    const patch: Partial<ProcessInfo> = {};
    // An absent figure (the decoder gives null) says nothing: it never erases a known one.
    if (typeof cpuSeconds === 'number' && (source === 'parent' || !this.cpuFromParent.has(node.key))) {
      patch.cpuSeconds = cpuSeconds;
      if (source === 'parent') this.cpuFromParent.add(node.key);
    }
    if (typeof peakRssBytes === 'number') patch.peakRssBytes = peakRssBytes;
    this.update(node, patch);
  }

  /** process.reaped: the parent collected it (join, is_alive, …). */
  onReaped(m: ProcessReapedMessage): void {
    const node = this.memberNode(m.pid, m.type);
    if (!node) return;
    if (node.state !== 'exited') this.exit(node, null, m.t, 'exited');
    // The first collection names who did it; a later join() of it still makes it joined.
    this.update(node, { reaped: true, joined: node.joined || m.joined, collectedBy: node.collectedBy ?? m.by ?? (m.joined ? 'join' : null) });
  }

  /** An exit learnt outside the protocol: the CLI's child 'exit' event, a signal we sent. */
  markExited(pid: number, exitCode: number | null, t: number): void {
    const node = this.byPid(pid);
    if (!node) return;
    if (node.state !== 'exited') this.exit(node, exitCode, t, 'exited');
    else if (node.exitCode === null && exitCode !== null) this.update(node, { exitCode, signal: signalName(exitCode) });
  }

  setPaused(pid: number, reason: string | null): void {
    const node = this.byPid(pid);
    if (node && node.state === 'running') this.update(node, { paused: reason });
  }

  /**
   * What the other parts of the model keep on a node (waits, a worker's task): they own those
   * facts, the table only records the change.
   */
  patch(node: ProcessInfo, patch: Partial<Pick<ProcessInfo, 'wait' | 'lastWait' | 'waitingThreads' | 'threads' | 'task' | 'tasksDone' | 'workerCpuSeconds'>>): void {
    this.update(node, patch);
  }

  /** A pool announced this pid as one of its workers: a running process not yet in a pool joins it. */
  joinPool(pid: number, poolId: string): void {
    const node = this.byPid(pid);
    if (node && node.state === 'running' && node.poolId === null) {
      this.update(node, { poolId, kind: node.kind === 'process' || node.kind === 'os' ? 'pool-worker' : node.kind });
    }
  }

  applyOsScan(scan: OsScanResult): void {
    const listed = new Map<number, OsProcess>();
    for (const p of scan.processes) listed.set(p.pid, p);
    for (const p of parentsFirst(scan.processes)) {
      try {
        this.reduceOsProcess(p, scan.takenAt);
      } catch (error) {
        this.options.log?.('reduce-error', `mptree: could not apply an OS scan entry: ${(error as Error)?.message ?? error}`);
      }
    }
    for (const key of [...this.live]) {
      const node = this.nodes.get(key);
      // The root's own exit is known to the session (child exit event or its own probe).
      if (!node || node.pid === this.rootPidValue || listed.has(node.pid)) continue;
      // Born after the listing began: its absence means nothing.
      if (node.startedAt > scan.takenAt) continue;
      const state = scan.liveness(node.pid);
      if (state === 'gone') this.exit(node, null, scan.takenAt, 'exited');
      else if (state === 'zombie' && node.state === 'running') this.exit(node, null, scan.takenAt, 'zombie');
    }
  }

  /** Forgets exited processes (and the exited ancestors of nothing live). */
  clearExited(): void {
    const removable = (node: ProcessInfo): boolean => {
      let all = node.state === 'exited';
      for (const child of this.children(node.key)) if (!removable(child)) all = false;
      if (all) this.removeNode(node);
      return all;
    };
    for (const top of this.children(null)) removable(top);
  }

  // -------------------------------------------------------------------------------------------
  // Bookkeeping

  private reduceOsProcess(p: OsProcess, takenAt: number): void {
    this.members.add(p.pid);
    let node = this.byPid(p.pid);
    // Listed alive after we saw it die: the OS gave the pid to a new descendant.
    if (node && node.state !== 'running' && node.exitedAt !== null && takenAt > node.exitedAt && !p.zombie) node = undefined;
    if (!node) {
      node = this.createNode(p.pid, takenAt, {
        ppid: p.ppid,
        parentPid: p.ppid,
        name: p.command.split(/\s+/)[0]?.split('/').pop() || `pid ${p.pid}`,
        kind: 'os',
        command: p.command || null,
        instrumented: false,
      });
      if (p.zombie) this.exit(node, null, takenAt, 'zombie');
      return;
    }
    const patch: Partial<ProcessInfo> = {};
    if (node.ppid !== p.ppid) patch.ppid = p.ppid;
    if (node.command === null && p.command) patch.command = p.command;
    if (node.kind === 'os' && node.parentPid !== p.ppid) patch.parentPid = p.ppid;
    if (Object.keys(patch).length > 0) {
      this.update(node, patch);
      this.place(node);
    }
    if (p.zombie && node.state === 'running') this.exit(node, null, takenAt, 'zombie');
  }

  private memberNode(pid: number, type: string): ProcessInfo | undefined {
    if (!this.members.has(pid)) {
      this.dropForeign(type, pid);
      return undefined;
    }
    return this.byPid(pid);
  }

  private kindOf(kind: RuntimeProcessKind, pid: number, parentPid: number | null): ProcessKind {
    if (kind !== 'python') return kind;
    if (pid === this.rootPidValue) return 'main';
    // Without a known root, the first Python process whose parent is not an instrumented
    // process of the run is the main program.
    const parent = parentPid === null ? undefined : this.byPid(parentPid);
    const hasMain = [...this.childIndex.get(TOP) ?? []].some((key) => {
      const n = this.nodes.get(key);
      return n?.kind === 'main' && n.instrumented && n.pid !== pid;
    });
    if (!hasMain && (!parent || !parent.instrumented)) return 'main';
    return 'process';
  }

  /**
   * Whether a hello/process.started for a pid describes a new process rather than the node we
   * have. A process says hello while alive, so a message stamped before the recorded exit is
   * a late message about the old incarnation.
   */
  private isNewIncarnation(node: ProcessInfo, t: number, created: number | null): boolean {
    if (node.state === 'running') {
      // Both start times known and far apart: the old one died unnoticed and the pid came back.
      if (created !== null && node.createdAt !== null && Math.abs(created - node.createdAt) > 2000) {
        this.exit(node, null, Math.min(created, Date.now()), 'exited');
        return true;
      }
      return false;
    }
    // Heard from after it ended: a new process on the pid, unless the speaker says it was
    // created before that end (a fork child that connects only at its very end to send its
    // figures, whose hello may be read after its parent's process.exited).
    return node.exitedAt !== null && (created ?? t) > node.exitedAt;
  }

  private createNode(pid: number, since: number, fields: Partial<ProcessInfo>): ProcessInfo {
    let key = `${this.runId}:${pid}:${Math.round(since)}`;
    for (let i = 2; this.nodes.has(key); i++) key = `${this.runId}:${pid}:${Math.round(since)}.${i}`;
    const node: ProcessInfo = {
      key,
      runId: this.runId,
      pid,
      ppid: null,
      parentPid: null,
      parentKey: null,
      name: `pid ${pid}`,
      daemon: false,
      kind: 'process',
      role: null,
      startMethod: null,
      target: null,
      command: null,
      state: 'running',
      exitCode: null,
      signal: null,
      joined: false,
      collectedBy: null,
      reaped: false,
      orphaned: false,
      instrumented: false,
      poolId: null,
      site: null,
      codeDoneAt: null,
      createdAt: null,
      startedAt: since,
      exitedAt: null,
      paused: null,
      cpuPercent: null,
      rssBytes: null,
      cpuSeconds: null,
      peakRssBytes: null,
      wait: null,
      lastWait: null,
      waitingThreads: 0,
      threads: null,
      task: null,
      tasksDone: 0,
      workerCpuSeconds: null,
      ...fields,
    };
    if (pid === this.rootPidValue) node.parentPid = null;
    this.nodes.set(key, node);
    this.current.set(pid, key);
    this.live.add(key);
    this.attach(node, this.resolveParentKey(node));
    this.changes.process(node.key);
    this.changes.structural();
    // Children that arrived before this node (their hello raced ours) move under it now.
    const waiting = this.waitingForParent.get(pid);
    if (waiting) {
      this.waitingForParent.delete(pid);
      for (const childKey of waiting) {
        const child = this.nodes.get(childKey);
        if (child && child.parentKey === null && child.key !== key) this.place(child);
      }
    }
    return node;
  }

  private resolveParentKey(node: ProcessInfo): string | null {
    if (node.pid === this.rootPidValue) return null;
    const parentPid = node.kind === 'os' ? node.ppid ?? node.parentPid : node.parentPid ?? node.ppid;
    if (parentPid === null || parentPid === node.pid) return null;
    const parentKey = this.current.get(parentPid);
    if (parentKey !== undefined && parentKey !== node.key) return parentKey;
    let waiting = this.waitingForParent.get(parentPid);
    if (!waiting) this.waitingForParent.set(parentPid, (waiting = new Set()));
    waiting.add(node.key);
    return null;
  }

  /** Re-attaches a node where its (possibly updated) parent fields say it belongs. */
  private place(node: ProcessInfo): void {
    const parentKey = this.resolveParentKey(node);
    if (parentKey === node.parentKey) return;
    // Never create a cycle (a confused report making a process its own ancestor).
    for (let k: string | null = parentKey; k !== null; k = this.nodes.get(k)?.parentKey ?? null) if (k === node.key) return;
    this.detach(node);
    this.attach(node, parentKey);
    this.changes.process(node.key);
  }

  private attach(node: ProcessInfo, parentKey: string | null): void {
    node.parentKey = parentKey;
    let set = this.childIndex.get(parentKey ?? TOP);
    if (!set) this.childIndex.set(parentKey ?? TOP, (set = new Set()));
    set.add(node.key);
    this.changes.structural();
  }

  private detach(node: ProcessInfo): void {
    const set = this.childIndex.get(node.parentKey ?? TOP);
    set?.delete(node.key);
    if (set && set.size === 0 && node.parentKey !== null) this.childIndex.delete(node.parentKey);
    this.changes.structural();
  }

  private update(node: ProcessInfo, patch: Partial<ProcessInfo>): void {
    let changed = false;
    for (const [field, value] of Object.entries(patch) as [keyof ProcessInfo, unknown][]) {
      if (value === undefined || node[field] === value) continue;
      (node as unknown as Record<string, unknown>)[field] = value;
      changed = true;
    }
    if (changed) this.changes.process(node.key);
  }

  private exit(node: ProcessInfo, exitCode: number | null, t: number, state: 'zombie' | 'exited'): void {
    const wasRunning = node.state === 'running';
    const code = exitCode ?? node.exitCode ?? this.selfReportedExit.get(node.key) ?? null;
    this.selfReportedExit.delete(node.key);
    this.update(node, {
      state,
      exitCode: code,
      signal: signalName(code),
      exitedAt: node.exitedAt ?? t,
      reaped: state === 'exited' ? true : node.reaped,
      paused: null,
      // Live figures describe a running process; its totals come from its end (process.usage).
      cpuPercent: null,
      rssBytes: null,
    });
    if (state === 'exited') {
      this.live.delete(node.key);
      this.exitedOrder.add(node.key);
    }
    if (wasRunning) {
      this.options.onEnd?.(node, t);
      for (const child of this.children(node.key)) {
        // One that already said it is exiting (its parent waited for it) is no orphan.
        if (child.state === 'running' && !this.selfReportedExit.has(child.key)) this.update(child, { orphaned: true });
        // A zombie whose OS parent died is reaped by init at once.
        else if (child.state === 'zombie' && child.ppid === node.pid) this.exit(child, null, t, 'exited');
      }
    }
    if (this.exitedOrder.size > this.options.maxExited) this.evict();
  }

  private evict(): void {
    // Evict a tenth below the cap at a time so the scan is amortised over many exits.
    const target = Math.floor(this.options.maxExited * 0.9);
    for (const key of this.exitedOrder) {
      if (this.exitedOrder.size <= target) break;
      const node = this.nodes.get(key);
      if (!node) {
        this.exitedOrder.delete(key);
        continue;
      }
      // Only leaves: an exited parent stays while anything is shown under it.
      if (!this.childIndex.get(key)?.size) this.removeNode(node);
    }
  }

  private removeNode(node: ProcessInfo): void {
    this.detach(node);
    this.nodes.delete(node.key);
    this.live.delete(node.key);
    this.exitedOrder.delete(node.key);
    this.selfReportedExit.delete(node.key);
    this.cpuFromParent.delete(node.key);
    this.childIndex.delete(node.key);
    this.options.onForget(node.key);
    if (node.parentPid !== null) this.waitingForParent.get(node.parentPid)?.delete(node.key);
    if (node.ppid !== null) this.waitingForParent.get(node.ppid)?.delete(node.key);
    if (this.current.get(node.pid) === node.key) {
      this.current.delete(node.pid);
      if (node.pid !== this.rootPidValue) this.members.delete(node.pid);
    }
    this.changes.process(node.key);
  }
}

/** OS listings come in pid order; parents must be created before their children. */
function parentsFirst(processes: readonly OsProcess[]): OsProcess[] {
  const byParent = new Map<number, OsProcess[]>();
  const pids = new Set(processes.map((p) => p.pid));
  const roots: OsProcess[] = [];
  for (const p of processes) {
    if (!pids.has(p.ppid)) roots.push(p);
    else {
      let list = byParent.get(p.ppid);
      if (!list) byParent.set(p.ppid, (list = []));
      list.push(p);
    }
  }
  const out: OsProcess[] = [];
  const seen = new Set<number>();
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p.pid)) continue;
    seen.add(p.pid);
    out.push(p);
    for (const child of [...(byParent.get(p.pid) ?? [])].reverse()) stack.push(child);
  }
  // Cycles (impossible in a consistent listing) are appended rather than lost.
  for (const p of processes) if (!seen.has(p.pid)) out.push(p);
  return out;
}
