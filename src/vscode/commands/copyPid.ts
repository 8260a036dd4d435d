import * as vscode from 'vscode';
import type { Services } from '../services';
import { processTargets } from './targets';

/** Space-separated when several: ready for `kill -STOP 4242 4243` or `py-spy dump --pid`. */
export async function copyPid(services: Services, node?: unknown, nodes?: unknown): Promise<string | undefined> {
  const targets = await processTargets(services, node, nodes, { title: vscode.l10n.t('Copy PID'), filter: () => true, canPickMany: true });
  if (targets.length === 0) return undefined;
  const text = targets.map((t) => String(t.process.pid)).join(' ');
  await vscode.env.clipboard.writeText(text);
  vscode.window.setStatusBarMessage(`$(copy) ${targets.length === 1 ? vscode.l10n.t('Copied pid {0}', text) : vscode.l10n.t('Copied pids {0}', text)}`, 3000);
  return text;
}
