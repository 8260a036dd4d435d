// Exit codes in multiprocessing's convention (a death by signal N is -N) and signal names,
// from the platform's own table (os.constants.signals), never from a hand-written list.
import * as os from 'node:os';

const SIGNAL_NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  // First name wins, so aliases (SIGIOT for SIGABRT, SIGPOLL for SIGIO) are not shown.
  for (const [name, number] of Object.entries(os.constants.signals)) if (!names.has(number)) names.set(number, name);
  return names;
})();

/** 'SIGTERM' for -15 (multiprocessing's convention for a death by signal), else null. */
export function signalName(exitCode: number | null): string | null {
  if (exitCode === null || exitCode >= 0) return null;
  return SIGNAL_NAMES.get(-exitCode) ?? `signal ${-exitCode}`;
}

export function signalNumber(name: string): number | null {
  const number = (os.constants.signals as Record<string, number | undefined>)[name];
  return number ?? null;
}

/** Node's ('exit', code, signal) in multiprocessing's convention: a signal N becomes -N. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number | null {
  if (signal) return -(signalNumber(signal) ?? 0) || null;
  return code;
}
