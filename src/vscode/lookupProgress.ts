// Finding the interpreter (and, to debug, whether it has debugpy) can take seconds: the Python
// extension may still be activating, a version manager's shim starts Python once. Past a short
// delay the user sees a notification saying what mptree waits for, and may cancel it; a quick
// lookup shows nothing at all.
import * as vscode from 'vscode';

/** How long a lookup runs before it is shown: most answer within it (a remembered interpreter). */
const SHOW_AFTER_MS = 700;

/** The user cancelled the lookup: nothing starts, and nothing more is said. */
export class LookupCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/** Runs `lookup`, showing `title` as progress if it takes a while; rejects with LookupCancelled when the user cancels. */
export async function withLookupProgress<T>(title: string, lookup: () => Promise<T>): Promise<T> {
  let finished = false;
  let cancel: (() => void) | undefined;
  const cancelled = new Promise<never>((_, reject) => (cancel = () => reject(new LookupCancelled())));
  const work = lookup().finally(() => (finished = true));
  const timer = setTimeout(() => {
    if (finished) return;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (_progress, token) => {
      token.onCancellationRequested(() => cancel?.());
      // Ends with the lookup, whichever way it ends.
      return work.then(
        () => undefined,
        () => undefined,
      );
    });
  }, SHOW_AFTER_MS);
  try {
    // The lookup goes on after a cancel (a child process we cannot take back); its answer is dropped.
    return await Promise.race([work, cancelled]);
  } finally {
    clearTimeout(timer);
  }
}
