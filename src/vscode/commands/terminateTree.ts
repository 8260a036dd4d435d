import * as vscode from 'vscode';
import type { ProcessInfo } from '../../core/types';
import type { Services } from '../services';
import { confirmMany, isRunning, processTargets, type ProcessTarget } from './targets';
import { signalAll, type SignalCommandResult } from './terminateProcess';
import { afterGrace, graceMs, waitForExit } from './waitForExit';

/** SIGTERM to a process and every process below it, deepest first (children before parents). */
export async function terminateTree(services: Services, node?: unknown, nodes?: unknown): Promise<SignalCommandResult | undefined> {
  const roots = await processTargets(services, node, nodes, { title: vscode.l10n.t('Terminate Process Tree'), filter: isRunning, canPickMany: false });
  if (roots.length === 0) return undefined;
  // Confirm on what will actually receive a signal, not on how many nodes were clicked.
  const everyone = uniqueSubtrees(roots);
  if (!(await confirmMany('terminate', everyone))) return undefined;
  await signalAll(services, roots, (t) => t.run.session.terminateTree(t.process.pid), 'terminate the tree of', (list) => vscode.l10n.t('mptree: could not terminate the tree of {0}', list));
  const ms = graceMs();
  const stragglers = await waitForExit(services, everyone, ms);
  const killed = await afterGrace(services, stragglers, ms / 1000);
  return { signalled: everyone.map((t) => t.process.pid), stillRunning: stragglers.map((t) => t.process.pid), killed: killed.map((t) => t.process.pid) };
}

function uniqueSubtrees(roots: readonly ProcessTarget[]): ProcessTarget[] {
  const seen = new Set<string>();
  const out: ProcessTarget[] = [];
  const visit = (target: ProcessTarget, p: ProcessInfo) => {
    if (seen.has(p.key)) return;
    seen.add(p.key);
    if (p.state === 'running') out.push({ run: target.run, process: p });
    for (const child of target.run.model.children(p.key)) visit(target, child);
  };
  for (const root of roots) visit(root, root.process);
  return out;
}
