// Shared by the CLI tests: starts `mptree run` the way a terminal would.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const cliPath = path.join(repoRoot, 'dist', 'cli.js');

/**
 * Starts the CLI in its own process group, as a terminal starts a foreground job, so a test can
 * signal the group (Ctrl+C) or mptree alone. The fixture prints "ready" once its processes run
 * and records their pids in MPTREE_TRUTH.
 */
export function startInGroup(args: string[], truthFile: string, readyTimeoutMs = 30_000, options: { quiet?: boolean } = {}) {
  const child = spawn(process.execPath, [cliPath, 'run', ...(options.quiet === false ? ['--no-live'] : ['--quiet']), ...args], {
    cwd: repoRoot,
    detached: true,
    env: { ...process.env, MPTREE_TRUTH: truthFile },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const ready = async () => {
    const deadline = Date.now() + readyTimeoutMs;
    while (!stdout.includes('ready\n')) {
      if (Date.now() > deadline) throw new Error(`fixture never got ready:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const cleanup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  };
  return { child, exited, ready, cleanup, output: () => ({ stdout, stderr }), stderr: () => stderr };
}

/** Polls the OS until kill(pid, 0) fails with ESRCH for every pid; returns the ones left. */
export async function stillThere(pids: Iterable<number>, ms = 10_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = [...pids];
  for (;;) {
    left = left.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code !== 'ESRCH';
      }
    });
    // Orphans are reaped by init, which may take a moment: wait for ESRCH, not for "zombie".
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first line a child prints, however the pipe splits it into chunks. */
export function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer | string) => {
      text += String(d);
      if (!text.includes('\n')) return;
      stream.off('data', onData);
      resolve(text.slice(0, text.indexOf('\n')));
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error(`the stream ended before a whole line: ${JSON.stringify(text)}`)));
  });
}
