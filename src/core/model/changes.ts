// What one batch changed: the keys each part of the model touched while it was applied.
// RunModel opens it around a batch and turns it into the one ModelChange it fires; the parts
// only record, so none of them fires anything on its own.
import type { ModelChange } from '../types';

export class BatchChanges {
  private open: { processes: Set<string>; queues: Set<string>; pools: Set<string>; structural: boolean } | null = null;

  get inBatch(): boolean {
    return this.open !== null;
  }

  begin(): void {
    this.open = { processes: new Set(), queues: new Set(), pools: new Set(), structural: false };
  }

  /** Closes the batch: what it changed, or null when it changed nothing. */
  end(runId: string): ModelChange | null {
    const change = this.open;
    this.open = null;
    if (!change || !(change.processes.size || change.queues.size || change.pools.size || change.structural)) return null;
    return {
      runId,
      processes: [...change.processes],
      queues: [...change.queues],
      pools: [...change.pools],
      structural: change.structural,
    };
  }

  process(key: string): void {
    this.open?.processes.add(key);
  }

  queue(key: string): void {
    this.open?.queues.add(key);
  }

  pool(key: string): void {
    this.open?.pools.add(key);
  }

  /** A node was added, removed or moved: parents must list their children again. */
  structural(): void {
    if (this.open) this.open.structural = true;
  }
}
