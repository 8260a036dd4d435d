import type { Services } from '../services';
import { runOfNode } from './targets';

/** From a run's context menu: that run only. From the view title or palette: every run. */
export function clearExited(services: Services, node?: unknown): void {
  const only = runOfNode(services, node);
  for (const run of only ? [only] : services.runs.runs) run.model.clearExited();
  // A finished run with nothing left would be an empty heading.
  services.runs.removeEmptyFinishedRuns();
}
