// The model as the JSON a snapshot (`mptree run --snapshot`, Export Run's tree) carries: a
// plain copy of what the tree shows, processes parents first, nothing that is only bookkeeping.
import type { DeadlockJson, LockInfo, PoolInfo, ProcessInfo, QueueInfo, RunInfo, SnapshotJson } from '../types';

/** What a snapshot is made of; `processes` in the tree's order (parents before children). */
export interface SnapshotSource {
  walk(): ProcessInfo[];
  queues(): QueueInfo[];
  pools(): PoolInfo[];
  locks(): LockInfo[];
  /** Every deadlock found while the run lived. */
  deadlocksSeen(): readonly DeadlockJson[];
}

export function snapshotOf(model: SnapshotSource, run: RunInfo): SnapshotJson {
  return {
    version: 1,
    run: {
      script: run.script,
      args: [...run.args],
      python: run.python,
      exitCode: run.exitCode,
      signal: run.signal,
      startedAt: run.startedAt,
      endedAt: run.endedAt,
    },
    processes: model.walk().map((p) => ({
      pid: p.pid,
      ppid: p.ppid,
      parentPid: p.parentPid,
      name: p.name,
      daemon: p.daemon,
      kind: p.kind,
      role: p.role,
      startMethod: p.startMethod,
      target: p.target,
      state: p.state,
      exitCode: p.exitCode,
      signal: p.signal,
      joined: p.joined,
      collectedBy: p.collectedBy,
      orphaned: p.orphaned,
      cpuSeconds: p.cpuSeconds,
      peakRssBytes: p.peakRssBytes,
      // Copies: the snapshot must not change when the model does.
      wait: p.wait ? { ...p.wait, object: { ...p.wait.object } } : p.lastWait ? { ...p.lastWait, object: { ...p.lastWait.object } } : null,
      task: p.task ? { ...p.task } : null,
      ...(p.kind === 'pool-worker' ? { tasksDone: p.tasksDone } : {}),
    })),
    queues: model.queues().map((q) => ({
      id: q.id,
      kind: q.kind,
      ownerPid: q.ownerPid,
      maxsize: q.maxsize,
      depth: q.depth,
      puts: q.puts,
      gets: q.gets,
      unfinished: q.unfinished,
    })),
    pools: model.pools().map((p) => ({
      id: p.id,
      kind: p.kind,
      ownerPid: p.ownerPid,
      size: p.size,
      workers: [...p.workers],
      submitted: p.submitted,
      completed: p.completed,
      pending: p.pending,
    })),
    locks: model.locks().map((l) => ({
      id: l.id,
      kind: l.kind,
      ownerPid: l.ownerPid,
      label: l.label,
      site: l.site,
      holders: l.holders.map((h) => ({ ...h })),
    })),
    deadlocks: model.deadlocksSeen().map((d) => ({
      kind: d.kind,
      pids: [...d.pids],
      objects: [...d.objects],
      sites: [...d.sites],
      message: d.message,
      foundAt: d.foundAt,
    })),
  };
}
