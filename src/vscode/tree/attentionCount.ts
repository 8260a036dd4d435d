// What the view's badge counts: the hints of the live tree's runs, and zombies (exited, not
// joined) that no hint names yet (a zombie gets its hint only after a few seconds). Free of
// `vscode` so the count can be checked in plain Node.
import type { Hint } from '../../core/hints';
import type { RunView } from './runView';

export interface AttentionCount {
  hints: number;
  /** Zombies not already counted through a hint about them. */
  zombies: number;
}

export function attentionCount(runs: readonly RunView[], hintsOf: (runId: string) => readonly Hint[]): AttentionCount {
  let hints = 0;
  let zombies = 0;
  for (const run of runs) {
    const list = hintsOf(run.info.runId);
    hints += list.length;
    const named = new Set(list.map((h) => h.processKey).filter((k): k is string => k !== undefined));
    for (const p of run.model.processes()) if (p.state === 'zombie' && !named.has(p.key)) zombies++;
  }
  return { hints, zombies };
}
