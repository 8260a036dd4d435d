// The extension in Simplified Chinese: with the workbench's display language zh-cn, VS Code
// loads l10n/bundle.l10n.zh-cn.json and the tree's descriptions and tooltips read 守护进程,
// 运行中… Runs only in a workbench started in that language (the harness does it in a launch of
// its own: MPTREE_TEST_LOCALE=zh-cn, see test/harness/runInCodeServer.mjs); skipped elsewhere.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import { cleanUp, dump, findShown, getApi, runFixture, waitForShown } from './helpers';

const chinese = vscode.env.language.toLowerCase().startsWith('zh');

describe('Simplified Chinese', function () {
  let api: MptreeApi;
  before(async function () {
    if (!chinese) return this.skip();
    api = await getApi();
    await vscode.commands.executeCommand('mptree.processes.focus');
  });
  afterEach(async () => api && cleanUp(api));

  it('VS Code loaded the zh-cn bundle for the extension', () => {
    assert.equal(vscode.env.language, 'zh-cn');
    assert.ok(vscode.l10n.bundle, 'no l10n bundle loaded');
    assert.equal(vscode.l10n.t('daemon'), '守护进程');
  });

  it('a daemon child reads 守护进程 · 运行中 in the tree, and its tooltip is in Chinese', async () => {
    const run = await runFixture(api, 'tree_family.py');
    const daemon = await waitForShown(api, run, 'daemon-sleeper', (d) => d.includes('运行中'));
    // Then what it costs while it runs, when the OS scan has measured it: `1.5 %`, `12 MB`.
    assert.match(daemon.description, /^PID \d+ · 守护进程 · 运行中( · [\d.]+ %)?( · \d+ [KMG]B)?$/, dump(api, run));
    const tooltip = daemon.item.tooltip;
    assert.ok(tooltip instanceof vscode.MarkdownString, 'the tooltip is Markdown');
    const text = tooltip.value;
    assert.match(text, /PID \d+，运行中/);
    assert.match(text, /\| 守护进程 \| 是 — 父进程退出时被杀死 \|/);
    assert.match(text, /\| 启动方式 \| `\w+` \|/);
    assert.doesNotMatch(text, /\b(Daemon|Start method|running)\b/, text);
    // The run's own line, the status bar's words come from the same bundle.
    const root = findShown(api, run, 'tree_family.py');
    assert.ok(root && /^运行中 · \d+ (秒|分) · \d+ 个进程/.test(root.description), root?.description);
  });
});
