// The Processes views' badge: how many hints and zombies want a look, so a view the user is
// not looking at (another sidebar, a collapsed section) still says "look here".
import * as vscode from 'vscode';
import type { HintsController } from '../hints/hintsController';
import type { RunManager } from '../runs';
import { attentionCount } from './attentionCount';
import type { TreeNode } from './nodes';

/** Recounted at most this often: model changes come in bursts. */
const RECOUNT_MS = 200;

export class ViewBadge implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runs: RunManager,
    private readonly hints: HintsController,
    private readonly views: ReadonlyArray<vscode.TreeView<TreeNode>>,
  ) {
    const schedule = () => {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.update();
      }, RECOUNT_MS);
    };
    this.subscriptions.push(hints.onDidChangeHints(schedule), runs.onDidChangeModel(schedule), runs.onDidChangeRuns(schedule));
    this.update();
  }

  /** Sets the badge now (tests and the recount call it). */
  update(): vscode.ViewBadge | undefined {
    const { hints, zombies } = attentionCount(this.runs.runs, (runId) => this.hints.hintsOf(runId));
    const total = hints + zombies;
    const badge =
      total === 0
        ? undefined
        : { value: total, tooltip: badgeTooltip(hints, zombies) };
    for (const view of this.views) view.badge = badge;
    return badge;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.subscriptions) d.dispose();
  }
}

function badgeTooltip(hints: number, zombies: number): string {
  const parts: string[] = [];
  if (hints > 0) parts.push(hints === 1 ? vscode.l10n.t('1 hint about the program') : vscode.l10n.t('{0} hints about the program', hints));
  if (zombies > 0) {
    parts.push(zombies === 1 ? vscode.l10n.t('1 zombie process (exited, not joined)') : vscode.l10n.t('{0} zombie processes (exited, not joined)', zombies));
  }
  return parts.join(', ');
}
