import * as vscode from 'vscode';
import type { ProcessInfo } from '../../core/types';
import type { Services } from '../services';
import { showErrorWithLog } from '../showError';
import { exitText } from '../tree/present';
import { describeTarget, processTargets, type ProcessTarget } from './targets';

export type JoinOutcome =
  | { pid: number; exitCode: number | null }
  | { pid: number; timedOut: true; seconds: number }
  | { pid: number; error: string }
  | { pid: number; cancelled: true };

/**
 * Only a multiprocessing child can be joined, and only by its parent: not the main program,
 * and not a helper (resource tracker, forkserver, Manager server), which no Process object of
 * the program stands for.
 */
const joinable = (p: ProcessInfo) =>
  p.state !== 'exited' && p.instrumented && p.kind !== 'main' && p.kind !== 'os' && p.kind !== 'helper' && p.parentKey !== null;

/**
 * Process.join(timeout) in the child's parent, like the program itself would call it. A
 * zombie is reaped by it; a running process is waited for up to mptree.joinTimeoutSeconds.
 */
export async function joinProcess(services: Services, node?: unknown, nodes?: unknown): Promise<JoinOutcome[] | undefined> {
  const targets = await processTargets(services, node, nodes, { title: vscode.l10n.t('Join Process'), filter: joinable, canPickMany: false });
  if (targets.length === 0) return undefined;
  const timeout = vscode.workspace.getConfiguration('mptree').get<number>('joinTimeoutSeconds', 10);
  const title =
    targets.length === 1
      ? vscode.l10n.t('Joining {0}', describeTarget(targets[0]))
      : vscode.l10n.t('Joining {0} processes', targets.length);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const outcomes: JoinOutcome[] = [];
      for (const target of targets) {
        if (targets.length > 1) progress.report({ message: describeTarget(target), increment: 100 / targets.length });
        const outcome = await joinOne(target, timeout, token);
        outcomes.push(outcome);
        if ('cancelled' in outcome) break;
      }
      // One message for the whole selection: five joins are one action, not five notices.
      report(services, targets, outcomes);
      return outcomes;
    },
  );
}

async function joinOne(target: ProcessTarget, timeout: number, token: vscode.CancellationToken): Promise<JoinOutcome> {
  const pid = target.process.pid;
  // Cancelling stops our waiting only: the parent's join() thread ends at its own timeout.
  const cancelled = new Promise<JoinOutcome>((resolve) => {
    const sub = token.onCancellationRequested(() => {
      sub.dispose();
      resolve({ pid, cancelled: true });
    });
  });
  const joined = target.run.session.join(pid, timeout).then(
    (result): JoinOutcome => ('timedOut' in result ? { pid, timedOut: true, seconds: result.seconds } : { pid, exitCode: result.exitCode }),
    (error): JoinOutcome => ({ pid, error: (error as Error)?.message ?? String(error) }),
  );
  return Promise.race([joined, cancelled]);
}

function report(services: Services, targets: readonly ProcessTarget[], outcomes: readonly JoinOutcome[]): void {
  const lines = outcomes.map((outcome, i) => describeOutcome(targets[i], outcome)).filter((l): l is string => l !== undefined);
  if (lines.length === 0) return;
  const errors = outcomes.filter((o): o is Extract<JoinOutcome, { error: string }> => 'error' in o);
  const timedOut = outcomes.some((o) => 'timedOut' in o);
  const text = lines.length === 1 ? lines[0] : lines.join(' ');
  // Not awaited: a notification's promise settles only when it is dismissed.
  if (errors.length > 0) {
    for (const e of errors) services.log.error(`join ${e.pid}: ${e.error}`);
    showErrorWithLog(services.log, text);
  } else if (timedOut) void vscode.window.showWarningMessage(text);
  else void vscode.window.showInformationMessage(text);
}

function describeOutcome(target: ProcessTarget, outcome: JoinOutcome): string | undefined {
  const who = describeTarget(target);
  if ('exitCode' in outcome) {
    const code = outcome.exitCode;
    if (code === null) return vscode.l10n.t('{0} exited (exit code unknown).', who);
    if (code < 0) {
      const signal = exitText(code, target.run.model.get(target.process.key)?.signal ?? null, vscode.l10n.t);
      return vscode.l10n.t('{0} was killed by {1} (exit code {2}).', who, signal ?? String(code), code);
    }
    return vscode.l10n.t('{0} exited with code {1}.', who, code);
  }
  if ('timedOut' in outcome) return vscode.l10n.t('{0} is still running after {1} s (join timed out).', who, outcome.seconds);
  if ('error' in outcome) return vscode.l10n.t('{0}: {1}', who, outcome.error);
  return undefined;
}
