// contextValue strings of tree nodes. `when` clauses in package.json match them by regex
// (`viewItem =~ /^process\.running\./`), so their grammar is a contract with the manifest:
//
//   run.<running|finished>
//   process.<running|zombie|exited>.<instrumented|os>[.main][.helper][.daemon]
//   queue.<kind>          pool.<state>
//
// Kept free of `vscode` imports so the unit test can check every menu regex against them.

import type { PoolInfo, ProcessInfo, QueueInfo, RunInfo } from '../../core/types';

export function runContextValue(run: Pick<RunInfo, 'state'>): string {
  return run.state === 'starting' || run.state === 'running' ? 'run.running' : 'run.finished';
}

export function processContextValue(
  p: Pick<ProcessInfo, 'state' | 'instrumented' | 'kind' | 'daemon' | 'parentKey'>,
): string {
  let value = `process.${p.state}.${p.instrumented ? 'instrumented' : 'os'}`;
  if (p.kind === 'main' || p.parentKey === null) value += '.main';
  if (p.kind === 'helper') value += '.helper';
  if (p.daemon) value += '.daemon';
  return value;
}

export function queueContextValue(q: Pick<QueueInfo, 'kind'>): string {
  return `queue.${q.kind}`;
}

export function poolContextValue(p: Pick<PoolInfo, 'state'>): string {
  return `pool.${p.state}`;
}

/** Every value the functions above can produce; the unit test matches menu regexes against it. */
export function allContextValues(): string[] {
  const values = new Set<string>(['run.running', 'run.finished']);
  for (const state of ['running', 'zombie', 'exited'] as const) {
    for (const instrumented of [true, false]) {
      for (const kind of ['main', 'process', 'pool-worker', 'helper', 'os'] as const) {
        for (const daemon of [true, false]) {
          for (const parentKey of [null, 'x']) {
            values.add(processContextValue({ state, instrumented, kind, daemon, parentKey }));
          }
        }
      }
    }
  }
  for (const kind of ['Queue', 'JoinableQueue', 'SimpleQueue', 'ManagerQueue', 'ManagerJoinableQueue'] as const) {
    values.add(queueContextValue({ kind }));
  }
  for (const state of ['running', 'closed', 'terminated', 'joined', 'shutdown'] as const) {
    values.add(poolContextValue({ state }));
  }
  return [...values];
}
