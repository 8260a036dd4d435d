// Whether a signal mptree received went to its whole process group (the terminal's Ctrl+C,
// `kill -INT -PGID`, a terminal hanging up) or to mptree alone (`kill -INT PID`, as a CI
// runner or a script sends it). The program shares our process group, so in the first case
// it got the signal too and must be left to react as it would bare; in the second nobody
// but us knows, and we must act. Node does not tell who sent a signal, and even the sender's
// pid (siginfo) would not tell whether it was sent to the group.
//
// So a witness: a `cat` reading a pipe from us, in our process group but not in the run.
// The kernel generates a group signal for every member within the one kill() call, the
// newest member first (the witness is newer than mptree), so by the time our handler runs
// the witness has it pending or has died of it. /proc says which; no timing is involved.
// The witness exits at end of file on its stdin: mptree's death, even by SIGKILL, ends it.
// On a normal exit mptree waits for it to be gone (close()): a SIGKILL is only sent, the
// witness still sits in the caller's process group until the kernel has ended it and we
// have reaped it, and a shell or CI runner checking the group right after us must find
// nothing of ours.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { findOnPath } from './python';

export class SignalWitness {
  private child: ChildProcess | null = null;
  private exitSignal: NodeJS.Signals | null = null;
  private disposed = false;

  private constructor(private readonly cat: string) {
    this.spawn();
  }

  /** Linux only (it reads /proc); null elsewhere or without `cat`, where callers guess. */
  static start(): SignalWitness | null {
    if (process.platform !== 'linux' || !fs.existsSync('/proc/self/stat')) return null;
    const cat = findOnPath('cat');
    return cat ? new SignalWitness(cat) : null;
  }

  private spawn(): void {
    if (this.disposed) return;
    this.exitSignal = null;
    let child: ChildProcess;
    try {
      // Not detached: it must stay in our process group, as the program does.
      child = spawn(this.cat, [], { stdio: ['pipe', 'ignore', 'ignore'] });
    } catch {
      this.child = null;
      return;
    }
    this.child = child;
    child.on('error', () => {
      if (this.child === child) this.child = null;
    });
    child.on('exit', (_code, signal) => {
      if (this.child === child) this.exitSignal = signal;
    });
    // Neither the process nor its pipe may keep mptree's event loop alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  /**
   * true: `signal` was sent to our whole process group; false: to mptree alone; null: the
   * witness cannot tell (it is missing or died of something else). Call it from the signal
   * handler, before anything else happens.
   */
  sentToGroup(signal: NodeJS.Signals): boolean | null {
    const child = this.child;
    const pid = child?.pid;
    if (!child || pid === undefined) return null;
    const number = os.constants.signals[signal];
    let verdict: boolean | null;
    if (this.exitSignal !== null) verdict = this.exitSignal === signal ? true : null;
    else verdict = witnessed(pid, number);
    // A witness that got the signal dies of it (cat does not handle any): start a fresh
    // one, so the next signal can be told apart too.
    if (verdict !== false) {
      this.child = null;
      child.kill('SIGKILL');
      this.spawn();
    }
    return verdict;
  }

  /** Ends the witness and resolves once it is reaped (within timeoutMs at most). */
  close(timeoutMs = 2000): Promise<void> {
    this.disposed = true;
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGKILL');
    });
  }

  /** Synchronous, for process exit: the SIGKILL is sent, the witness may outlive us by a moment. */
  dispose(): void {
    this.disposed = true;
    this.child?.kill('SIGKILL');
    this.child = null;
  }
}

/** What /proc shows of a witness that may have just received signal number `n`. */
function witnessed(pid: number, n: number): boolean | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') {
    // Field 52, the wait status (Linux 3.5+): its low 7 bits are the killing signal.
    const status = Number(fields[49]);
    return Number.isSafeInteger(status) && (status & 0x7f) === n ? true : null;
  }
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  // A fatal signal is turned into a pending SIGKILL for the whole group at once; until the
  // witness runs and dies, one of these masks shows the signal or that SIGKILL.
  let pending = 0n;
  for (const m of status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)) pending |= BigInt('0x' + m[1]);
  const bit = (k: number) => (pending >> BigInt(k - 1)) & 1n;
  return bit(n) === 1n || bit(9) === 1n;
}
