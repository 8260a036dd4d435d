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
    cleanExit: t('exited cleanly at {0} (exit 0)'),
    failedCode: t('failed at {0} (exit {1})'),
    failedSignal: t('ended by {1} at {0}'),
    exitCode: t('exit {0}'),
    runningUsage: t('running · {0} % CPU · {1} MB'),
    usagePeaks: t('peak CPU {0} % · peak memory {1} MB'),
    laneLineCpu: t('Lane line: CPU'),
    laneLineMemory: t('Lane line: memory'),
    laneLineOff: t('Lane line: off'),
    laneLineHelp: t("The thin line in each lane: that process's CPU (% of one core) or resident memory. Click to switch."),
    laneNow: t('{0}: {1}'),
    pid: t('pid {0}'),
    daemon: t('daemon'),
    poolWorker: t('pool worker'),
    startedAt: t('started at {0}, {1}'),
    zombieNotJoined: t('zombie: not joined yet'),
    waitedInAll: t('waiting (hatched): {0} in all'),
    clickToReveal: t('Click (or Enter) to show it in the tree'),
    legendRunning: t('running'),
    legendZombie: t('zombie'),
    legendExited: t('✓ exit 0'),
    legendFailed: t('✗ failed / signal'),
    legendDaemon: t('D daemon'),
    legendWorker: t('W pool worker'),
    gridLabel: t('Processes of the run, one lane each: arrow keys move, Enter shows the process in the tree'),
    legendWaiting: t('waiting'),
  };
}

export type TimelineStrings = ReturnType<typeof timelineStrings>;

/** Text for HTML: the legend is markup, the names in it are not. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
