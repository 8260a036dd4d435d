// mptree: Open Run. Reads an exported run (checked field by field, never evaluated), lists it
// in the Opened Runs view and shows its timeline.
import * as vscode from 'vscode';
import { importRun, RunFileError } from '../../core/history';
import { ImportedRun } from '../openedRuns/importedRuns';
import type { Services } from '../services';

/** Larger files are refused before reading: a run file of this size is not one mptree wrote. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

export async function openRun(services: Services, uri?: unknown): Promise<ImportedRun | undefined> {
  const file = uri instanceof vscode.Uri ? uri : (await vscode.window.showOpenDialog({
    title: vscode.l10n.t('Open an exported mptree run'),
    canSelectMany: false,
    filters: { [vscode.l10n.t('mptree run')]: ['json'], [vscode.l10n.t('All files')]: ['*'] },
    openLabel: vscode.l10n.t('Open Run'),
  }))?.[0];
  if (!file) return undefined;
  const stat = await vscode.workspace.fs.stat(file);
  if (stat.size > MAX_FILE_BYTES) throw new Error(vscode.l10n.t('{0} is too large to be an mptree run ({1} MB)', file.fsPath, Math.round(stat.size / 1e6)));
  const text = Buffer.from(await vscode.workspace.fs.readFile(file)).toString('utf8');
  let run: ImportedRun;
  try {
    run = new ImportedRun(importRun(text), file.fsPath);
  } catch (error) {
    if (error instanceof RunFileError) throw new Error(vscode.l10n.t('cannot open {0}: {1}', file.fsPath, error.message));
    throw error;
  }
  services.openedRuns.runs.add(run);
  services.hints.trackFixed(run, run.data.hints.map((h) => ({ ...h, ...(h.processKey ? { processKey: run.keyOf(h.processKey) } : {}) })));
  services.timelines.open(run);
  return run;
}
