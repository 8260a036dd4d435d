// Finding and checking the Python interpreter a run uses.
// The VS Code layer may first ask the Python extension for its interpreter and pass it in as
// `explicit`; this module only knows PATH lookup and the version check.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalizedError, phrase, type Phrase } from './l10n';
import { InterpreterCache, cacheDir } from './interpreterCache';

export const MIN_PYTHON: readonly [number, number] = [3, 8];

export interface PythonInfo {
  /** What to spawn: the resolved path of the command or explicit path. */
  command: string;
  /** sys.executable as the interpreter reports it. */
  executable: string;
  version: [number, number, number];
  versionString: string;
  /**
   * A version manager's shim, launched as is and not asked first: which Python it runs
   * depends on the folder and the environment, so no check can be remembered, and asking
   * it would cost the shim's whole resolution a second time. The runtime's hello from the
   * program says the version; a program that never says hello is asked afterwards why.
   */
  unchecked?: true;
}

export type PythonErrorCode = 'not-found' | 'not-executable' | 'python2' | 'too-old' | 'failed';

export class PythonError extends LocalizedError {
  constructor(
    readonly code: PythonErrorCode,
    text: Phrase,
  ) {
    super(text);
    this.name = 'PythonError';
  }
}

export interface FindPythonOptions {
  /** A path or a command name from the setting or --python. */
  explicit?: string | null;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** process.platform unless a test says otherwise: which names to try and how PATH reads. */
  platform?: NodeJS.Platform;
  /** Where checks are remembered by file identity; the user's cache folder by default, null for none. */
  cache?: InterpreterCache | null;
}

function isExecutableFile(file: string, platform: NodeJS.Platform = process.platform): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    if (platform === 'win32') return true;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function envValue(env: NodeJS.ProcessEnv, name: string, platform: NodeJS.Platform): string | undefined {
  // Windows spells it Path (and PathExt); the lookup must be case-insensitive there.
  if (platform !== 'win32') return env[name];
  const key = Object.keys(env).find((k) => k.toUpperCase() === name);
  return key === undefined ? undefined : env[key];
}

/** Like `which` (or `where` on Windows, trying PATHEXT's extensions): the first match on PATH, or null. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | null {
  const delimiter = platform === 'win32' ? ';' : ':';
  const dirs = (envValue(env, 'PATH', platform) ?? '').split(delimiter).filter(Boolean);
  const extensions = platform === 'win32' ? (envValue(env, 'PATHEXT', platform) ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean) : [''];
  for (const dir of dirs) {
    for (const ext of extensions) {
      // Windows: "C:\\Python312\\" may come quoted in PATH; a quote is never part of a name.
      const candidate = path.join(dir.replace(/^"(.*)"$/, '$1'), name + ext);
      if (isExecutableFile(candidate, platform)) return candidate;
    }
  }
  return null;
}

/**
 * The interpreters tried, in order, when none is named. POSIX: python3, then python. Windows:
 * python (python.org's installer and the Store put python.exe on PATH; python3.exe is often
 * only the Store's placeholder), then the py launcher with -3, then python3.
 */
export function defaultInterpreters(platform: NodeJS.Platform = process.platform): readonly { name: string; args: readonly string[] }[] {
  if (platform === 'win32') return [{ name: 'python', args: [] }, { name: 'py', args: ['-3'] }, { name: 'python3', args: [] }];
  return [{ name: 'python3', args: [] }, { name: 'python', args: [] }];
}

// Valid in Python 2 and 3 alike, so that a Python 2 interpreter answers and we can say so
// instead of failing on a syntax error.
const PROBE = "import sys; sys.stdout.write('%d %d %d\\n%s\\n' % (sys.version_info[0], sys.version_info[1], sys.version_info[2], sys.executable))";

