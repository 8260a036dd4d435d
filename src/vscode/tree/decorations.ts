// Tree items can only colour their icon, not their label. A FileDecorationProvider can: each
// process item carries a `mptree-process:` uri naming its key, and this provider dims the
// label of exited processes and marks zombies, the way the explorer dims ignored files.

import * as vscode from 'vscode';
import type { ProcessInfo } from '../../core/types';

const SCHEME = 'mptree-process';

export function decorationUri(processKey: string): vscode.Uri {
  return vscode.Uri.from({ scheme: SCHEME, path: '/' + encodeURIComponent(processKey) });
}

export class ProcessDecorationProvider implements vscode.FileDecorationProvider {
  constructor(
    private readonly lookup: (key: string) => ProcessInfo | undefined,
    readonly onDidChangeFileDecorations: vscode.Event<vscode.Uri[]>,
  ) {}

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== SCHEME) return undefined;
    const p = this.lookup(decodeURIComponent(uri.path.slice(1)));
    if (!p) return undefined;
    if (p.state === 'zombie') {
      return new vscode.FileDecoration('Z', vscode.l10n.t('zombie: exited, but its parent has not joined it'), new vscode.ThemeColor('list.warningForeground'));
    }
    if (p.state === 'exited') {
      return new vscode.FileDecoration(undefined, vscode.l10n.t('exited'), new vscode.ThemeColor('disabledForeground'));
    }
    if (p.daemon && p.kind !== 'pool-worker') return new vscode.FileDecoration('D', vscode.l10n.t('daemon: terminated when its parent exits'));
    return undefined;
  }
}
