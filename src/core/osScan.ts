// The OS view of a run: descendants the runtime cannot report (a `subprocess` child running a
// non-Python program, anything in a program run with `python -I`), and deaths nobody reported.
// One interface, one lister per platform (defaultLister): /proc on Linux, ps-tree on macOS,
// CIM through PowerShell on Windows (ps-tree's wmic is gone from Windows 11).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import type psTreeModule from 'ps-tree';
import { findOnPath } from './python';
import { CIM_USAGE_FIELDS, parseCimUsage, ProcUsageReader, PsUsageReader, type UsageReader, type UsageReading } from './processUsage';

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

/** One row of `ps -A -o ppid,pid,stat,comm` as ps-tree yields it: keyed by ps's own headers. */
export type PsRow = Readonly<Record<string, string | undefined>>;

/**
 * A ps row as an OsProcess, or null for a row that is not one. The headers differ: procps
 * (Linux) says COMMAND and marks a zombie "name <defunct>"; BSD ps (macOS) says COMM, gives the
 * executable's full path, and shows a zombie as "<defunct>" or "(name)".
 */
export function psRowToProcess(row: PsRow): OsProcess | null {
  const pid = Number(row.PID);
  const ppid = Number(row.PPID);
  if (!row.PID || !row.PPID || !Number.isSafeInteger(pid) || !Number.isSafeInteger(ppid)) return null;
  const stat = row.STAT ?? '';
  const zombie = stat.startsWith('Z');
  let command = (row.COMMAND ?? row.COMM ?? '').trim().replace(/\s*<defunct>$/, '');
  if (zombie) command = command.replace(/^\((.*)\)$/, '$1');
  return { pid, ppid, command, stat, zombie };
}

/**
 * Linux and macOS: the ps-tree package (`ps -A -o ppid,pid,stat,comm`). Known limits of
 * ps-tree: one pass in pid order, so a child whose pid is lower than its parent's (after pid
 * wrap-around) is missed until the next wrap-free scan; comm is cut to 15 characters on Linux.
 */
export class PsTreeLister implements OsProcessLister {
  readonly name = 'ps-tree';
  // ps-tree spawns `ps` without an 'error' listener: a missing `ps` would crash the process,
  // so check for it once and report nothing instead.
  private readonly available = findOnPath('ps') !== null;

  list(rootPid: number): Promise<OsProcess[]> {
    if (!this.available) return Promise.resolve([]);
    // Loaded at the first listing, not with the CLI: most runs end before one is needed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const psTree = require('ps-tree') as typeof psTreeModule;
    return new Promise((resolve, reject) => {
      let settled = false;
      psTree(rootPid, (error, children) => {
        if (settled) return;
        settled = true;
        if (error) return reject(error);
        const result: OsProcess[] = [];
        for (const child of children) {
          const process = psRowToProcess(child as unknown as PsRow);
          if (process) result.push(process);
        }
        resolve(result);
      });
    });
  }
}

/** What CimLister asks PowerShell for: every process with its CPU times and working set, as one line of JSON. */
export const CIM_QUERY =
  `Get-CimInstance -ClassName Win32_Process | Select-Object ParentProcessId,Name,CommandLine,${CIM_USAGE_FIELDS} | ConvertTo-Json -Compress`;

interface CimProcess {
  ProcessId?: unknown;
  ParentProcessId?: unknown;
  Name?: unknown;
  CommandLine?: unknown;
  CreationDate?: unknown;
}

/** Milliseconds since the epoch of a CIM date as ConvertTo-Json writes it, or null. */
export function cimDateMs(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  // Windows PowerShell 5.1: "/Date(1733400000123)/"; PowerShell 7: an ISO 8601 string.
  const legacy = /^\/Date\((-?\d+)\)\/$/.exec(value);
  if (legacy) return Number(legacy[1]);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Every descendant of rootPid in CIM_QUERY's output. Windows never reparents: a child keeps
 * the pid of its dead parent as ParentProcessId, and that pid may be reused by a stranger, so
 * a process created before its supposed parent is not its child. No zombies on Windows.
 */
export function parseCimProcesses(json: string, rootPid: number): OsProcess[] {
  const text = json.trim();
  if (!text) return [];
  const parsed = JSON.parse(text) as CimProcess | CimProcess[];
  // ConvertTo-Json writes a lone object, not an array, when there is one process.
  const rows = Array.isArray(parsed) ? parsed : [parsed];
  const byPid = new Map<number, { pid: number; ppid: number; command: string; created: number | null }>();
  for (const row of rows) {
    const pid = Number(row?.ProcessId);
    const ppid = Number(row?.ParentProcessId);
    if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(ppid)) continue;
    const commandLine = typeof row.CommandLine === 'string' ? row.CommandLine.trim() : '';
    const command = commandLine || (typeof row.Name === 'string' ? row.Name : '');
    byPid.set(pid, { pid, ppid, command, created: cimDateMs(row.CreationDate) });
  }
  const children = new Map<number, number[]>();
  for (const process of byPid.values()) {
    if (process.pid === process.ppid) continue; // the System Idle Process is its own parent
    const parent = byPid.get(process.ppid);
    if (parent && parent.created !== null && process.created !== null && process.created < parent.created) continue;
    let list = children.get(process.ppid);
    if (!list) children.set(process.ppid, (list = []));
    list.push(process.pid);
  }
  const result: OsProcess[] = [];
  const seen = new Set<number>([rootPid]);
  const queue = [rootPid];
  while (queue.length > 0) {
    for (const pid of children.get(queue.shift()!) ?? []) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      queue.push(pid);
      const { ppid, command } = byPid.get(pid)!;
      result.push({ pid, ppid, command, stat: '', zombie: false });
    }
  }
  return result;
}

