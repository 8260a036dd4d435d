// The timeline webview: one panel per run, fed from the run's history. Live runs post
// incremental updates, coalesced to at most 10 a second; the panel stays after the run ends
// (and for imported runs it is all there is). A click on a lane comes back as a message and
// the owner reveals the process in its tree.
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import type { HistoryEvent } from '../../core/history';
import type { PoolInfo, QueueInfo } from '../../core/types';
import { TimelineBuilder, type FromWebview, type TimelineRunInfo, type ToWebview } from './timelineData';
import { escapeHtml, timelineStrings } from './timelineStrings';

/** ≤ 10 updates a second reach the webview; changes in between are merged. */
const MIN_UPDATE_INTERVAL_MS = 100;

/**
 * What passed between the panel and its webview: an update posted, an update the webview
 * acknowledged, a frame it drew (how long it took, how many lanes). The benchmark reads the
 * frames through the extension's test API (src/vscode/testApi.ts), which counts these.
 */
export type TimelineTraffic = { type: 'posted' } | { type: 'acked' } | { type: 'drawn'; ms: number; lanes: number };

/** What a panel shows: a live run (with an event feed) or an imported one (events only). */
export interface TimelineSource {
  readonly id: string;
  runInfo(): TimelineRunInfo;
  /** Events so far, oldest first. */
  events(): readonly HistoryEvent[];
  queues(): readonly QueueInfo[];
  pools(): readonly PoolInfo[];
  /** New events as they are recorded; absent for an imported run. */
  readonly onEvents?: (listener: (events: readonly HistoryEvent[]) => void) => vscode.Disposable;
  /** The run ended or its RunInfo changed. */
  readonly onRunChange?: (listener: () => void) => vscode.Disposable;
  /** Hint text per process key. */
  hints(): ReadonlyMap<string, string>;
}

export class TimelinePanel implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  private readonly builder = new TimelineBuilder(vscode.l10n.t);
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;
  private readonly trafficEmitter = new vscode.EventEmitter<TimelineTraffic>();
  readonly onDidExchange = this.trafficEmitter.event;
  private seq = 0;
  private ready = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPost = 0;
  private disposed = false;

  constructor(
    private readonly source: TimelineSource,
    extensionUri: vscode.Uri,
    private readonly reveal: (key: string) => void,
  ) {
    const media = vscode.Uri.joinPath(extensionUri, 'media');
    this.panel = vscode.window.createWebviewPanel('mptree.timeline', vscode.l10n.t('Timeline: {0}', source.runInfo().title), vscode.ViewColumn.Active, {
      enableScripts: true,
      // Only our two files: nothing else can be loaded, even by a crafted process name.
      localResourceRoots: [media],
      retainContextWhenHidden: false,
    });
    this.panel.iconPath = vscode.Uri.joinPath(media, 'mptree.svg');
    this.panel.webview.html = html(this.panel.webview, media);
    this.builder.setMeta(source.queues(), source.pools());
    this.builder.setHints(source.hints());
    this.builder.consume(source.events());
    this.subscriptions.push(
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.webview.onDidReceiveMessage((m: FromWebview) => this.onMessage(m)),
      // A hidden webview is discarded (retainContextWhenHidden false, for memory): on showing
      // again it loads anew and asks for everything with 'ready'.
      this.panel.onDidChangeViewState(() => {
        if (!this.panel.visible) this.ready = false;
      }),
    );
    if (source.onEvents) {
      this.subscriptions.push(
        source.onEvents((events) => {
          this.builder.setMeta(source.queues(), source.pools());
          this.builder.consume(events);
          this.schedule();
        }),
      );
    }
    if (source.onRunChange) this.subscriptions.push(source.onRunChange(() => this.schedule(true)));
  }

  get runId(): string {
    return this.source.id;
  }

  /** Hints changed (the controller recomputed them). */
  refreshHints(): void {
    this.builder.setHints(this.source.hints());
    this.schedule();
  }

  private onMessage(m: FromWebview): void {
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        void this.post(this.builder.reset(++this.seq, this.source.runInfo(), Date.now()));
        return;
      case 'reveal':
        if (typeof m.key === 'string') this.reveal(m.key);
        return;
      case 'ack':
        if (typeof m.seq === 'number') this.trafficEmitter.fire({ type: 'acked' });
        return;
      case 'drawn':
        if (typeof m.ms === 'number' && typeof m.lanes === 'number') this.trafficEmitter.fire({ type: 'drawn', ms: m.ms, lanes: m.lanes });
        return;
    }
  }

  private schedule(force = false): void {
    if (this.disposed || this.timer) return;
    const wait = Math.max(0, MIN_UPDATE_INTERVAL_MS - (Date.now() - this.lastPost));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush(force);
    }, wait);
  }

  private flush(force: boolean): void {
    // Not ready: the webview will ask for a full reset; keep accumulating until then.
    if (this.disposed || !this.ready) return;
    const update = this.builder.update(++this.seq, this.source.runInfo(), Date.now());
    const message = update ?? (force ? this.builder.update(this.seq, this.source.runInfo(), Date.now()) ?? runOnly(this.seq, this.source.runInfo()) : null);
    if (!message) return;
    this.lastPost = Date.now();
    void this.post(message);
  }

  private async post(message: ToWebview): Promise<void> {
    try {
      if (await this.panel.webview.postMessage(message)) this.trafficEmitter.fire({ type: 'posted' });
    } catch {
      // Disposed meanwhile.
    }
  }

  show(): void {
    this.panel.reveal();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.panel.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
    this.trafficEmitter.dispose();
  }
}

function runOnly(seq: number, run: TimelineRunInfo): ToWebview {
  return { type: 'update', seq, run, lanes: [], order: null, series: [], usage: [], now: Date.now() };
}

function html(webview: vscode.Webview, media: vscode.Uri): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'timeline.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'timeline.css'));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${webview.cspSource}`,
  ].join('; ');
  const s = timelineStrings();
  // A data block, never run (the CSP allows only the nonce'd script); `<` escaped so no text
  // can close the element early.
  const strings = JSON.stringify(s).replace(/</g, '\\u003c');
  const e = escapeHtml;
  return `<!DOCTYPE html>
<html lang="${e(vscode.env.language)}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>${e(vscode.l10n.t('mptree timeline'))}</title>
<script type="application/json" id="mptree-strings">${strings}</script>
</head>
<body>
<header id="header"><span id="title"></span><span id="status"></span>
<span class="legend" role="note"><span><i class="sw running"></i>${e(s.legendRunning)}</span> <span><i class="sw zombie"></i>${e(s.legendZombie)}</span> <span><i class="sw exited"></i>${e(s.legendExited)}</span> <span><i class="sw failed"></i>${e(s.legendFailed)}</span> <span><i class="sw daemon"></i>${e(s.legendDaemon)}</span> <span><i class="sw worker"></i>${e(s.legendWorker)}</span> <span><i class="sw waiting"></i>${e(s.legendWaiting)}</span> <button id="lane-line" type="button"></button></span></header>
<div id="scroller"><div id="spacer"></div><div id="rows" role="listbox" aria-label="${e(s.gridLabel)}"></div></div>
<div id="announce" class="visually-hidden" role="status" aria-live="polite"></div>
<canvas id="canvas"></canvas>
<div id="tip" role="tooltip" hidden></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
