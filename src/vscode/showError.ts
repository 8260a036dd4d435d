// Error notifications that lead to the details: the log has the full message and what led up
// to it, and a notification alone does not say where to look.
import * as vscode from 'vscode';

/** Shows `mptree: <message>` with a Show Log button that opens the extension's log. */
export function showErrorWithLog(log: vscode.LogOutputChannel, message: string): void {
  const showLog = vscode.l10n.t('Show Log');
  // Not awaited by callers: the promise settles only when the notification is dismissed.
  void vscode.window.showErrorMessage(`mptree: ${message}`, showLog).then((choice) => {
    if (choice === showLog) log.show(true);
  });
}
