// The open timeline panels, one per run (live or opened from a file): Show Timeline opens one
// or shows the one there is; a hint change redraws the run's panel; a click on a lane goes to
// `reveal`, which selects the process in its tree.
import * as vscode from 'vscode';
import type { HintsController } from '../hints/hintsController';
import type { RunHistories } from '../history/runHistories';
import { ImportedRun } from '../openedRuns/importedRuns';
import type { Run } from '../runs';
import { TimelinePanel, type TimelineSource } from './timelinePanel';
import { liveSource, openedSource } from './timelineSources';

export class Timelines implements vscode.Disposable {
  private readonly panels = new Map<string, TimelinePanel>();
  private readonly openEmitter = new vscode.EventEmitter<TimelinePanel>();
  /** A panel was made (not when an existing one is shown again). */
  readonly onDidOpen = this.openEmitter.event;
  private readonly hintSubscription: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly histories: RunHistories,
    private readonly hints: HintsController,
    private readonly reveal: (runId: string, key: string) => void,
  ) {
    this.hintSubscription = hints.onDidChangeHints((runId) => this.panels.get(runId)?.refreshHints());
  }

  /** Opens (or shows) the timeline of a run. */
  open(run: Run | ImportedRun): TimelinePanel {
    const id = run.info.runId;
    const existing = this.panels.get(id);
    if (existing) {
      existing.show();
      return existing;
    }
    const source = run instanceof ImportedRun ? openedSource(run, this.hints) : this.liveSourceOf(run);
    const panel = new TimelinePanel(source, this.extensionUri, (key) => this.reveal(id, key));
    this.panels.set(id, panel);
    panel.onDidDispose(() => this.panels.delete(id));
    this.openEmitter.fire(panel);
    return panel;
  }

  of(runId: string): TimelinePanel | undefined {
    return this.panels.get(runId);
  }

  dispose(): void {
    this.hintSubscription.dispose();
    for (const panel of [...this.panels.values()]) panel.dispose();
    this.openEmitter.dispose();
  }

  private liveSourceOf(run: Run): TimelineSource {
    const history = this.histories.of(run.runId);
    // Every run in the tree has one (RunHistories follows the same list): a missing one is a bug.
    if (!history) throw new Error(vscode.l10n.t('no history was recorded for run {0}', run.runId));
    return liveSource(run, history, this.hints);
  }
}
