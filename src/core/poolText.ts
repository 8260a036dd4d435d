// A pool's header, shared by the CLI tree and the VS Code tree: its size, the workers that
// replaced others (maxtasksperchild, a worker that died), and what its counts count.
import { english, type Localizer } from './l10n';
import type { PoolInfo } from './types';

/** Workers started beyond the pool's size: each replaced one that ended. */
export function replacedWorkers(pool: PoolInfo): number {
  return Math.max(0, pool.workers.length - pool.size);
}

/**
 * `4 workers · 5 replaced · 0 pending · 10 done`. Pending and done count tasks as the runtime
 * does: each item of map/starmap/imap (not each chunk), each apply_async, each submit().
 */
export function poolHeaderParts(pool: PoolInfo, t: Localizer = english): string[] {
  const parts = [pool.size === 1 ? t('1 worker') : t('{0} workers', pool.size)];
  const replaced = replacedWorkers(pool);
  if (replaced > 0) parts.push(t('{0} replaced', replaced));
  parts.push(t('{0} pending', pool.pending), t('{0} done', pool.completed));
  return parts;
}