function probe(command: string, prefix: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, [...prefix, '-c', PROBE], { env, timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

/**
 * Asks `command` (with `prefix` first, e.g. the py launcher's -3) for its version and
 * sys.executable. With a prefix the interpreter found is what runs: its sys.executable.
 */
export async function checkPython(command: string, options: FindPythonOptions = {}, prefix: readonly string[] = []): Promise<PythonInfo> {
  const env = options.env ?? process.env;
  // The check starts a whole interpreter (and a shim its version manager first): a binary
  // already checked, and unchanged since, is not asked again.
  const cache = options.cache === undefined ? new InterpreterCache(cacheDir(env)) : options.cache;
  const cached = cache?.get(command, prefix);
  if (cached) return interpreterInfo(command, prefix, cached.version, cached.executable);
  let output: { stdout: string };
  try {
    output = await probe(command, prefix, env, options.timeoutMs ?? 15_000);
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new PythonError('not-found', phrase('Python interpreter not found: {0}', command));
    if (err.code === 'EACCES') throw new PythonError('not-executable', phrase('Python interpreter is not executable: {0}', command));
    const detail = (err.stderr ?? '').trim().split('\n').pop() || err.message;
    throw new PythonError('failed', phrase('{0} did not run as a Python interpreter: {1}', command, detail));
  }
  const [versionLine, executable] = output.stdout.split('\n');
  const parts = (versionLine ?? '').trim().split(' ').map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n))) {
    throw new PythonError('failed', phrase('{0} did not report a Python version', command));
  }
  const version = parts as [number, number, number];
  const versionString = version.join('.');
  if (version[0] < 3) {
    throw new PythonError('python2', phrase('{0} is Python {1}; mptree needs Python {2} or newer (Python 2 is not supported)', command, versionString, MIN_PYTHON.join('.')));
  }
  if (version[0] === MIN_PYTHON[0] && version[1] < MIN_PYTHON[1]) {
    throw new PythonError('too-old', phrase('{0} is Python {1}; mptree needs Python {2} or newer', command, versionString, MIN_PYTHON.join('.')));
  }
  const reported = (executable ?? '').trim();
  cache?.set(command, prefix, { executable: reported, version });
  return interpreterInfo(command, prefix, version, reported);
}

function interpreterInfo(command: string, prefix: readonly string[], version: [number, number, number], reported: string): PythonInfo {
  return { command: prefix.length > 0 && reported ? reported : command, executable: reported || command, version, versionString: version.join('.') };
}

/**
 * A pyenv, asdf or mise shim: a script in a `shims` folder. Launched as is, it resolves the
 * user's Python exactly as the bare command would, and execs it under the same pid.
 */
export function isVersionManagerShim(file: string): boolean {
  if (!file.split(/[\\/]/).includes('shims')) return false;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(2);
      return fs.readSync(fd, head, 0, 2, 0) === 2 && head.toString('latin1') === '#!';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** A shim taken unchecked (see PythonInfo.unchecked): everything else is learnt from the run. */
function uncheckedShim(file: string): PythonInfo {
  return { command: file, executable: file, version: [0, 0, 0], versionString: 'unknown (a version manager shim)', unchecked: true };
}

/** Callers that can check the version beside the program (a run session) take a shim unchecked. */
export interface FindPythonForRunOptions extends FindPythonOptions {
  uncheckedShims?: boolean;
}

/**
 * The interpreter to use: `explicit` when given (a path, or a command name looked up on PATH),
 * else the first of defaultInterpreters() on PATH that answers as Python 3.8+.
 */
export async function findPython(options: FindPythonForRunOptions = {}): Promise<PythonInfo> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const explicit = options.explicit?.trim().replace(/^"(.*)"$/, '$1');
  if (explicit) {
    const looksLikePath = explicit.includes('/') || explicit.includes(path.sep) || (platform === 'win32' && explicit.includes('\\'));
    if (looksLikePath) {
      const resolved = path.resolve(explicit);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(resolved);
      } catch {
        throw new PythonError('not-found', phrase('Python interpreter not found: {0}', explicit));
      }
      if (!stat.isFile() || !isExecutableFile(resolved, platform)) {
        throw new PythonError('not-executable', phrase('Python interpreter is not an executable file: {0}', explicit));
      }
      if (options.uncheckedShims && isVersionManagerShim(resolved)) return uncheckedShim(resolved);
      return checkPython(resolved, options);
    }
    const found = findOnPath(explicit, env, platform);
    if (!found) throw new PythonError('not-found', phrase('Python interpreter not found on PATH: {0}', explicit));
    if (options.uncheckedShims && isVersionManagerShim(found)) return uncheckedShim(found);
    return checkPython(found, options);
  }
  const candidates = defaultInterpreters(platform);
  let firstFailure: PythonError | null = null;
  for (const { name, args } of candidates) {
    const found = findOnPath(name, env, platform);
    if (!found) continue;
    // POSIX: the first one on PATH is the user's choice, right or wrong: say what is wrong
    // with it. Windows: a python.exe may be the Store's placeholder (it only prints how to
    // install Python), so go on to the next and report the first failure if none answers.
    if (platform !== 'win32') {
      if (options.uncheckedShims && args.length === 0 && isVersionManagerShim(found)) return uncheckedShim(found);
      return checkPython(found, options, args);
    }
    try {
      return await checkPython(found, options, args);
    } catch (error) {
      if (!(error instanceof PythonError)) throw error;
      firstFailure ??= error;
    }
  }
  if (firstFailure) throw firstFailure;
  const names = candidates.map(({ name, args }) => [name, ...args].join(' ')).join(', ');
  throw new PythonError(
    'not-found',
    phrase('No Python found: none of {0} is on PATH. Install Python {1}+ or name the interpreter (--python PATH or the mptree.pythonPath setting).', names, MIN_PYTHON.join('.')),
  );
}
