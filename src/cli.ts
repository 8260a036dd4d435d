#!/usr/bin/env node
// The headless command line: `mptree run script.py` runs a program as it would run bare
// (same terminal, stdin, exit code, Ctrl+C) and shows its process tree on stderr.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { version } from '../package.json';
import { renderTree, stripAnsi } from './core/renderTree';
import { PythonError } from './core/python';
import { RunSession } from './core/session';
import type { LaunchTarget } from './core/launcher';
import type { RunInfo } from './core/types';

const USAGE = `Usage:
  mptree run [options] SCRIPT.py [ARGS...]
  mptree run [options] -m MODULE [ARGS...]
  mptree --help | --version

Runs a Python program with its multiprocessing processes, queues and pools shown as a tree
on stderr. The program keeps its own stdin, stdout and stderr; mptree exits with the
program's exit code (128+N when a signal N killed it).

Options:
  --python PATH     Python interpreter (default: python3, then python, on PATH)
  --snapshot FILE   write the final tree as JSON to FILE
  --quiet           print no tree and no notices, only errors
  --no-live         print the tree once at the end, not live while the program runs
  -h, --help        show this help
  --version         show the version

Ctrl+C reaches the program as it would without mptree; once the program has exited,
mptree stops whatever of the run is left. A third Ctrl+C stops the whole run.
SIGTERM or SIGHUP to mptree stops the whole run.`;

interface CliOptions {
  target: LaunchTarget;
  python: string | null;
  snapshot: string | null;
  quiet: boolean;
  live: boolean;
}

class UsageError extends Error {}

function parseRunArgs(argv: string[]): CliOptions {
  let python: string | null = null;
  let snapshot: string | null = null;
  let quiet = false;
  let live = true;
  let i = 0;
  const value = (flag: string): string => {
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (flag === '--python') python = inline ?? value(flag);
    else if (flag === '--snapshot') snapshot = inline ?? value(flag);
    else if (arg === '--quiet' || arg === '-q') quiet = true;
    else if (arg === '--no-live') live = false;
    else if (arg === '-m') {
      const module = argv[i + 1];
      if (!module) throw new UsageError('-m needs a module name');
      return { target: { module, args: argv.slice(i + 2) }, python, snapshot, quiet, live };
    } else if (arg === '--') {
      i++;
      break;
    } else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
    else break;
  }
  const script = argv[i];
  if (script === undefined) throw new UsageError('no script given');
  // Everything after the script belongs to the program, options included.
  return { target: { script, args: argv.slice(i + 1) }, python, snapshot, quiet, live };
}

/** Checks that python can open the script, for a clear message instead of Python's own. */
function checkScript(script: string): string | null {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(script);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? `no such file: ${script}` : `cannot open ${script}: ${(error as Error).message}`;
  }
  if (stat.isDirectory()) {
    // Python runs a directory (or zip) that has a __main__.py; anything else is an error.
    return fs.existsSync(path.join(script, '__main__.py')) ? null : `${script} is a directory, not a Python file`;
  }
  if (!stat.isFile()) return `${script} is not a regular file`;
  try {
    fs.accessSync(script, fs.constants.R_OK);
  } catch {
    return `cannot read ${script}: permission denied`;
  }
  return null;
}

/** Exit status as a shell reports it: 128+N for a death by signal N. */
function shellExitCode(run: RunInfo): number {
  if (run.state === 'failed' && run.rootPid === null) return 2;
  const code = run.exitCode;
  if (code === null) return 1;
  if (code < 0) return 128 + -code;
  return code & 0xff;
}

/** Writes to stderr, ignoring a closed terminal (SIGHUP) instead of crashing on EIO/EPIPE. */
function writeErr(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // The terminal is gone; nobody can read it.
  }
}

