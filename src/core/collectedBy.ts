// Who collected a child's exit status. `joined` means the program called join() on it;
// multiprocessing also collects children itself, and that is shown as what it is.

import { english, type Localizer } from './l10n';

/** join: the program's join(); start: the clean-up inside a later Process.start();
 *  active_children: multiprocessing.active_children(); exit: the exit handler (its join of
 *  every non-daemon child); poll: the program's is_alive() or exitcode; pool: the pool's
 *  own clean-up of its workers; shutdown: a Manager's shutdown() (or its `with` block)
 *  joining its server process. */
export const COLLECTORS = ['join', 'start', 'active_children', 'exit', 'poll', 'pool', 'shutdown'] as const;
export type CollectedBy = (typeof COLLECTORS)[number];

/** The words the CLI tree and the VS Code tree use for a collection that was not a join(). */
export function collectedByText(by: CollectedBy | null, t: Localizer = english): string | null {
  switch (by) {
    case 'start':
      return t('collected by a later start()');
    case 'active_children':
      return t('collected by active_children()');
    case 'exit':
      return t('collected at exit, not joined');
    case 'poll':
      return t('collected by is_alive()/exitcode');
    case 'shutdown':
      return t("collected by its manager's shutdown()");
    default:
      // 'pool': every pool worker is collected by its pool; saying so on each is noise.
      return null;
  }
}