export type CommandRunner = (file: string, args: readonly string[]) => Promise<string>;

const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { windowsHide: true, maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });

/**
 * Windows: CIM's Win32_Process through PowerShell (in every Windows since 7; wmic, which
 * ps-tree uses, is removed from Windows 11). Full command lines; one PowerShell start per
 * scan (a few hundred ms; the session's scans never overlap, the next is timed from the end
 * of the last).
 */
export class CimLister implements OsProcessLister, UsageReader {
  readonly name = 'cim';
  // The listing already holds every process's figures: the scan's usage read right after it
  // takes them from here instead of starting PowerShell a second time.
  private lastUsage: { at: number; readings: Map<number, UsageReading> } | null = null;

  constructor(private readonly run: CommandRunner = runCommand) {}

  async list(rootPid: number): Promise<OsProcess[]> {
    const stdout = await this.run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', CIM_QUERY]);
    const processes = parseCimProcesses(stdout, rootPid);
    this.lastUsage = { at: Date.now(), readings: parseCimUsage(stdout, cimDateMs) };
    return processes;
  }

  async read(pids: readonly number[]): Promise<Map<number, UsageReading>> {
    let usage = this.lastUsage;
    if (!usage || Date.now() - usage.at > 500) {
      await this.list(0);
      usage = this.lastUsage!;
    }
    this.lastUsage = null;
    const result = new Map<number, UsageReading>();
    for (const pid of pids) {
      const reading = usage.readings.get(pid);
      if (reading) result.set(pid, reading);
    }
    return result;
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
}

// One buffer for every /proc/<pid>/stat read: a stat line is a few hundred bytes (comm is at
// most 64), and open + read + close into it costs half of what readFileSync does (no fstat,
// no buffer per file, no chunk list), which is most of a scan of 1,000 processes.
const statBuffer = Buffer.allocUnsafe(4096);

function readStatText(pid: number | string): string | null {
  const file = `/proc/${pid}/stat`;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const length = fs.readSync(fd, statBuffer, 0, statBuffer.length, 0);
    // A line that fills the buffer is not a stat line we know: read it whole.
    return length < statBuffer.length ? statBuffer.toString('latin1', 0, length) : fs.readFileSync(file, 'latin1');
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

function readProcStat(pid: number | string, texts?: Map<number, string>): ProcStat | null {
  const text = readStatText(pid);
  if (text === null) return null;
  texts?.set(Number(pid), text);
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

/**
 * Linux only: reads /proc directly (full command lines, no child process per scan). Its
 * listing has read every /proc/<pid>/stat already, so the usage read of the same scan parses
 * those texts instead of reading them again.
 */
export class ProcLister implements OsProcessLister, UsageReader {
  readonly name = 'proc';
  private lastTexts: { at: number; texts: Map<number, string> } | null = null;
  private readonly usage = new ProcUsageReader();

  static isSupported(): boolean {
    return process.platform === 'linux' && fs.existsSync('/proc/self/stat');
  }

  async read(pids: readonly number[]): Promise<Map<number, UsageReading>> {
    const last = this.lastTexts;
    this.lastTexts = null;
    if (!last || Date.now() - last.at > 500) return this.usage.read(pids);
    return this.usage.parse(pids, last.texts);
  }

  async list(rootPid: number): Promise<OsProcess[]> {
    const byParent = new Map<number, ProcStat[]>();
    const texts = new Map<number, string>();
    this.lastTexts = { at: Date.now(), texts };
    for (const entry of await fs.promises.readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      // Processes vanish between readdir and read: a null is normal, not an error.
      const stat = readProcStat(entry, texts);
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

/**
 * The usage reader for this platform: /proc on Linux, ps on macOS and the other Unixes; on
 * Windows the CIM lister itself (its listing has the figures), which must be the scan's lister.
 */
export function defaultUsageReader(lister: OsProcessLister, platform: NodeJS.Platform = process.platform): UsageReader {
  if (lister instanceof CimLister || lister instanceof ProcLister) return lister;
  if (platform === 'linux' && fs.existsSync('/proc/self/stat')) return new ProcUsageReader();
  return new PsUsageReader();
}

/**
 * The lister for this platform: CIM on Windows, /proc on Linux (no `ps` started per scan, and
 * the stat texts it reads give every process's CPU and memory too: with 1,000 processes the
 * scan with figures costs what ps-tree's listing alone did), ps-tree on macOS and the other Unixes.
 */
export function defaultLister(platform: NodeJS.Platform = process.platform): OsProcessLister {
  if (platform === 'win32') return new CimLister();
  if (platform === 'linux' && fs.existsSync('/proc/self/stat')) return new ProcLister();
  return new PsTreeLister();
}
