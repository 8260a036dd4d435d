// What each live process costs, as the OS tells it: CPU time used so far and resident memory,
// read once per OS scan for the pids the scan is about, and CPU % of one core from the CPU
// time used between two scans. One reader per platform (defaultUsageReader): /proc on Linux,
// `ps` on macOS and the other Unixes, CIM on Windows. A figure the OS does not give (a zombie's
// memory, a process that vanished before it was read, one hidden from us) is null, never 0.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { findOnPath } from './python';

/** One process's figures at one moment. */
export interface UsageReading {
  pid: number;
  /** User + system CPU seconds used since it started; null where unknown. */
  cpuSeconds: number | null;
  /** Resident memory in bytes; null where unknown (a zombie has none to tell). */
  rssBytes: number | null;
  /** When it started, ms since the epoch, where the OS says: a pid reused by another process starts later. */
  startMs: number | null;
  /** CPU % of one core as the OS itself averages it (BSD ps), used until two readings give a real rate. */
  osCpuPercent?: number | null;
}

export interface UsageReader {
  readonly name: string;
  /** Readings for those of the pids that still exist; a pid missing from the map is unknown. */
  read(pids: readonly number[]): Promise<Map<number, UsageReading>>;
}

/** A live process's figures as the tree shows them. */
export interface LiveUsage {
  /** CPU % of one core between the last two scans (may exceed 100 with threads); null until known. */
  cpuPercent: number | null;
  rssBytes: number | null;
  cpuSeconds: number | null;
  startMs: number | null;
}

// ---------------------------------------------------------------------------------------------
// Linux: /proc/<pid>/stat has it all (utime, stime, starttime in clock ticks, rss in pages).

export interface ProcClock {
  /** Clock ticks per second (sysconf(_SC_CLK_TCK), 100 on every Linux we know). */
  ticksPerSecond: number;
  pageBytes: number;
  /** Boot time, ms since the epoch (/proc/stat btime), to turn starttime into a date. */
  bootMs: number | null;
}

/** Figures from the text of /proc/<pid>/stat, or null for a text that is not one. */
export function parseProcStatUsage(text: string, clock: ProcClock): UsageReading | null {
  // comm is in parentheses and may hold spaces and parentheses itself: split at the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // Field 3 (state) is rest[0], so field n is rest[n - 3].
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const field = (n: number): number | null => {
    const value = Number(rest[n - 3]);
    return rest[n - 3] !== undefined && Number.isFinite(value) && value >= 0 ? value : null;
  };
  if (!Number.isSafeInteger(pid) || rest.length < 22) return null;
  const utime = field(14);
  const stime = field(15);
  const start = field(22);
  const rssPages = field(24);
  const zombie = rest[0] === 'Z' || rest[0] === 'X';
  return {
    pid,
    cpuSeconds: utime === null || stime === null ? null : (utime + stime) / clock.ticksPerSecond,
    // A zombie's memory is freed: its rss field reads 0, which is not a figure.
    rssBytes: zombie || rssPages === null ? null : rssPages * clock.pageBytes,
    startMs: start === null || clock.bootMs === null ? null : clock.bootMs + (start / clock.ticksPerSecond) * 1000,
  };
}

function getconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isSafeInteger(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

// The kernel's auxiliary vector entries that sysconf(_SC_PAGESIZE) and sysconf(_SC_CLK_TCK)
// themselves return (glibc and musl read them from there).
const AT_PAGESZ = 6;
const AT_CLKTCK = 17;

/**
 * Page size and clock ticks from /proc/self/auxv (pairs of native words: type, value), or
 * null where it cannot be read. Reading a file costs microseconds; a `getconf` run costs a
 * fork and exec, which a short run paid at its end.
 */
export function auxvClock(auxv: Buffer, wordBytes: 4 | 8): { ticksPerSecond: number; pageBytes: number } | null {
  let ticksPerSecond = 0;
  let pageBytes = 0;
  for (let at = 0; at + 2 * wordBytes <= auxv.length; at += 2 * wordBytes) {
    const type = wordBytes === 8 ? Number(auxv.readBigUInt64LE(at)) : auxv.readUInt32LE(at);
    const value = wordBytes === 8 ? Number(auxv.readBigUInt64LE(at + 8)) : auxv.readUInt32LE(at + 4);
    if (type === 0) break;
    if (type === AT_PAGESZ) pageBytes = value;
    else if (type === AT_CLKTCK) ticksPerSecond = value;
  }
  // A page is a power of two of at least 1 KiB; anything else is a misread (another word size).
  const pageOk = pageBytes >= 1024 && (pageBytes & (pageBytes - 1)) === 0;
  return pageOk && ticksPerSecond > 0 ? { ticksPerSecond, pageBytes } : null;
}

function ownAuxvClock(): { ticksPerSecond: number; pageBytes: number } | null {
  // Little-endian 64-bit is every Linux Node ships for but arm (32-bit); others use getconf.
  if (os.endianness() !== 'LE' || !['x64', 'arm64', 'riscv64', 'loong64', 'ppc64'].includes(process.arch)) return null;
  try {
    return auxvClock(fs.readFileSync('/proc/self/auxv'), 8);
  } catch {
    return null;
  }
}

/** This machine's clock and page size, read once (/proc/self/auxv, else two `getconf` runs; /proc/stat). */
export function procClock(): ProcClock {
  let bootMs: number | null = null;
  try {
    const btime = /^btime\s+(\d+)$/m.exec(fs.readFileSync('/proc/stat', 'latin1'));
    if (btime) bootMs = Number(btime[1]) * 1000;
  } catch {
    // No /proc/stat: start times stay unknown, reuse is then told by the start field alone.
  }
  const own = ownAuxvClock();
  if (own) return { ...own, bootMs };
  return { ticksPerSecond: getconf('CLK_TCK', 100), pageBytes: getconf('PAGESIZE', 4096), bootMs };
}

/** Linux: one read of /proc/<pid>/stat per pid, no child process. */
export class ProcUsageReader implements UsageReader {
  readonly name = 'proc';
  private clockValue: ProcClock | null = null;

  constructor(clock?: ProcClock, private readonly procRoot = '/proc') {
    this.clockValue = clock ?? null;
  }

  async read(pids: readonly number[]): Promise<Map<number, UsageReading>> {
    return this.parse(pids, new Map());
  }

  /** Readings from stat texts already read (a /proc listing's), reading those it lacks. */
  parse(pids: readonly number[], texts: ReadonlyMap<number, string>): Map<number, UsageReading> {
    // Nothing to read (a run's last scan once all is gone): the clock need not be known yet.
    if (pids.length === 0) return new Map();
    const clock = (this.clockValue ??= procClock());
    const result = new Map<number, UsageReading>();
    for (const pid of pids) {
      let text = texts.get(pid);
      if (text === undefined) {
        try {
          text = fs.readFileSync(`${this.procRoot}/${pid}/stat`, 'latin1');
        } catch {
          // Gone since it was listed, or hidden (hidepid): unknown, not an error.
          continue;
        }
      }
      const reading = parseProcStatUsage(text, clock);
      if (reading && reading.pid === pid) result.set(pid, reading);
    }
    return result;
  }
}

// ---------------------------------------------------------------------------------------------
// macOS and the other Unixes: `ps` for just the pids wanted.

/** The ps columns asked for; lstart (a date with spaces) last, so it is the rest of the line. */
export const PS_USAGE_ARGS = ['-o', 'pid=,%cpu=,rss=,time=,state=,lstart='] as const;

/** Seconds in ps's cumulative `time`: `[[dd-]hh:]mm:ss[.cc]`, or null. */
export function psTimeSeconds(text: string): number | null {
  const match = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!match) return null;
  const [, days, hours, minutes, seconds] = match;
  return Number(days ?? 0) * 86400 + Number(hours ?? 0) * 3600 + Number(minutes) * 60 + Number(seconds);
}

/** Readings from `ps -o pid=,%cpu=,rss=,time=,state=,lstart= -p …` (rss in KiB, as both BSD and procps print it). */
export function parsePsUsage(stdout: string): Map<number, UsageReading> {
  const result = new Map<number, UsageReading>();
  for (const line of stdout.split('\n')) {
    const columns = line.trim().split(/\s+/);
    if (columns.length < 5) continue;
    const [pidText, cpuText, rssText, timeText, state, ...lstart] = columns;
    const pid = Number(pidText);
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    const rssKiB = Number(rssText);
    const percent = Number(cpuText);
    const started = lstart.length ? Date.parse(lstart.join(' ')) : NaN;
    const zombie = state.startsWith('Z');
    result.set(pid, {
      pid,
      cpuSeconds: psTimeSeconds(timeText),
      rssBytes: zombie || !Number.isFinite(rssKiB) || rssKiB < 0 ? null : rssKiB * 1024,
      // lstart has whole seconds in local time: enough to tell a later process apart.
      startMs: Number.isNaN(started) ? null : started,
      osCpuPercent: zombie || !Number.isFinite(percent) ? null : percent,
    });
  }
  return result;
}

