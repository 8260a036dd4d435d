// The read-only documents of Show Python Stacks: one `mptree-stacks:` document per request,
// its text made by the core (stacksText), each frame's `file:line` a link that opens the
// editor at that line. A document's text is kept while it is open, and dropped with it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeState } from '../../core/renderTree';
import type { StacksReport } from '../../core/stacks';
import { stacksText, type FrameLink } from '../../core/stacksText';
import type { RunModel } from '../../core/model';

export const STACKS_SCHEME = 'mptree-stacks';

interface StacksDocument {
  text: string;
  links: FrameLink[];
}

export class StacksDocuments implements vscode.TextDocumentContentProvider, vscode.DocumentLinkProvider, vscode.Disposable {
  private readonly documents = new Map<string, StacksDocument>();
  private readonly disposables: vscode.Disposable[];
  private serial = 0;

  constructor() {
    this.disposables = [
      vscode.workspace.registerTextDocumentContentProvider(STACKS_SCHEME, this),
      vscode.languages.registerDocumentLinkProvider({ scheme: STACKS_SCHEME }, this),
      // A closed document's text is not needed again (a new request makes a new one).
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc.uri.scheme === STACKS_SCHEME) this.documents.delete(doc.uri.toString());
      }),
    ];
  }

  /** Opens a document for the report and returns its uri. */
  async open(report: StacksReport, model: RunModel, title: string): Promise<vscode.Uri> {
    const t = vscode.l10n.t;
    const describe = (p: { pid: number; state: 'running' | 'zombie' | 'exited' }) =>
      describeState(model.processByPid(p.pid) ?? { state: p.state, exitCode: null, signal: null }, t);
    const { text, links } = stacksText(report, { t, describe });
    const time = new Date(report.takenAt).toLocaleTimeString();
    // The path is the tab's title; the query keeps two requests of the same second apart.
    const uri = vscode.Uri.from({ scheme: STACKS_SCHEME, path: `/${title.replace(/[/\\]/g, '_')} ${time}.txt`, query: String(++this.serial) });
    this.documents.set(uri.toString(), { text: text + '\n', links });
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: false });
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.documents.get(uri.toString())?.text ?? '';
  }

  provideDocumentLinks(doc: vscode.TextDocument): vscode.DocumentLink[] {
    const entry = this.documents.get(doc.uri.toString());
    if (!entry) return [];
    return entry.links
      .filter((link) => path.isAbsolute(link.file))
      .map((link) => {
        const range = new vscode.Range(link.line, link.start, link.line, link.end);
        // The fragment is how VS Code's link opener takes a line: `#L12`.
        const target = vscode.Uri.file(link.file).with({ fragment: `L${link.lineNumber}` });
        const item = new vscode.DocumentLink(range, target);
        item.tooltip = vscode.l10n.t('Open {0} at line {1}', path.basename(link.file), link.lineNumber);
        return item;
      });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.documents.clear();
  }
}
