#!/usr/bin/env node
// The headless command line: `mptree run script.py` runs a program as it would run bare
// (same terminal, stdin, exit code, Ctrl+C) and shows its process tree on stderr.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { version } from '../package.json';
import { LiveArea } from './core/liveArea';
import { fitWidth, renderTree, stripAnsi } from './core/renderTree';
import { RunSession, type StopOptions } from './core/session';
import { processGroupOf } from './core/runMembers';
import { SignalWitness } from './core/signalOrigin';
import { computeHints, hintId, hintLine, hintText, HintTracker, snapshotHints, type Hint } from './core/hints';
import { checkTarget, type LaunchTarget, type WhenViewerGone } from './core/launcher';
import { publishDump } from './core/runDump';
import { dumpCommand } from './cliDump';
import type { Disposable, RunInfo } from './core/types';
import { bundleLocalizer, english, errorText, languageFromEnv, render, type Localizer } from './core/l10n';
// The extension's own zh-cn bundle, bundled in: one translation for the tree, the hints and the
// core's messages, wherever they are shown.
import zhCnBundle from '../l10n/bundle.l10n.zh-cn.json';

// The terminal's language (LC_ALL, LC_MESSAGES, LANG). Only the words people read follow
// it; the --snapshot JSON stays English, for programs.
const t: Localizer = languageFromEnv(process.env) === 'zh-cn' ? bundleLocalizer(zhCnBundle) : english;

const USAGE = () => t(`Usage:
  mptree run [options] SCRIPT.py [ARGS...]
  mptree run [options] -m MODULE [ARGS...]
  mptree dump [PID] [--json]
  mptree --help | --version

Runs a Python program with its multiprocessing processes, queues and pools shown as a tree
on stderr. The program keeps its own stdin, stdout and stderr; mptree exits with the
program's exit code (128+N when a signal N killed it).

Options:
  --python PATH     Python interpreter (default: python3, then python, on PATH)
  --snapshot FILE   write the final tree as JSON to FILE
  --quiet           print no tree and no notices, only errors
  --no-live         print the tree once at the end, not live while the program runs
  --when-viewer-gone stop|keep
                    if mptree itself dies (kill -9) without stopping the run: stop
                    (default) ends the whole run within ~3 s, keep lets it run on
  -h, --help        show this help
  --version         show the version

Ctrl+C reaches the program as it would without mptree; once the program has exited,
mptree stops whatever of the run is left. A third Ctrl+C stops the whole run.
SIGINT sent to mptree alone (kill -INT PID), SIGTERM and SIGHUP stop the whole run
(SIGTERM, a grace period, SIGKILL) and mptree exits with 128+N (130, 143, 129).`);

interface CliOptions {
  target: LaunchTarget;
  python: string | null;
  snapshot: string | null;
  quiet: boolean;
  live: boolean;
  whenViewerGone: WhenViewerGone;
}

class UsageError extends Error {}

