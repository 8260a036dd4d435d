// Every process of a run, however it is related to the root now. The OS scan walks the
// tree from the root, but a process whose parent died (a `subprocess` child of a
// multiprocessing child that returned without waiting, a grandchild whose parent a stop
// just terminated) is reparented to init and is no longer anyone's descendant. What every
// process of a run still has is the environment it was started with: the launcher puts
// MPTREE_RUN_ID in it, and each child inherits it (Linux shows it in /proc/PID/environ).
import * as fs from 'node:fs';

/** Linux with a readable /proc: the only place a process's environment can be read. */
export function canFindRunMembers(): boolean {
  return process.platform === 'linux' && fs.existsSync('/proc/self/environ');
}

/**
 * Pids of the live processes started with MPTREE_RUN_ID=runId (synchronous: dispose runs at
 * process exit). A zombie's environ reads empty, so the dead are not listed. A process that
 * replaced its environment at exec (`env -i`, `subprocess(env={})`) cannot be found this
 * way; the descendant walk still finds it while its parent lives.
 */
export function runMembersSync(runId: string): number[] {
  if (!canFindRunMembers() || !/^[\w-]+$/.test(runId)) return [];
  const needle = Buffer.from(`MPTREE_RUN_ID=${runId}\0`, 'latin1');
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let env: Buffer;
    try {
      // Other users' processes are unreadable (EACCES), vanished ones ENOENT: not ours.
      env = fs.readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue;
    }
    const at = env.indexOf(needle);
    // A whole entry: at the start of the block or right after a NUL.
    if (at === 0 || (at > 0 && env[at - 1] === 0)) found.push(pid);
  }
  return found;
}

/** The process group of pid (Linux, /proc), or null when unknown. */
export function processGroupOf(pid: number): number | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command (which may hold spaces and parentheses): state ppid pgrp …
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(rest[2]);
    return Number.isSafeInteger(pgrp) && pgrp > 0 ? pgrp : null;
  } catch {
    return null;
  }
}
