import type { Services } from '../services';

/** Redraws at once; the model itself is live, so there is nothing to re-fetch. */
export function refresh(services: Services): void {
  services.tree.refresh();
}