function parseRunArgs(argv: string[]): CliOptions {
  let python: string | null = null;
  let snapshot: string | null = null;
  let quiet = false;
  let live = true;
  let whenViewerGone: WhenViewerGone = 'stop';
  let i = 0;
  const value = (flag: string): string => {
    const v = argv[++i];
    if (v === undefined) throw new UsageError(t('{0} needs a value', flag));
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
    else if (flag === '--when-viewer-gone') {
      const v = inline ?? value(flag);
      if (v !== 'stop' && v !== 'keep') throw new UsageError(t('--when-viewer-gone takes stop or keep, not {0}', JSON.stringify(v)));
      whenViewerGone = v;
    }
    else if (arg === '-m') {
      const module = argv[i + 1];
      if (!module) throw new UsageError(t('-m needs a module name'));
      return { target: { module, args: argv.slice(i + 2) }, python, snapshot, quiet, live, whenViewerGone };
    } else if (arg === '--') {
      i++;
      break;
    } else if (arg.startsWith('-') && arg !== '-') throw new UsageError(t('unknown option {0}', arg));
    else break;
  }
  const script = argv[i];
  if (script === undefined) throw new UsageError(t('no script given'));
  // Everything after the script belongs to the program, options included.
  return { target: { script, args: argv.slice(i + 1) }, python, snapshot, quiet, live, whenViewerGone };
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
  // Before looking for Python: a typo in the script name is the likelier mistake.
  const problem = checkTarget(options.target, process.cwd());
  if (problem) {
    writeErr(`mptree: ${render(problem, t)}\n`);
    return 2;
  }

  let session: RunSession;
  try {
    session = await RunSession.create({
      target: options.target,
      cwd: process.cwd(),
      python: options.python,
      whenViewerGone: options.whenViewerGone,
      runtimeDir: process.env.MPTREE_RUNTIME_DIR || undefined,
    });
  } catch (error) {
    writeErr(`mptree: ${errorText(error, t)}\n`);
    return 2;
  }

  // Safety net for any exit path (an internal error included): nothing of the run, and not
  // its socket directory, may outlive mptree. dispose() is synchronous and idempotent.
  process.on('exit', () => session.dispose());
  // `mptree dump` reaches the run through this; published beside the program's start, not
  // before it (the program waits for nothing of ours), and withdrawn at the end or exit.
  let dumpEndpoint: Disposable | null = null;
  const dumpPublished = publishDump(session).then((published) => (dumpEndpoint = published));
  process.on('exit', () => dumpEndpoint?.dispose());

  const tty = process.stderr.isTTY === true;
  const live = tty && options.live && !options.quiet;
  const color = tty && !process.env.NO_COLOR;
  const debug = !!process.env.MPTREE_DEBUG;

  // Live view: at most 5 redraws a second, in a reserved area at the bottom of the terminal
  // (see LiveArea for why not simply "cursor up and redraw").
  const area = live
    ? new LiveArea(writeErr, () => ({ rows: process.stderr.rows || 24, columns: process.stderr.columns || 80 }))
    : null;
  // Whatever happens, the terminal gets its full scroll region back.
  const closeArea = () => area?.close();
  process.on('exit', closeArea);
  let drawTimer: NodeJS.Timeout | undefined;
  let lastDraw = 0;
  let waitingNote = '';
  const draw = () => {
    drawTimer = undefined;
    if (!area || session.isEnded) return;
    lastDraw = Date.now();
    const columns = process.stderr.columns || 80;
    let text = renderTree(session.model, session.info, { color, maxLines: Math.max(1, area.maxLines() - (waitingNote ? 1 : 0)), width: columns, t });
    if (waitingNote) text += '\n' + fitWidth(waitingNote, columns - 1);
    area.render(text.split('\n'));
  };
  const scheduleDraw = () => {
    if (!area || drawTimer || session.isEnded) return;
    drawTimer = setTimeout(draw, Math.max(0, 200 - (Date.now() - lastDraw)));
  };
  const onResize = () => {
    area?.reset();
    scheduleDraw();
  };
  if (area) process.stderr.on('resize', onResize);
  session.onDidChange(scheduleDraw);
  session.onDidChangeRun(scheduleDraw);
  session.onLog(({ level, message }) => {
    // Protocol warnings are for us, not for the user's terminal (the isolated-mode notice is
    // part of the tree's header); MPTREE_DEBUG=1 shows everything.
    if (level !== 'error' && !debug) return;
    if (options.quiet && level !== 'error') return;
    // Printed at the program's cursor, above the live area, like the program's own output.
    writeErr(`${message}\n`);
  });

  // Ctrl+C goes to the whole foreground process group, the program included: let it react
  // as it would bare. Only what is left once the program has exited is stopped by us. A
  // signal sent to mptree alone reached nobody else: then we stop the run ourselves.
  // Started with the program below, not before it: a fork and exec the program need not wait for.
  let witness: SignalWitness | null = null;
  process.on('exit', () => witness?.dispose());
  const ownGroup = processGroupOf(process.pid);
  const programGotIt = (signal: NodeJS.Signals): boolean => {
    let toGroup = witness?.sentToGroup(signal) ?? null;
    // No witness (not Linux): on a terminal a SIGINT is most likely Ctrl+C; SIGTERM and
    // SIGHUP are acted on either way.
    if (toGroup === null) toGroup = signal === 'SIGINT' && process.stdin.isTTY === true;
    const root = session.info.rootPid;
    // A program that left our process group (setsid, setpgrp) got none of the group's.
    if (toGroup && root !== null && ownGroup !== null) {
      const rootGroup = processGroupOf(root);
      if (rootGroup !== null && rootGroup !== ownGroup) return false;
    }
    return toGroup;
  };
  let interrupts = 0;
  let stopping: Promise<unknown> | null = null;
  // The signal we stopped the run for: mptree then exits 128+N, as a process killed by it.
  let stopSignal: NodeJS.Signals | null = null;
  let pendingStop: StopOptions | null = null;
  const stopRun = (why: string, stopOptions: StopOptions = {}) => {
    if (stopping || session.isEnded) return;
    if (session.info.rootPid === null) {
      // Not started yet: stop it as soon as it is (see the run listener below).
      pendingStop = stopOptions;
      return;
    }
    if (debug) writeErr(`mptree: stopping the run (${why})\n`);
    stopping = session.stop(undefined, stopOptions).then((result) => {
      if (result.remaining.length > 0) writeErr(`mptree: ${t('could not stop pid {0}', result.remaining.join(', '))}\n`);
    });
  };
  const onSigint = () => {
    if (!programGotIt('SIGINT')) {
      stopSignal ??= 'SIGINT';
      return stopRun('SIGINT to mptree alone');
    }
    interrupts++;
    if (session.info.rootPid === null || interrupts >= 3 || session.model.processByPid(session.info.rootPid)?.state !== 'running') {
      if (interrupts >= 3) stopSignal ??= 'SIGINT';
      stopRun('interrupted');
    }
  };
  const onTerm = (signal: NodeJS.Signals) => {
    stopSignal ??= signal;
    // Sent to the group, it reached the program's processes in our group too: they get the
    // grace period to act on it, not a second signal (which would interrupt their clean-up).
    const group = programGotIt(signal) ? ownGroup : null;
    stopRun(signal, group === null ? {} : { alreadySignalled: (pid) => processGroupOf(pid) === group });
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onTerm);
  session.onDidChangeRun((info) => {
    if (pendingStop && info.rootPid !== null) {
      const options = pendingStop;
      pendingStop = null;
      stopRun('signalled before the start', options);
    }
  });

  session.onDidChangeRun((info) => {
    const root = info.rootPid === null ? undefined : session.model.processByPid(info.rootPid);
    if (!root || root.state === 'running' || session.isEnded) return;
    if (interrupts > 0) return stopRun('interrupted');
    const left = session.model.liveCount;
    // While we stop the run ourselves, "waiting for the rest" would be untrue.
    if (left > 0 && !waitingNote && !stopping) {
      waitingNote = `mptree: ${
        left === 1
          ? t('the program exited; waiting for 1 remaining process of the run (Ctrl+C stops them)')
          : t('the program exited; waiting for {0} remaining processes of the run (Ctrl+C stops them)', left)
      }`;
      if (!live && !options.quiet) writeErr(waitingNote + '\n');
    }
  });

  // Hints: watched while the run goes (a queue full for seconds is only visible then), and
  // every hint seen is kept for the snapshot, the final wording winning.
  const hintTracker = new HintTracker();
  const hintsSeen = new Map<string, Hint>();
  const collectHints = () => {
    for (const hint of computeHints(session.model, session.info, Date.now(), hintTracker)) {
      const id = hintId(hint);
      // A hung program's log should say why as soon as it is known: without a live view (a pipe,
      // a CI log, --no-live) a deadlock is written once when found, like the program's own output.
      if (hint.kind === 'deadlock' && !hintsSeen.has(id) && !area && !options.quiet) writeErr(paint(`✖ ${hintText(hint, t)}`, color) + '\n');
      hintsSeen.set(id, hint);
    }
  };
  // Zombie→collected transitions and queue activity are only visible as they happen: each
  // change is observed (incrementally, so a run of thousands of processes stays linear).
  session.onDidChange((change) => hintTracker.observeChange(session.model, change, Date.now()));
  const hintTimer = setInterval(collectHints, 500);

  session.start('inherit');
  witness = SignalWitness.start();
  const info = await session.ended;
  // The run is over: the witness is ended now, while the tree is written, and awaited last
  // (its reaping is a round trip through the kernel that the exit need not wait for twice).
  const witnessGone = witness?.close();
  clearInterval(hintTimer);
  collectHints();
  if (stopping) await stopping;
  clearTimeout(drawTimer);

  closeArea();
  process.stderr.off('resize', onResize);
  if (!options.quiet || info.state === 'failed') {
    const tree = renderTree(session.model, info, { color, t });
    writeErr((options.quiet ? stripAnsi(tree.split('\n')[0]) : tree) + '\n');
    // The hints seen during the run, under the tree, in the words the VS Code tree uses.
    // A deadlock is said by the tree itself (its ✖ line), once.
    if (!options.quiet) for (const hint of hintsSeen.values()) if (hint.kind !== 'deadlock') writeErr(paintHint(hintLine(hint, t), color) + '\n');
  }
  if (options.snapshot) {
    try {
      const snapshot = { ...session.model.toSnapshot(info), hints: snapshotHints([...hintsSeen.values()]) };
      fs.writeFileSync(options.snapshot, JSON.stringify(snapshot, null, 2) + '\n');
    } catch (error) {
      writeErr(`mptree: ${t('could not write the snapshot: {0}', (error as Error).message)}\n`);
    }
  }
  (await dumpPublished)?.dispose();
  session.dispose();
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onTerm);
  process.off('SIGHUP', onTerm);
  // Nothing of ours may be left in the caller's process group once we have exited.
  await witnessGone;
  return stopSignal ? 128 + os.constants.signals[stopSignal] : shellExitCode(info);
}

