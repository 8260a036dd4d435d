import * as vscode from 'vscode';
import type { Services } from '../services';
import { errorText } from '../../core/l10n';
import { confirmMany, describeTarget, isRunning, processTargets, type ProcessTarget } from './targets';
import { afterGrace, graceMs, waitForExit } from './waitForExit';

export interface SignalCommandResult {
  signalled: number[];
  /** Still running after the grace period: offered SIGKILL, or killed (`killed`). */
  stillRunning: number[];
  /** Killed after the grace period (`mptree.afterTerminateGrace`: `kill`). */
  killed: number[];
}

/** SIGTERM (through the parent's Process.terminate() when it can), then offer SIGKILL. */
export async function terminateProcess(services: Services, node?: unknown, nodes?: unknown): Promise<SignalCommandResult | undefined> {
  const targets = await processTargets(services, node, nodes, { title: vscode.l10n.t('Terminate Process'), filter: isRunning, canPickMany: true });
  if (targets.length === 0 || !(await confirmMany('terminate', targets))) return undefined;
  const signalled = await signalAll(services, targets, (t) => t.run.session.terminate(t.process.pid), 'terminate', (list) => vscode.l10n.t('mptree: could not terminate {0}', list));
  const ms = graceMs();
  const stragglers = await waitForExit(services, signalled, ms);
  const killed = await afterGrace(services, stragglers, ms / 1000);
  return { signalled: signalled.map((t) => t.process.pid), stillRunning: stragglers.map((t) => t.process.pid), killed: killed.map((t) => t.process.pid) };
}

/** Runs one signal per target; reports failures together. Returns the targets signalled. */
export async function signalAll(
  services: Services,
  targets: readonly ProcessTarget[],
  send: (t: ProcessTarget) => Promise<unknown>,
  verb: string,
  failedText: (list: string) => string,
): Promise<ProcessTarget[]> {
  const results = await Promise.allSettled(targets.map(send));
  const failed: string[] = [];
  const ok: ProcessTarget[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') ok.push(targets[i]);
    else {
      const message = `${describeTarget(targets[i])}: ${errorText(result.reason, vscode.l10n.t)}`;
      services.log.error(`${verb} ${message}`);
      failed.push(message);
    }
  });
  if (failed.length > 0) void vscode.window.showErrorMessage(failedText(failed.join('; ')));
  return ok;
}
