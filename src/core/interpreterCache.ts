// What an interpreter said of itself (version, sys.executable), remembered by the binary's
// file identity so that a run does not start Python twice (once to ask, once to run). An
// entry counts only while the file at the resolved path is the same file (device, inode,
// size, mtime); a replaced or upgraded interpreter is asked again. Only an executable binary
// is remembered, never a script (a wrapper with or without `#!`, a version manager's shim):
// what a script runs depends on the environment, the working directory and files it
// reads, not on its own bytes.
//
// The cache is one small JSON file, written atomically (a temporary file renamed over it);
// a missing, broken or foreign one is ignored and rewritten.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface CachedInterpreter {
  executable: string;
  version: [number, number, number];
}

interface FileIdentity {
  real: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

interface Entry extends CachedInterpreter {
  identity: FileIdentity;
}

const FILE_NAME = 'interpreters.json';
/** A user has a handful of interpreters; a bound keeps the file small if paths churn (venvs). */
const MAX_ENTRIES = 32;

/** The folder for mptree's cache: $XDG_CACHE_HOME/mptree, ~/.cache/mptree, else the temp dir's mptree-UID. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MPTREE_CACHE_DIR) return env.MPTREE_CACHE_DIR;
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'mptree');
  const home = os.homedir();
  if (home && process.platform !== 'win32') return path.join(home, '.cache', 'mptree');
  const uid = typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
  return path.join(os.tmpdir(), `mptree-${uid}`);
}

/** The identity of the binary `command` runs, or null when it is a script or cannot be read. */
function identityOf(command: string): FileIdentity | null {
  try {
    const real = fs.realpathSync(command);
    const fd = fs.openSync(real, 'r');
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) return null;
      const head = Buffer.alloc(4);
      if (fs.readSync(fd, head, 0, 4, 0) !== 4 || !isBinary(head)) return null;
      return { real, dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

/**
 * An executable format (ELF, Mach-O, PE): anything else is run by a shell or an interpreter
 * (a `#!` line, or none at all: execvp's fallback to /bin/sh), so its answer is not its own.
 */
function isBinary(head: Buffer): boolean {
  const magic = head.readUInt32BE(0);
  if (magic === 0x7f454c46) return true; // \x7fELF
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) return true; // Mach-O, fat
  return head[0] === 0x4d && head[1] === 0x5a; // MZ (Windows)
}

const sameIdentity = (a: FileIdentity, b: FileIdentity) =>
  a.real === b.real && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

/**
 * Only a folder and file of our own that nobody else can write: a cached `executable` is
 * what the run launches, so a planted entry would run someone else's program.
 */
function trustworthy(stat: fs.Stats): boolean {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return true;
  return stat.uid === process.getuid() && (stat.mode & 0o022) === 0;
}

function readEntries(dir: string): Record<string, Entry> {
  try {
    if (!trustworthy(fs.statSync(dir))) return {};
    const file = path.join(dir, FILE_NAME);
    const fd = fs.openSync(file, 'r');
    try {
      if (!trustworthy(fs.fstatSync(fd))) return {};
      const parsed = JSON.parse(fs.readFileSync(fd, 'utf8')) as { v?: unknown; entries?: unknown };
      if (parsed?.v !== 1 || typeof parsed.entries !== 'object' || parsed.entries === null) return {};
      return parsed.entries as Record<string, Entry>;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return {};
  }
}

function validEntry(entry: unknown): entry is Entry {
  const e = entry as Entry | null;
  return (
    typeof e === 'object' && e !== null && typeof e.executable === 'string' &&
    Array.isArray(e.version) && e.version.length === 3 && e.version.every((n) => Number.isInteger(n)) &&
    typeof e.identity === 'object' && e.identity !== null
  );
}

export class InterpreterCache {
  constructor(private readonly dir: string) {}

  private static keyOf(command: string, prefix: readonly string[]): string {
    return JSON.stringify([command, ...prefix]);
  }

  /** What `command` said last time, if it is still the same binary. */
  get(command: string, prefix: readonly string[] = []): CachedInterpreter | null {
    const entry = readEntries(this.dir)[InterpreterCache.keyOf(command, prefix)];
    if (!validEntry(entry)) return null;
    const identity = identityOf(command);
    if (!identity || !sameIdentity(identity, entry.identity)) return null;
    return { executable: entry.executable, version: [...entry.version] as [number, number, number] };
  }

  /** Remembers a successful check (a script is not remembered). Never throws. */
  set(command: string, prefix: readonly string[], value: CachedInterpreter): void {
    const identity = identityOf(command);
    if (!identity) return;
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const entries = readEntries(this.dir);
      const key = InterpreterCache.keyOf(command, prefix);
      delete entries[key];
      entries[key] = { executable: value.executable, version: value.version, identity };
      const keys = Object.keys(entries);
      for (const old of keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES))) delete entries[old];
      const tmp = path.join(this.dir, `${FILE_NAME}.${process.pid}.${Date.now()}.tmp`);
      fs.writeFileSync(tmp, JSON.stringify({ v: 1, entries }) + '\n', { mode: 0o600 });
      fs.renameSync(tmp, path.join(this.dir, FILE_NAME));
    } catch {
      // A read-only home or a full disk: the next run asks the interpreter again.
    }
  }
}
