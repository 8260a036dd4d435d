import * as vscode from 'vscode';
import type { Services } from '../services';
import { processTargets } from './targets';

/** Space-separated when several: ready for `kill -STOP 4242 4243` or `py-spy dump --pid`. */
export async function copyPid(services: Services, node?: unknown, nodes?: unknown): Promise<string | undefined> {
  const targets = await processTargets(services, node, nodes, { title: 'Copy PID', filter: () => true, canPickMany: true });
  if (targets.length === 0) return undefined;
  const text = targets.map((t) => String(t.process.pid)).join(' ');
  await vscode.env.clipboard.writeText(text);
  vscode.window.setStatusBarMessage(`$(copy) Copied ${targets.length === 1 ? 'pid' : 'pids'} ${text}`, 3000);
  return text;
}
