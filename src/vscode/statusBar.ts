// `$(server-process) 7 processes · 212 % · 1.2 GB` while any run is live (what its running
// processes use, from the OS scan); clicking it shows the tree.

import * as vscode from 'vscode';
import { VIEW_ID } from './commandIds';
import type { RunManager } from './runs';
import { liveTotalsText, usageTotals } from '../core/usageText';

/** Process counts change in bursts (a pool starting); the status bar need not follow each one. */
const UPDATE_DELAY_MS = 250;

export class ProcessStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('mptree.processes', vscode.StatusBarAlignment.Left, 50);
  private readonly subscriptions: vscode.Disposable[];
  private timer: NodeJS.Timeout | undefined;
  private shown = false;

  constructor(private readonly runs: RunManager) {
    this.item.name = vscode.l10n.t('mptree processes');
    this.item.command = { title: vscode.l10n.t('Show Process Tree'), command: `${VIEW_ID}.focus` };
    this.subscriptions = [runs.onDidChangeRuns(() => this.schedule()), runs.onDidChangeModel(() => this.schedule())];
    this.update();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.update();
    }, UPDATE_DELAY_MS);
  }

  private update(): void {
    const live = this.runs.liveRuns();
    if (live.length === 0) {
      this.item.hide();
      this.shown = false;
      return;
    }
    const count = this.runs.liveProcessCount();
    const usage = liveTotalsText(usageTotals(live.flatMap((run) => run.model.liveProcesses())));
    const processes = count === 1 ? vscode.l10n.t('1 process') : vscode.l10n.t('{0} processes', count);
    this.item.text = `$(server-process) ${processes}${usage ? ` · ${usage}` : ''}`;
    this.item.tooltip =
      live.length === 1 ? vscode.l10n.t('1 run live under mptree — show the Process Tree') : vscode.l10n.t('{0} runs live under mptree — show the Process Tree', live.length);
    this.item.show();
    this.shown = true;
  }

  /** What the user sees (for tests): the text, or undefined while hidden. */
  get text(): string | undefined {
    return this.shown ? this.item.text : undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }
}
