// After SIGTERM: wait for the processes to go, and offer SIGKILL for those that do not
// (a handler that ignores SIGTERM, a worker stuck in C code).

import * as vscode from 'vscode';
import type { Services } from '../services';
import { describeTarget, type ProcessTarget } from './targets';

/** Resolves with the targets still running after `ms`, early once none is. */
export function waitForExit(services: Services, targets: readonly ProcessTarget[], ms: number): Promise<ProcessTarget[]> {
  const stillRunning = () =>
    targets.filter((t) => {
      // Same key: the pid may already name another process.
      const now = t.run.model.get(t.process.key);
      return now !== undefined && now.state === 'running';
    });
  return new Promise((resolve) => {
    if (stillRunning().length === 0 || ms <= 0) return resolve(stillRunning());
    const done = () => {
      clearTimeout(timer);
      sub.dispose();
      resolve(stillRunning());
    };
    const timer = setTimeout(done, ms);
    const sub = services.runs.onDidChangeModel(() => {
      if (stillRunning().length === 0) done();
    });
  });
}

export function graceMs(): number {
  return vscode.workspace.getConfiguration('mptree').get<number>('terminateGraceSeconds', 3) * 1000;
}

/**
 * What happens to the processes still running after the grace period, as the
 * `mptree.afterTerminateGrace` setting says: offered a kill (the default), or killed at once.
 * Returns the targets killed.
 */
export async function afterGrace(services: Services, stragglers: readonly ProcessTarget[], seconds: number): Promise<ProcessTarget[]> {
  if (stragglers.length === 0) return [];
  const mode = vscode.workspace.getConfiguration('mptree').get<string>('afterTerminateGrace', 'ask');
  if (mode !== 'kill') {
    offerKill(services, stragglers, seconds);
    return [];
  }
  const killed: ProcessTarget[] = [];
  for (const t of stragglers) {
    try {
      await t.run.session.kill(t.process.pid);
      killed.push(t);
    } catch (error) {
      services.log.error(`kill ${t.process.pid}: ${(error as Error).message}`);
    }
  }
  if (killed.length > 0) {
    const message =
      killed.length === 1
        ? vscode.l10n.t('{0} ignored SIGTERM for {1} s: killed with SIGKILL.', describeTarget(killed[0]), seconds)
        : vscode.l10n.t('{0} processes ignored SIGTERM for {1} s: killed with SIGKILL.', killed.length, seconds);
    services.log.warn(message);
    void vscode.window.showWarningMessage(vscode.l10n.t('mptree: {0}', message));
  }
  return killed;
}

/**
 * Not awaited by the commands: a notification's promise settles only when the user answers,
 * and the command (and a test awaiting it) must not hang on that.
 */
export function offerKill(services: Services, stragglers: readonly ProcessTarget[], seconds: number): void {
  if (stragglers.length === 0) return;
  const kill = vscode.l10n.t('Kill (SIGKILL)');
  void vscode.window
    .showWarningMessage(
      stragglers.length === 1
        ? vscode.l10n.t('{0} is still running {1} s after SIGTERM: a signal handler may ignore it. Kill?', describeTarget(stragglers[0]), seconds)
        : vscode.l10n.t('{0} processes are still running {1} s after SIGTERM: a signal handler may ignore it. Kill?', stragglers.length, seconds),
      kill,
    )
    .then(async (choice) => {
      if (choice !== kill) return;
      for (const t of stragglers) {
        try {
          await t.run.session.kill(t.process.pid);
        } catch (error) {
          services.log.error(`kill ${t.process.pid}: ${(error as Error).message}`);
        }
      }
    });
}