async function main(argv: string[]): Promise<number> {
  process.stderr.on('error', () => undefined);
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    (command === undefined ? writeErr : (text: string) => process.stdout.write(text))(USAGE() + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`mptree ${version}\n`);
    return 0;
  }
  if (command === 'dump') {
    return dumpCommand(rest, {
      t,
      lang: languageFromEnv(process.env),
      // Resolved once written: a pipe may be asynchronous (macOS), and we exit right after.
      out: (text) => new Promise<void>((resolve) => process.stdout.write(text, () => resolve())),
      err: writeErr,
      color: process.stdout.isTTY === true && !process.env.NO_COLOR,
      width: process.stdout.isTTY ? process.stdout.columns || null : null,
    });
  }
  if (command !== 'run') {
    writeErr(`mptree: ${t('unknown command "{0}" (try: mptree run script.py)', command)}\n`);
    return 2;
  }
  if (rest[0] === '-h' || rest[0] === '--help') {
    process.stdout.write(USAGE() + '\n');
    return 0;
  }
  let options: CliOptions;
  try {
    options = parseRunArgs(rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    writeErr(`mptree: ${error.message}\n${USAGE().split('\n').slice(0, 4).join('\n')}\n`);
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
    writeErr(`mptree: ${t('internal error: {0}', (error as Error)?.message ?? String(error))}\n`);
    if (process.env.MPTREE_DEBUG) writeErr(`${(error as Error)?.stack}\n`);
    process.exit(70);
  },
);

/** A deadlock's line, in red like the tree's own ✖ line. */
function paint(line: string, color: boolean): string {
  return color ? `\x1b[31m${line}\x1b[0m` : line;
}

function paintHint(line: string, color: boolean): string {
  return color ? `\x1b[33m${line}\x1b[0m` : line;
}
