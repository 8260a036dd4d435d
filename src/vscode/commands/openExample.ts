// mptree: Open Example…. A pick of the shipped examples by pattern, in the comment language
// of VS Code's display language; opens the user's own copy, a real file, so that the Run and
// Debug commands take it at once and the user's edits are kept. The walkthrough's buttons
// call it with an example id and { run: true } or { debug: true }.
import * as vscode from 'vscode';
import { copyNameFor, EXAMPLES, exampleLanguageFor, examplePath, isExampleId, type ExampleId, type ExampleLanguage } from '../../core/examples';
import { exampleWords } from '../exampleLabels';
import type { Run } from '../runs';
import type { Services } from '../services';
import { startRun } from '../startRun';
import { debugFile } from './debugFile';

export interface OpenedExample {
  readonly id: ExampleId;
  readonly language: ExampleLanguage;
  /** The user's copy, under the extension's global storage. */
  readonly uri: vscode.Uri;
  /** Set when asked to run it. */
  readonly run?: Run;
  /** Set when asked to debug it: whether the debug session started. */
  readonly debugStarted?: boolean;
}

interface OpenOptions {
  run?: boolean;
  debug?: boolean;
}

/**
 * The copy each example was last opened as in this window. A walkthrough step opens the
 * example with one button and debugs it with another: the second must take the copy the
 * user set breakpoints in (or edited), not a fresh one.
 */
const lastCopies = new Map<ExampleId, vscode.Uri>();

export async function openExample(services: Services, idArg?: unknown, optionsArg?: unknown): Promise<OpenedExample | undefined> {
  let id: ExampleId | undefined;
  if (isExampleId(idArg)) id = idArg;
  else if (typeof idArg === 'string') throw new Error(vscode.l10n.t('there is no example named {0}', idArg));
  else id = await pickExample();
  if (!id) return undefined;
  const options: OpenOptions = typeof optionsArg === 'object' && optionsArg !== null ? (optionsArg as OpenOptions) : {};

  const language = exampleLanguageFor(vscode.env.language);
  const last = lastCopies.get(id);
  const reuse = (options.run || options.debug) && last && (await exists(last));
  const uri = reuse ? last : await userCopy(services, language, id);
  lastCopies.set(id, uri);
  // Not a preview: the copy is for editing, and a preview tab would be replaced by the next
  // file. From the walkthrough (run or debug), beside it, so that its page stays in view.
  await vscode.window.showTextDocument(uri, { preview: false, viewColumn: options.run || options.debug ? vscode.ViewColumn.Beside : undefined });
  if (options.debug) return { id, language, uri, debugStarted: await debugFile(services, uri) };
  if (options.run) return { id, language, uri, run: await startRun(services, uri) };
  return { id, language, uri };
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

async function pickExample(): Promise<ExampleId | undefined> {
  type Item = vscode.QuickPickItem & { id?: ExampleId };
  const items: Item[] = [];
  for (const kind of ['pattern', 'pitfall'] as const) {
    items.push({ label: kind === 'pattern' ? vscode.l10n.t('Patterns') : vscode.l10n.t('Pitfalls the hints recognise'), kind: vscode.QuickPickItemKind.Separator });
    for (const example of EXAMPLES.filter((e) => e.kind === kind)) {
      const words = exampleWords(example.id);
      items.push({ label: words.label, detail: words.detail, description: `${example.id}.py`, id: example.id });
    }
  }
  const picked = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Open an mptree example'), matchOnDetail: true, matchOnDescription: true });
  return picked?.id;
}

/**
 * The copy under globalStorage/examples/<language>/: never inside the user's workspace
 * (nothing appears in their project unasked), and a file on disk, which a terminal can run.
 * A copy the user edited is kept: a changed file is never overwritten (see copyNameFor).
 */
async function userCopy(services: Services, language: ExampleLanguage, id: ExampleId): Promise<vscode.Uri> {
  const shipped = vscode.Uri.file(examplePath(services.extension.extensionUri.fsPath, language, id));
  const original = Buffer.from(await vscode.workspace.fs.readFile(shipped)).toString('utf8');
  const dir = vscode.Uri.joinPath(services.extension.globalStorageUri, 'examples', language);
  await vscode.workspace.fs.createDirectory(dir);
  const name = await copyNameFor(id, original, async (candidate) => {
    try {
      return Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(dir, candidate))).toString('utf8');
    } catch {
      return undefined; // not there yet
    }
  });
  const copy = vscode.Uri.joinPath(dir, name);
  await vscode.workspace.fs.writeFile(copy, Buffer.from(original, 'utf8'));
  return copy;
}
