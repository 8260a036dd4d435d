// Stacks on demand: what each process of a run answers to stacks.request (every thread and
// its Python stack), gathered within about a second, and why a process gave none. The
// session asks (RunSession.requestStacks); this file decides who can be asked, waits at most
// STACKS_TIMEOUT_MS. stacksText.ts words the report.
import * as fs from 'node:fs';
import type { StacksMessage, ThreadStack } from './protocol';
import type { ProcessInfo, ProcessState } from './types';
import { phrase, type Phrase } from './l10n';

/** How long a process may take to answer: past this it is marked, never waited for. */
export const STACKS_TIMEOUT_MS = 1000;

export interface ProcessStacks {
  pid: number;
  name: string;
  state: ProcessState;
  /** Every thread, the main one first and the runtime's own last; null when it gave none. */
  threads: ThreadStack[] | null;
  /** Why there are no threads (not asked, or no answer in time); null when it answered. */
  reason: Phrase | null;
}

export interface StacksReport {
  takenAt: number;
  processes: ProcessStacks[];
}

/** What gatherStacks needs from the session: its processes, its connections, the OS. */
export interface StacksSource {
  processByPid(pid: number): ProcessInfo | undefined;
  hasConnection(pid: number): boolean;
  ask(pid: number, timeoutMs: number): Promise<StacksMessage>;
  /** Stopped by a signal or traced by a debugger (the process cannot run to answer). */
  isStopped?(pid: number): boolean;
}

/** Why a process cannot be asked at all, or null if it can. */
function notAskable(node: ProcessInfo | undefined, source: StacksSource): Phrase | null {
  if (!node) return phrase('not a process of this run');
  if (node.state !== 'running') return phrase('it has exited');
  if (!node.instrumented) return phrase("no mptree runtime in it (not Python, or Python started in isolated mode): its stack cannot be read");
  if (!source.hasConnection(node.pid)) return phrase('not connected to mptree: a fork child connects only once it has something to report');
  if (source.isStopped?.(node.pid)) return phrase('stopped (by a signal or a debugger): it cannot answer until it continues');
  return null;
}

/** Why an asked process gave no answer in time. */
function noAnswer(node: ProcessInfo, source: StacksSource, timeoutMs: number): Phrase {
  if (source.isStopped?.(node.pid)) return phrase('stopped (by a signal or a debugger): it cannot answer until it continues');
  if (node.paused) return phrase('paused in the debugger: it did not answer within {0} s', timeoutMs / 1000);
  return phrase('did not answer within {0} s: it may be stopped, or busy in C code that holds the GIL', timeoutMs / 1000);
}

/**
 * Asks each pid at once and resolves within timeoutMs (plus a turn of the event loop),
 * whatever the processes do: one that cannot be asked or does not answer is marked with why.
 */
export async function gatherStacks(pids: readonly number[], source: StacksSource, timeoutMs = STACKS_TIMEOUT_MS): Promise<StacksReport> {
  const takenAt = Date.now();
  const unique = [...new Set(pids)];
  const processes = await Promise.all(
    unique.map(async (pid): Promise<ProcessStacks> => {
      const node = source.processByPid(pid);
      const head = { pid, name: node?.name ?? '', state: node?.state ?? ('exited' as ProcessState) };
      const why = notAskable(node, source);
      if (why || !node) return { ...head, threads: null, reason: why };
      try {
        const answer = await source.ask(pid, timeoutMs);
        return { ...head, threads: answer.threads, reason: null };
      } catch {
        return { ...head, threads: null, reason: noAnswer(node, source, timeoutMs) };
      }
    }),
  );
  return { takenAt, processes };
}

/** Linux: the process is stopped (T) or stopped by a tracer (t) in /proc/PID/stat. */
export function isStoppedProcess(pid: number): boolean {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
    return state === 'T' || state === 't';
  } catch {
    return false;
  }
}
