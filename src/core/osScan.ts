// The OS view of a run: descendants the runtime cannot report (a `subprocess` child running a
// non-Python program, anything in a program run with `python -I`), and deaths nobody reported.
import * as fs from 'node:fs';
import psTree from 'ps-tree';
import { findOnPath } from './python';

export interface OsProcess {
  pid: number;
  ppid: number;
  /** Short command name (ps comm) or the full command line where the lister knows it. */
  command: string;
  /** The OS state letters (ps STAT / /proc state), e.g. "S", "R+", "Z". */
  stat: string;
  zombie: boolean;
}

export interface OsProcessLister {
  readonly name: string;
  /** Every descendant of rootPid (not rootPid itself). */
  list(rootPid: number): Promise<OsProcess[]>;
}

/**
 * The default: the ps-tree package (`ps -A -o ppid,pid,stat,comm`, wmic on Windows).
 * Known limits of ps-tree: one pass in pid order, so a child whose pid is lower than its
 * parent's (after pid wrap-around) is missed until the next wrap-free scan; comm is cut to
 * 15 characters.
 */
export class PsTreeLister implements OsProcessLister {
  readonly name = 'ps-tree';
  // ps-tree spawns `ps` without an 'error' listener: a missing `ps` would crash the process,
  // so check for it once and report nothing instead.
  private readonly available = process.platform === 'win32' || findOnPath('ps') !== null;

  list(rootPid: number): Promise<OsProcess[]> {
    if (!this.available) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      let settled = false;
      psTree(rootPid, (error, children) => {
        if (settled) return;
        settled = true;
        if (error) return reject(error);
        const result: OsProcess[] = [];
        for (const child of children) {
          const pid = Number(child.PID);
          const ppid = Number(child.PPID);
          if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(ppid)) continue;
          const stat = child.STAT ?? '';
          const command = (child.COMMAND ?? '').replace(/\s*<defunct>\s*$/, '');
          result.push({ pid, ppid, command, stat, zombie: stat.startsWith('Z') });
        }
        resolve(result);
      });
    });
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
}

function readProcStat(pid: number | string): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm is in parentheses and may itself contain spaces and parentheses: split at the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state: rest[0] ?? '', ppid: Number(rest[1]) };
}

function readCmdline(pid: number): string | null {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const text = raw.replace(/\0+$/, '').split('\0').join(' ');
    return text || null;
  } catch {
    return null;
  }
}

/** Linux only: reads /proc directly (full command lines, no child process per scan). */
export class ProcLister implements OsProcessLister {
  readonly name = 'proc';

  static isSupported(): boolean {
    return process.platform === 'linux' && fs.existsSync('/proc/self/stat');
  }

  async list(rootPid: number): Promise<OsProcess[]> {
    const byParent = new Map<number, ProcStat[]>();
    for (const entry of await fs.promises.readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      // Processes vanish between readdir and read: a null is normal, not an error.
      const stat = readProcStat(entry);
      if (!stat) continue;
      let list = byParent.get(stat.ppid);
      if (!list) byParent.set(stat.ppid, (list = []));
      list.push(stat);
    }
    // Walk from the root, so pid order does not matter (unlike ps-tree's single pass).
    const result: OsProcess[] = [];
    const queue = [rootPid];
    const seen = new Set<number>([rootPid]);
    while (queue.length > 0) {
      for (const child of byParent.get(queue.shift()!) ?? []) {
        if (seen.has(child.pid)) continue;
        seen.add(child.pid);
        queue.push(child.pid);
        const zombie = child.state === 'Z';
        result.push({ pid: child.pid, ppid: child.ppid, command: (!zombie && readCmdline(child.pid)) || child.comm, stat: child.state, zombie });
      }
    }
    return result;
  }
}

/**
 * Linux: every live (non-zombie) descendant of the given pids, read from /proc synchronously
 * (for dispose, which cannot wait). Elsewhere an empty list: callers signal what they know.
 */
export function descendantsSync(roots: readonly number[]): number[] {
  if (!ProcLister.isSupported() || roots.length === 0) return [];
  const byParent = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(entry);
    if (!stat || stat.state === 'Z') continue;
    let list = byParent.get(stat.ppid);
    if (!list) byParent.set(stat.ppid, (list = []));
    list.push(stat.pid);
  }
  const seen = new Set<number>(roots);
  const queue = [...roots];
  const result: number[] = [];
  while (queue.length > 0) {
    for (const pid of byParent.get(queue.shift()!) ?? []) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      queue.push(pid);
      result.push(pid);
    }
  }
  return result;
}

export type Liveness = 'alive' | 'zombie' | 'gone';

/** Whether a pid exists, without being a descendant of anything (orphans are reparented). */
export function liveness(pid: number): Liveness {
  if (!Number.isSafeInteger(pid) || pid <= 0) return 'gone';
  if (process.platform === 'linux') {
    const stat = readProcStat(pid);
    // /proc also tells zombies apart, which signal 0 cannot.
    if (stat) return stat.state === 'Z' ? 'zombie' : 'alive';
  }
  // Not in /proc (gone, or /proc hidden): the signal-0 probe decides.
  try {
    process.kill(pid, 0);
    return 'alive';
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'gone';
  }
}

export function defaultLister(): OsProcessLister {
  return new PsTreeLister();
}
