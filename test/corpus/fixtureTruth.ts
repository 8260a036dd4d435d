// The truth a fixture records about itself (test/fixtures/_truth.py) against a snapshot.
import type { SnapshotJson } from '../../src/core/types';

/** What test/fixtures/_truth.py writes. Null in a field: the program does not know it. */
export interface FixtureTruth {
  main: number;
  processes: Array<{ pid: number; name: string | null; daemon: boolean; exitCode: number | null; joined: boolean | null; kind: string; parentPid: number; collectedBy?: string | null }>;
  queues: Array<{ kind: string; maxsize: number; puts: number; gets: number; tasksDone: number; ownerPid: number }>;
  pools: Array<{ kind: string; size: number; workers: number[]; submitted: number; completed: number }>;
}

/** Every difference between what the program recorded and what the snapshot says. */
export function fixtureMismatches(snap: SnapshotJson, truth: FixtureTruth): string[] {
  const problems: string[] = [];
  const say = (what: string, got: unknown, want: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${what}: tree ${JSON.stringify(got)}, program ${JSON.stringify(want)}`);
  };
  const main = snap.processes.find((p) => p.kind === 'main');
  say('main pid', main?.pid, truth.main);
  const known = new Set<number>([truth.main, ...truth.processes.map((p) => p.pid), ...truth.pools.flatMap((p) => p.workers)]);
  for (const t of truth.processes) {
    const p = snap.processes.find((s) => s.pid === t.pid);
    if (!p) {
      problems.push(`process ${t.pid} (${t.name}) is missing from the tree`);
      continue;
    }
    const label = `${t.name ?? p.name} [${t.pid}]`;
    if (t.name !== null) say(`${label} name`, p.name, t.name);
    say(`${label} parentPid`, p.parentPid, t.parentPid);
    say(`${label} daemon`, p.daemon, t.daemon);
    say(`${label} kind`, p.kind, t.kind);
    say(`${label} exitCode`, p.exitCode, t.exitCode);
    if (t.joined !== null) say(`${label} joined`, p.joined, t.joined);
    if (t.collectedBy) say(`${label} collectedBy`, p.collectedBy, t.collectedBy);
    if (t.exitCode !== null) say(`${label} state`, p.state, 'exited');
  }
  // The program's own processes only: the resource tracker and the forkserver are not its.
  for (const p of snap.processes) {
    const helper = p.kind === 'helper' && p.role !== 'manager';
    if (!helper && p.kind !== 'os' && !known.has(p.pid)) problems.push(`the tree shows ${p.kind} ${p.pid} (${p.name}) the program never started`);
  }
  const owners = new Set([...truth.queues.map((q) => q.ownerPid), ...snap.queues.map((q) => q.ownerPid)]);
  for (const owner of owners) {
    const want = truth.queues.filter((q) => q.ownerPid === owner);
    const got = snap.queues.filter((q) => q.ownerPid === owner).sort((a, b) => serial(a.id) - serial(b.id));
    say(`process ${owner}'s queues`, got.map((q) => q.kind), want.map((q) => q.kind));
    want.forEach((w, i) => {
      const g = got[i];
      if (!g) return;
      say(`${g.id} puts`, g.puts, w.puts);
      say(`${g.id} gets`, g.gets, w.gets);
      say(`${g.id} depth`, g.depth, w.puts - w.gets);
      if (w.maxsize > 0) say(`${g.id} maxsize`, g.maxsize, w.maxsize);
      if (w.kind === 'JoinableQueue') say(`${g.id} unfinished`, g.unfinished, w.puts - w.tasksDone);
    });
  }
  const poolOwners = new Set(snap.pools.map((p) => p.ownerPid));
  if (truth.pools.length) poolOwners.add(truth.main);
  for (const owner of poolOwners) {
    const want = owner === truth.main ? truth.pools : [];
    const got = snap.pools.filter((p) => p.ownerPid === owner).sort((a, b) => serial(a.id) - serial(b.id));
    say(`process ${owner}'s pools`, got.map((p) => p.kind), want.map((p) => p.kind));
    want.forEach((w, i) => {
      const g = got[i];
      if (!g) return;
      say(`${g.id} size`, g.size, w.size);
      say(`${g.id} workers`, [...g.workers].sort((a, b) => a - b), [...w.workers].sort((a, b) => a - b));
      say(`${g.id} submitted`, g.submitted, w.submitted);
      say(`${g.id} completed`, g.completed, w.completed);
      say(`${g.id} pending`, g.pending, w.submitted - w.completed);
    });
  }
  return problems;
}

// q4242-3 / p4242-2: the owner's count of queues and pools made so far.
function serial(id: string): number {
  return Number(/-(\d+)$/.exec(id)?.[1] ?? 0);
}
