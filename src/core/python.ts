// Finding and checking the Python interpreter a run uses.
// The VS Code layer may first ask the Python extension for its interpreter and pass it in as
// `explicit`; this module only knows PATH lookup and the version check.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const MIN_PYTHON: readonly [number, number] = [3, 8];

export interface PythonInfo {
  /** What to spawn: the resolved path of the command or explicit path. */
  command: string;
  /** sys.executable as the interpreter reports it. */
  executable: string;
  version: [number, number, number];
  versionString: string;
}

export type PythonErrorCode = 'not-found' | 'not-executable' | 'python2' | 'too-old' | 'failed';

export class PythonError extends Error {
  constructor(
    readonly code: PythonErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PythonError';
  }
}

export interface FindPythonOptions {
  /** A path or a command name from the setting or --python. */
  explicit?: string | null;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pathKey(env: NodeJS.ProcessEnv): string {
  // Windows spells it Path; the lookup must be case-insensitive there.
  if (process.platform !== 'win32') return 'PATH';
  return Object.keys(env).find((key) => key.toUpperCase() === 'PATH') ?? 'PATH';
}

/** Like `which`: the first executable called `name` on PATH, or null. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = (env[pathKey(env)] ?? '').split(path.delimiter).filter(Boolean);
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';') : [''];
  for (const dir of dirs) {
    for (const ext of extensions) {
      const candidate = path.join(dir, name + ext);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return null;
}

// Valid in Python 2 and 3 alike, so that a Python 2 interpreter answers and we can say so
// instead of failing on a syntax error.
const PROBE = "import sys; sys.stdout.write('%d %d %d\\n%s\\n' % (sys.version_info[0], sys.version_info[1], sys.version_info[2], sys.executable))";

function probe(command: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, ['-c', PROBE], { env, timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

export async function checkPython(command: string, options: FindPythonOptions = {}): Promise<PythonInfo> {
  const env = options.env ?? process.env;
  let output: { stdout: string };
  try {
    output = await probe(command, env, options.timeoutMs ?? 15_000);
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new PythonError('not-found', `Python interpreter not found: ${command}`);
    if (err.code === 'EACCES') throw new PythonError('not-executable', `Python interpreter is not executable: ${command}`);
    const detail = (err.stderr ?? '').trim().split('\n').pop() || err.message;
    throw new PythonError('failed', `${command} did not run as a Python interpreter: ${detail}`);
  }
  const [versionLine, executable] = output.stdout.split('\n');
  const parts = (versionLine ?? '').trim().split(' ').map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n))) {
    throw new PythonError('failed', `${command} did not report a Python version`);
  }
  const version = parts as [number, number, number];
  const versionString = version.join('.');
  if (version[0] < 3) {
    throw new PythonError('python2', `${command} is Python ${versionString}; mptree needs Python ${MIN_PYTHON.join('.')} or newer (Python 2 is not supported)`);
  }
  if (version[0] === MIN_PYTHON[0] && version[1] < MIN_PYTHON[1]) {
    throw new PythonError('too-old', `${command} is Python ${versionString}; mptree needs Python ${MIN_PYTHON.join('.')} or newer`);
  }
  return { command, executable: (executable ?? '').trim() || command, version, versionString };
}

/**
 * The interpreter to use: `explicit` when given (a path, or a command name looked up on PATH),
 * else `python3`, else `python` on PATH.
 */
export async function findPython(options: FindPythonOptions = {}): Promise<PythonInfo> {
  const env = options.env ?? process.env;
  const explicit = options.explicit?.trim();
  if (explicit) {
    const looksLikePath = explicit.includes('/') || explicit.includes(path.sep);
    if (looksLikePath) {
      const resolved = path.resolve(explicit);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(resolved);
      } catch {
        throw new PythonError('not-found', `Python interpreter not found: ${explicit}`);
      }
      if (!stat.isFile() || !isExecutableFile(resolved)) {
        throw new PythonError('not-executable', `Python interpreter is not an executable file: ${explicit}`);
      }
      return checkPython(resolved, options);
    }
    const found = findOnPath(explicit, env);
    if (!found) throw new PythonError('not-found', `Python interpreter not found on PATH: ${explicit}`);
    return checkPython(found, options);
  }
  for (const name of ['python3', 'python']) {
    const found = findOnPath(name, env);
    if (found) return checkPython(found, options);
  }
  throw new PythonError(
    'not-found',
    `No Python found: neither python3 nor python is on PATH. Install Python ${MIN_PYTHON.join('.')}+ or name the interpreter (--python PATH or the mptree.pythonPath setting).`,
  );
}
