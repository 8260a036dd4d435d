// The timeline webview's words. The webview cannot call vscode.l10n, so the panel injects these,
// localized, into its HTML (a JSON data block media/timeline.js reads at start); {0} placeholders
// are filled in by the script. test/unit/l10n.test.ts checks that every key the script reads is here.
import * as vscode from 'vscode';

export function timelineStrings() {
  const t = vscode.l10n.t;
  return {
    processes: t('Processes ({0})'),
    queuesPoolsUsage: t('Queues, pools, CPU and memory'),
    nowOfLimitMax: t('now {0} / {1} · max {2}'),
    nowMax: t('now {0} · max {1}'),
    seconds: t('{0} s'),
    minutes: t('{0} min'),
    minutesSeconds: t('{0} min {1} s'),
    live: t('live'),
    openedFromFile: t('opened from file'),
    ended: t('ended'),
    oneProcess: t('1 process'),
    processCount: t('{0} processes'),
    running: t('running'),
    exitedAt: t('exited at {0}'),
    exitedAtSignal: t('exited at {0} ({1})'),
    exitedAtCode: t('exited at {0} (exit {1})'),
    pid: t('pid {0}'),
    daemon: t('daemon'),
    poolWorker: t('pool worker'),
    startedAt: t('started at {0}, {1}'),
    zombieNotJoined: t('zombie: not joined yet'),
    clickToReveal: t('Click to show it in the tree'),
    legendRunning: t('running'),
    legendZombie: t('zombie'),
    legendExited: t('exited'),
    legendFailed: t('failed / signal'),
    legendDaemon: t('daemon'),
    legendWorker: t('pool worker'),
    gridLabel: t('Process timeline'),
  };
}

export type TimelineStrings = ReturnType<typeof timelineStrings>;

/** Text for HTML: the legend is markup, the names in it are not. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