export type UsageCommandRunner = (file: string, args: readonly string[]) => Promise<string>;

const runCommand: UsageCommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { windowsHide: true, maxBuffer: 16 * 1024 * 1024, timeout: 30_000 }, (error, stdout) => {
      // ps exits 1 when some pid is gone; what it printed for the others still counts.
      if (error && !stdout) reject(error);
      else resolve(stdout);
    });
  });

/** macOS and the other Unixes: one `ps` per scan for the pids wanted. */
export class PsUsageReader implements UsageReader {
  readonly name = 'ps';
  private readonly available: boolean;

  constructor(private readonly run: UsageCommandRunner = runCommand, available?: boolean) {
    this.available = available ?? findOnPath('ps') !== null;
  }

  async read(pids: readonly number[]): Promise<Map<number, UsageReading>> {
    if (!this.available || pids.length === 0) return new Map();
    try {
      return parsePsUsage(await this.run('ps', [...PS_USAGE_ARGS, '-p', pids.join(',')]));
    } catch {
      return new Map();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Windows: CIM's Win32_Process (times in 100 ns units, working set in bytes).

export const CIM_USAGE_FIELDS = 'ProcessId,UserModeTime,KernelModeTime,WorkingSetSize,CreationDate';

interface CimUsageRow {
  ProcessId?: unknown;
  UserModeTime?: unknown;
  KernelModeTime?: unknown;
  WorkingSetSize?: unknown;
  CreationDate?: unknown;
}

const cimNumber = (value: unknown): number | null => {
  // UInt64 values arrive as numbers, or as strings from some PowerShell versions.
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
};

/** Readings from CIM rows (ConvertTo-Json output of Win32_Process with CIM_USAGE_FIELDS). */
export function parseCimUsage(json: string, dateMs: (value: unknown) => number | null): Map<number, UsageReading> {
  const result = new Map<number, UsageReading>();
  const text = json.trim();
  if (!text) return result;
  const parsed = JSON.parse(text) as CimUsageRow | CimUsageRow[];
  for (const row of Array.isArray(parsed) ? parsed : [parsed]) {
    const pid = Number(row?.ProcessId);
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    const user = cimNumber(row.UserModeTime);
    const kernel = cimNumber(row.KernelModeTime);
    // Another user's process: CIM leaves the times and working set empty, so they stay unknown.
    result.set(pid, {
      pid,
      cpuSeconds: user === null || kernel === null ? null : (user + kernel) / 1e7,
      rssBytes: cimNumber(row.WorkingSetSize),
      startMs: dateMs(row.CreationDate),
    });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// From readings to rates.

/**
 * Turns each scan's readings into CPU % of one core: the CPU seconds used since the previous
 * reading of the same process divided by the wall time between them. A pid whose start time
 * changed is another process (the pid was reused): no rate until it has two readings of its own.
 */
export class UsageMeter {
  private readonly previous = new Map<number, { reading: UsageReading; at: number }>();

  update(readings: ReadonlyMap<number, UsageReading>, at: number): Map<number, LiveUsage> {
    const result = new Map<number, LiveUsage>();
    for (const [pid, reading] of readings) {
      const before = this.previous.get(pid);
      let cpuPercent: number | null = reading.osCpuPercent ?? null;
      const sameProcess = before !== undefined && (before.reading.startMs === null || reading.startMs === null || Math.abs(before.reading.startMs - reading.startMs) < 1000);
      if (before && !sameProcess) cpuPercent = null;
      if (before && sameProcess && at > before.at && reading.cpuSeconds !== null && before.reading.cpuSeconds !== null) {
        const used = reading.cpuSeconds - before.reading.cpuSeconds;
        // Less CPU than before cannot be the same process: say nothing rather than something wrong.
        cpuPercent = used >= 0 ? (used / ((at - before.at) / 1000)) * 100 : null;
      }
      result.set(pid, { cpuPercent, rssBytes: reading.rssBytes, cpuSeconds: reading.cpuSeconds, startMs: reading.startMs });
    }
    this.previous.clear();
    for (const [pid, reading] of readings) this.previous.set(pid, { reading, at });
    return result;
  }
}
