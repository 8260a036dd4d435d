// Ground truth from the OS for the tests: which processes of a run are alive. Deliberately
// not src/core/runMembers.ts (the code under test uses that to find what to stop); this
// reads /proc on its own. Every process of a run inherits MPTREE_RUN_ID from the launcher,
// whatever became of its parent; a zombie's environ reads empty, so only the live count.
import * as fs from 'node:fs';

/** Linux pids whose environment carries MPTREE_RUN_ID=runId. */
export function processesOfRun(runId: string): number[] {
  return processesWithEnvironment('MPTREE_RUN_ID', runId);
}

/**
 * Linux pids whose environment carries name=value: a test that starts the CLI with a
 * variable of its own finds every process of that run, whatever run id the CLI chose.
 */
export function processesWithEnvironment(name: string, value: string): number[] {
  const entry = `${name}=${value}`;
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(entry)) found.push(Number(name));
    } catch {
      // Gone meanwhile, or another user's.
    }
  }
  return found;
}

/** Waits up to `ms` for the run to have no live process; returns those still left. */
export async function processesLeftAfter(runId: string, ms: number): Promise<number[]> {
  return waitUntilNone(() => processesOfRun(runId), ms);
}

/** Waits up to `ms` for no live process to carry name=value; returns those still left. */
export async function processesWithEnvironmentLeftAfter(name: string, value: string, ms: number): Promise<number[]> {
  return waitUntilNone(() => processesWithEnvironment(name, value), ms);
}

async function waitUntilNone(list: () => number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = list();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = list();
  }
  return left;
}
