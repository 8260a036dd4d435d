import * as vscode from 'vscode';
import type { Services } from '../services';
import { confirmMany, isRunning, processTargets } from './targets';
import { signalAll, type SignalCommandResult } from './terminateProcess';

/** SIGKILL, sent directly: it cannot be caught, so there is nothing to wait for or offer. */
export async function killProcess(services: Services, node?: unknown, nodes?: unknown): Promise<SignalCommandResult | undefined> {
  const targets = await processTargets(services, node, nodes, { title: vscode.l10n.t('Kill Process'), filter: isRunning, canPickMany: true });
  if (targets.length === 0 || !(await confirmMany('kill', targets))) return undefined;
  const signalled = await signalAll(services, targets, (t) => t.run.session.kill(t.process.pid), 'kill', (list) => vscode.l10n.t('mptree: could not kill {0}', list));
  return { signalled: signalled.map((t) => t.process.pid), stillRunning: [], killed: [] };
}