async function run(options: CliOptions): Promise<number> {
  if ('script' in options.target) {
    const problem = checkScript(options.target.script);
    if (problem) {
      writeErr(`mptree: ${problem}\n`);
      return 2;
    }
  }

  let session: RunSession;
  try {
    session = await RunSession.create({
      target: options.target,
      cwd: process.cwd(),
      python: options.python,
      runtimeDir: process.env.MPTREE_RUNTIME_DIR || undefined,
    });
  } catch (error) {
    writeErr(`mptree: ${error instanceof PythonError ? error.message : (error as Error)?.message ?? String(error)}\n`);
    return 2;
  }

  const tty = process.stderr.isTTY === true;
  const live = tty && options.live && !options.quiet;
  const color = tty && !process.env.NO_COLOR;
  const debug = !!process.env.MPTREE_DEBUG;

  // Live view: redraw in place, at most 5 times a second. Only our own writes are known:
  // lines the program prints between two redraws are overwritten by the next one.
  let drawnLines = 0;
  let drawTimer: NodeJS.Timeout | undefined;
  let lastDraw = 0;
  let waitingNote = '';
  const clearDrawn = () => {
    if (drawnLines > 0) writeErr(`\x1b[${drawnLines}F\x1b[J`);
    drawnLines = 0;
  };
  const draw = () => {
    drawTimer = undefined;
    lastDraw = Date.now();
    const rows = process.stderr.rows || 24;
    const columns = process.stderr.columns || 80;
    let text = renderTree(session.model, session.info, { color, maxLines: Math.max(3, rows - 2), width: columns });
    if (waitingNote) text += '\n' + waitingNote;
    clearDrawn();
    writeErr(text + '\n');
    drawnLines = text.split('\n').length;
  };
  const scheduleDraw = () => {
    if (!live || drawTimer || session.isEnded) return;
    drawTimer = setTimeout(draw, Math.max(0, 200 - (Date.now() - lastDraw)));
  };
  session.onDidChange(scheduleDraw);
  session.onDidChangeRun(scheduleDraw);
  session.onLog(({ level, message }) => {
    if (options.quiet && level !== 'error') return;
    if ((level === 'info' || level === 'debug') && !debug) return;
    clearDrawn();
    writeErr(`${message}\n`);
    scheduleDraw();
  });

  // Ctrl+C goes to the whole foreground process group, the program included: let it react
  // as it would bare. Only what is left once the program has exited is stopped by us.
  let interrupts = 0;
  let stopping: Promise<unknown> | null = null;
  const stopRun = (why: string) => {
    if (stopping || session.isEnded) return;
    if (debug) writeErr(`mptree: stopping the run (${why})\n`);
    stopping = session.stop().then((result) => {
      if (result.remaining.length > 0) writeErr(`mptree: could not stop pid ${result.remaining.join(', ')}\n`);
    });
  };
  const onSigint = () => {
    interrupts++;
    if (session.info.rootPid === null || interrupts >= 3 || session.model.processByPid(session.info.rootPid)?.state !== 'running') {
      stopRun('interrupted');
    }
  };
  const onTerm = (signal: NodeJS.Signals) => stopRun(signal);
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onTerm);

  session.onDidChangeRun((info) => {
    const root = info.rootPid === null ? undefined : session.model.processByPid(info.rootPid);
    if (!root || root.state === 'running' || session.isEnded) return;
    if (interrupts > 0) return stopRun('interrupted');
    const left = session.model.liveCount;
    if (left > 0 && !waitingNote) {
      waitingNote = `mptree: the program exited; waiting for ${left} remaining process${left === 1 ? '' : 'es'} of the run (Ctrl+C stops them)`;
      if (!live && !options.quiet) writeErr(waitingNote + '\n');
    }
  });

  session.start('inherit');
  const info = await session.ended;
  if (stopping) await stopping;
  clearTimeout(drawTimer);

  if (!options.quiet || info.state === 'failed') {
    clearDrawn();
    const tree = renderTree(session.model, info, { color });
    writeErr((options.quiet ? stripAnsi(tree.split('\n')[0]) : tree) + '\n');
  }
  if (options.snapshot) {
    try {
      fs.writeFileSync(options.snapshot, JSON.stringify(session.model.toSnapshot(info), null, 2) + '\n');
    } catch (error) {
      writeErr(`mptree: could not write the snapshot: ${(error as Error).message}\n`);
    }
  }
  session.dispose();
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onTerm);
  process.off('SIGHUP', onTerm);
  return shellExitCode(info);
}

async function main(argv: string[]): Promise<number> {
  process.stderr.on('error', () => undefined);
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    (command === undefined ? writeErr : (t: string) => process.stdout.write(t))(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`mptree ${version}\n`);
    return 0;
  }
  if (command !== 'run') {
    writeErr(`mptree: unknown command "${command}" (try: mptree run script.py)\n`);
    return 2;
  }
  if (rest[0] === '-h' || rest[0] === '--help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  let options: CliOptions;
  try {
    options = parseRunArgs(rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    writeErr(`mptree: ${error.message}\n${USAGE.split('\n').slice(0, 4).join('\n')}\n`);
    return 2;
  }
  return run(options);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Exit now: stderr is synchronous for files, pipes and terminals on POSIX, and nothing of
    // the run may keep us alive (a stray handle would only delay the exit code).
    process.exit(code);
  },
  (error) => {
    // A bug of ours: one line for the user, the stack only when asked for.
    writeErr(`mptree: internal error: ${(error as Error)?.message ?? error}\n`);
    if (process.env.MPTREE_DEBUG) writeErr(`${(error as Error)?.stack}\n`);
    process.exit(70);
  },
);
