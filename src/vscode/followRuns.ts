// Follows the runs of a RunManager: `added` once for each run there is or comes, `removed`
// once when it leaves the list (cleared, or replaced by a newer run of the same file). The
// run histories and the hints both keep something per run and must let it go with the run.
import type * as vscode from 'vscode';
import type { Run, RunManager } from './runs';

export function followRuns(runs: RunManager, on: { added(run: Run): void; removed(run: Run): void }): vscode.Disposable {
  const followed = new Set<Run>();
  const add = (run: Run) => {
    if (followed.has(run)) return;
    followed.add(run);
    on.added(run);
  };
  for (const run of runs.runs) add(run);
  return runs.onDidChangeRuns((changed) => {
    if (changed && runs.runs.includes(changed as Run)) add(changed as Run);
    const present = new Set(runs.runs);
    for (const run of [...followed]) {
      if (present.has(run)) continue;
      followed.delete(run);
      on.removed(run);
    }
  });
}
