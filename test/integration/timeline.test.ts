// The timeline in a real extension host: the panel opens and receives live updates, stays
// after the run, and draws a live run of 1,000 processes (frame times for npm run bench).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import type { Run } from '../../src/vscode/runs';
import type { TimelinePanel } from '../../src/vscode/timeline/timelinePanel';
import { cleanUp, getApi, waitFor } from './helpers';

// Compiled to out/test/integration/: the sources' fixtures are three folders up.
const HINT_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'hints');

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('timeline', () => {
  let api: MptreeApi;
  before(async () => {
    api = await getApi();
    await vscode.commands.executeCommand('mptree.processes.focus');
  });
  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await cleanUp(api);
  });

  it('mptree.showTimeline opens a panel that receives live updates and stays after the run', async () => {
    // A program that runs until it is stopped: the webview may take seconds to load on a busy
    // machine, and a run that ended before its first update leaves no "after the end" to see.
    const runs = await vscode.commands.executeCommand<Run[]>('mptree.runFile', vscode.Uri.file(path.resolve(HINT_FIXTURES, '..', 'workspace', 'tree_spawn.py')));
    const run = runs![0];
    await waitFor('the run to start', () => run.info.rootPid !== null);
    const panel = await vscode.commands.executeCommand<TimelinePanel>('mptree.showTimeline', api.treeProvider.runNode(run));
    assert.ok(panel, 'the command returned no panel');
    assert.equal(api.timelines.of(run.runId), panel);
    // The webview loads, asks for everything ('ready') and acknowledges what it drew.
    await waitFor('the webview to acknowledge an update', () => api.timelineCounts.updatesAcked(run.runId) >= 1, 60_000);
    assert.ok(run.isLive, 'the run ended before the timeline drew it');
    const whileLive = api.timelineCounts.updatesPosted(run.runId);
    await vscode.commands.executeCommand('mptree.stopRun', api.treeProvider.runNode(run));
    await run.session.ended;
    await waitFor('updates after the first', () => api.timelineCounts.updatesPosted(run.runId) > whileLive, 30_000);
    assert.ok(api.timelineCounts.updatesPosted(run.runId) >= 2, `only ${api.timelineCounts.updatesPosted(run.runId)} updates`);
    // Kept after the end, with the whole run in it.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(api.timelines.of(run.runId), panel);
    // Showing it again reuses the panel.
    assert.equal(await vscode.commands.executeCommand('mptree.showTimeline', api.treeProvider.runNode(run)), panel);
    // A click on a lane asks the extension to reveal the process: the same path, called directly.
    const main = run.model.processByPid(run.info.rootPid!)!;
    assert.equal(await api.revealProcess(run.runId, main.key), true);
  });
  it('a click on a lane in the webview selects that process in the tree; Arrow Down then Enter the next lane', async function () {
    // The click is made by the harness in the webview's own DOM (test/harness/webviewActions.mjs):
    // only code-server's harness has the page. Desktop VS Code (test:electron) has no such hand.
    if (!process.env.MPTREE_TEST_LOG_TAG) this.skip();
    const runs = await vscode.commands.executeCommand<Run[]>('mptree.runFile', vscode.Uri.file(path.resolve(HINT_FIXTURES, '..', 'workspace', 'tree_spawn.py')));
    const run = runs![0];
    await waitFor('the run to start', () => run.info.rootPid !== null);
    await waitFor('a child', () => run.model.processes().some((p) => p.parentPid === run.info.rootPid && p.state === 'running'), 30_000);
    await vscode.commands.executeCommand<TimelinePanel>('mptree.showTimeline', api.treeProvider.runNode(run));
    await waitFor('the webview to acknowledge an update', () => api.timelineCounts.updatesAcked(run.runId) >= 1, 60_000);
    const selectedKey = () => {
      const node = api.treeView.selection[0];
      return node?.type === 'process' ? node.key : null;
    };
    const main = run.model.processByPid(run.info.rootPid!)!;
    const request = (body: object) => console.log(`@@mptree-webview@@ ${JSON.stringify(body)}`);
    // The main process's row, by its words: "<name>, pid <pid>" then "," or ".".
    request({ row: `^${escapeRegExp(main.name)}, pid ${main.pid}[,.]` });
    await waitFor('the tree to select the clicked lane\'s process', () => selectedKey() === main.key, 30_000);
    // The keyboard: the clicked row has the focus; Arrow Down moves to the next lane (the first
    // child, lanes are in tree order) and Enter does what a click does.
    request({ row: `^${escapeRegExp(main.name)}, pid ${main.pid}[,.]`, keys: ['ArrowDown', 'Enter'] });
    await waitFor('the tree to select the next lane\'s process', () => selectedKey() !== null && selectedKey() !== main.key, 30_000);
    const next = run.model.get(selectedKey()!)!;
    assert.equal(next.parentKey, main.key, `the lane after the main process is its child, not ${next.name}`);
  });

  it('draws a live timeline of 1,000 processes (frame times recorded for npm run bench)', async function () {
    // Starting 1,000 processes on a busy two-core CI machine takes longer than the suite's
    // 60 s default; the waits below carry their own limits and say what they waited for.
    this.timeout(180_000);
    const script = vscode.Uri.file(path.resolve(HINT_FIXTURES, '..', 'workspace', 'thousand.py'));
    const runs = await vscode.commands.executeCommand<Run[]>('mptree.runFile', script);
    const run = runs![0];
    await waitFor('the run to start', () => run.info.rootPid !== null);
    await vscode.commands.executeCommand<TimelinePanel>('mptree.showTimeline', api.treeProvider.runNode(run));
    // Every process gets a lane, and the webview keeps drawing while the run is live.
    await waitFor(
      '1,001 lanes drawn',
      () => api.timelineCounts.draws(run.runId).some((d) => d.lanes >= 1001),
      90_000,
      () => `model: ${run.model.processes().length} processes; draws: ${JSON.stringify(api.timelineCounts.draws(run.runId).slice(-3))}`,
    );
    // Counted by what they drew, not by the list's length: the panel keeps only the newest
    // 500 frames, which a slow machine fills before the last lane arrives.
    const fullFrames = () => api.timelineCounts.draws(run.runId).filter((d) => d.lanes >= 1001);
    await waitFor(
      'five frames of the full timeline',
      () => fullFrames().length >= 5,
      30_000,
      () => `${api.timelineCounts.draws(run.runId).length} frames kept; newest: ${JSON.stringify(api.timelineCounts.draws(run.runId).slice(-3))}`,
    );
    const frames = fullFrames().map((d) => d.ms).sort((a, b) => a - b);
    assert.ok(frames.length >= 5, `only ${frames.length} frames of the full timeline`);
    // A figure for the benchmark, not an assertion: timing depends on the machine.
    const at = (q: number) => frames[Math.min(frames.length - 1, Math.floor(q * frames.length))];
    const record = { lanes: 1001, frames: frames.length, p50Ms: at(0.5), p95Ms: at(0.95), maxMs: frames[frames.length - 1], host: `VS Code ${vscode.version}` };
    fs.writeFileSync(path.resolve(HINT_FIXTURES, '..', '..', '..', 'out', 'timeline-draw.json'), JSON.stringify(record, null, 2) + '\n');
    await vscode.commands.executeCommand('mptree.stopRun', api.treeProvider.runNode(run));
  });
});
