// Tree items can only colour their icon, not their label. A FileDecorationProvider can: each
// process item carries a `mptree-process:` uri naming its key, and this provider dims the
// label of exited processes and colours zombies, the way the explorer dims ignored files.

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
    // Colour only, no letter: the row's own words already say zombie or daemon, and a lone
    // Z or D at the far right was explained nowhere on screen.
    if (p.state === 'zombie') {
      return new vscode.FileDecoration(undefined, vscode.l10n.t('zombie process: exited, but its parent has not joined it'), new vscode.ThemeColor('list.warningForeground'));
    }
    if (p.state === 'exited') {
      return new vscode.FileDecoration(undefined, vscode.l10n.t('exited'), new vscode.ThemeColor('disabledForeground'));
    }
    return undefined;
  }
}
