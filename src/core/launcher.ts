// How a run is launched: the environment that injects the runtime, the argv, and (for the CLI)
// the spawn itself. The VS Code layer launches through a Task with the same env and argv.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { phrase, type Phrase } from './l10n';

export type LaunchTarget = { script: string; args: readonly string[] } | { module: string; args: readonly string[] };

/**
 * What the program does when the session that owns it goes for good (`mptree run` killed,
 * the extension host gone): `stop` ends the whole run as Stop Run does; `keep` lets it run on.
 */
export type WhenViewerGone = 'stop' | 'keep';

export interface RunConnection {
  runtimeDir: string;
  /** MPTREE_SOCKET: a Unix socket path or tcp:127.0.0.1:PORT (RuntimeServer.address). */
  address: string;
  token: string;
  runId: string;
  /** `stop` by default. */
  whenViewerGone?: WhenViewerGone;
}

/**
 * The runtime folder. Bundled, dist/cli.js and dist/extension.js sit next to dist/runtime.
 * Compiled for tests (out/src/core/launcher.js) or run from source, fall back to the sources
 * so the unit tests see the same Python files without a build.
 */
export function defaultRuntimeDir(): string {
  const candidates = [
    path.join(__dirname, 'runtime'),
    path.resolve(__dirname, '..', 'runtime'),
    path.resolve(__dirname, '..', '..', '..', 'dist', 'runtime'),
    path.resolve(__dirname, '..', '..', '..', 'src', 'runtime'),
  ];
  return candidates.find((dir) => fs.existsSync(dir)) ?? candidates[0];
}

function findKey(env: NodeJS.ProcessEnv, name: string): string {
  // Windows environment names are case-insensitive: reuse the user's spelling.
  if (process.platform !== 'win32') return name;
  return Object.keys(env).find((key) => key.toUpperCase() === name) ?? name;
}

/**
 * The run's environment: the user's own, plus the runtime prepended to PYTHONPATH and the
 * three MPTREE_ variables. Nothing else changes (no PYTHONUNBUFFERED and the like), so the
 * program behaves as it does without mptree.
 */
export function buildRunEnv(base: NodeJS.ProcessEnv, connection: RunConnection): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  const key = findKey(env, 'PYTHONPATH');
  const existing = env[key];
  env[key] = existing ? `${connection.runtimeDir}${path.delimiter}${existing}` : connection.runtimeDir;
  env.MPTREE_SOCKET = connection.address;
  env.MPTREE_TOKEN = connection.token;
  env.MPTREE_RUN_ID = connection.runId;
  env.MPTREE_WHEN_VIEWER_GONE = connection.whenViewerGone ?? 'stop';
  return env;
}

/** Interpreter arguments for the target: `script args…` or `-m module args…`. */
export function launchArgs(target: LaunchTarget): string[] {
  return 'module' in target ? ['-m', target.module, ...target.args] : [target.script, ...target.args];
}

export function describeTarget(target: LaunchTarget): string {
  return 'module' in target ? `-m ${target.module}` : target.script;
}

/**
 * Why Python could not run the target as a script, in words for the user, or null when it
 * can (as far as we can tell without running it). Python would say it too, but as an
 * "[Errno 2]" line, or for a binary as a SyntaxError about null bytes.
 */
export function checkTarget(target: LaunchTarget, cwd: string): Phrase | null {
  if (!('script' in target)) return null;
  const script = target.script;
  const file = path.resolve(cwd, script);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? phrase('no such file: {0}', script) : phrase('cannot open {0}: {1}', script, (error as Error).message);
  }
  if (stat.isDirectory()) {
    // Python runs a directory (or zip) that has a __main__.py; anything else is an error.
    return fs.existsSync(path.join(file, '__main__.py')) ? null : phrase('{0} is a directory, not a Python file', script);
  }
  if (!stat.isFile()) return phrase('{0} is not a regular file', script);
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      head = Buffer.alloc(Math.min(stat.size, 8192));
      head = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? phrase('cannot read {0}: permission denied', script) : phrase('cannot read {0}: {1}', script, (error as Error).message);
  }
  // Python also runs zip applications and compiled .pyc files, which are binary; any other
  // file with NUL bytes (an executable, an image) is not a Python program.
  const isZip = head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'));
  if (!isZip && !/\.py[co]$/i.test(file) && head.includes(0)) {
    return phrase('{0} is not a Python file (it has binary content)', script);
  }
  return null;
}

export interface SpawnOptions {
  env: Record<string, string>;
  cwd: string;
  /** 'inherit' for the CLI: the program keeps the terminal as if run bare. */
  stdio?: 'inherit' | 'pipe' | 'ignore';
}

/**
 * Spawns the program. Not detached: it stays in our process group, so Ctrl+C from the
 * terminal reaches it (and its children) exactly as without mptree, and it can read stdin.
 */
export function spawnProgram(python: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return spawn(python, [...args], { env: options.env, cwd: options.cwd, stdio: options.stdio ?? 'inherit', windowsHide: true });
}
