// Which processes a command acts on: the multi-selection when the clicked node is part of it,
// else the clicked node, else (from the palette) the user's pick among live processes.

import * as vscode from 'vscode';
import type { ProcessInfo } from '../../core/types';
import { isProcessNode, isRunNode, PoolNode, ProcessNode, QueueNode, type TreeNode } from '../tree/nodes';
import { processDescription, processLabel, runLabel } from '../tree/present';
import type { Run } from '../runs';
import type { Services } from '../services';

export interface ProcessTarget {
  run: Run;
  process: ProcessInfo;
}

export interface PickOptions {
  title: string;
  /** Which processes the command applies to; others are skipped, and not offered. */
  filter: (p: ProcessInfo) => boolean;
  canPickMany: boolean;
}

export async function processTargets(
  services: Services,
  node: unknown,
  nodes: unknown,
  options: PickOptions,
): Promise<ProcessTarget[]> {
  const fromView = selectedNodes(node, nodes).filter(isProcessNode);
  if (fromView.length > 0) {
    return fromView
      .map((n) => toTarget(services, n))
      .filter((t): t is ProcessTarget => t !== undefined && options.filter(t.process));
  }
  return pickProcesses(services, options);
}

/** The clicked node, or the whole selection when the clicked node belongs to it. */
export function selectedNodes(node: unknown, nodes: unknown): unknown[] {
  if (Array.isArray(nodes) && nodes.length > 0 && (node === undefined || nodes.includes(node))) return nodes;
  return node === undefined || node === null ? [] : [node];
}

function toTarget(services: Services, node: ProcessNode): ProcessTarget | undefined {
  const run = services.runs.runs.find((r) => r === node.run);
  const process = node.info;
  return run && process ? { run, process } : undefined;
}

async function pickProcesses(services: Services, options: PickOptions): Promise<ProcessTarget[]> {
  type Item = vscode.QuickPickItem & { target?: ProcessTarget };
  const items: Item[] = [];
  for (const run of services.runs.runs) {
    const processes = run.model.walk().filter(options.filter);
    if (processes.length === 0) continue;
    items.push({ label: runLabel(run.info), kind: vscode.QuickPickItemKind.Separator });
    for (const process of processes) {
      items.push({
        label: `${'  '.repeat(depth(run, process))}${processLabel(process)}`,
        description: processDescription(process, vscode.l10n.t),
        detail: process.target ?? undefined,
        target: { run, process },
      });
    }
  }
  if (items.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('mptree: no process to {0}.', options.title.toLowerCase()));
    return [];
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: options.title,
    placeHolder: options.canPickMany ? vscode.l10n.t('Select processes') : vscode.l10n.t('Select a process'),
    canPickMany: options.canPickMany,
    matchOnDescription: true,
  });
  if (!picked) return [];
  const list = Array.isArray(picked) ? picked : [picked];
  return list.map((item) => item.target).filter((t): t is ProcessTarget => t !== undefined);
}

function depth(run: Run, p: ProcessInfo): number {
  let d = 0;
  for (let key = p.parentKey; key !== null && d < 20; key = run.model.get(key)?.parentKey ?? null) d++;
  return d;
}

/** The run a node belongs to (run node or any node below it). */
export function runOfNode(services: Services, node: unknown): Run | undefined {
  if (!isTreeNode(node)) return undefined;
  return services.runs.runs.find((r) => r === node.run);
}

function isTreeNode(value: unknown): value is TreeNode {
  return isRunNode(value) || value instanceof ProcessNode || value instanceof QueueNode || value instanceof PoolNode;
}

export const isRunning = (p: ProcessInfo) => p.state === 'running';

/** Asks before acting on many processes at once; true to go ahead. */
export async function confirmMany(action: 'kill' | 'terminate', targets: readonly ProcessTarget[], threshold = 3): Promise<boolean> {
  if (targets.length <= threshold) return true;
  const names = targets.slice(0, 6).map((t) => `${processLabel(t.process)} (${t.process.pid})`);
  if (targets.length > names.length) names.push(vscode.l10n.t('and {0} more', targets.length - names.length));
  const n = targets.length;
  const go = action === 'kill' ? vscode.l10n.t('Kill {0}', n) : vscode.l10n.t('Terminate {0}', n);
  const choice = await vscode.window.showWarningMessage(
    action === 'kill' ? vscode.l10n.t('Kill {0} processes?', n) : vscode.l10n.t('Terminate {0} processes?', n),
    { modal: true, detail: names.join('\n') },
    go,
  );
  return choice === go;
}

export function describeTarget(t: ProcessTarget): string {
  return vscode.l10n.t('{0} (pid {1})', processLabel(t.process), t.process.pid);
}
