// What each process costs, as the Process Tree shows it: live CPU % and memory from the OS
// scan while a real program runs, the measured totals once each process ended, the run's
// totals on its node and in the status bar (test/fixtures/workspace/costs_live.py).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import { cleanUp, dump, getApi, runFixture, shownTree, isRun, waitFor, waitForShown } from './helpers';

const MB = String.raw`(\d+) MB`;
const live = new RegExp(String.raw`running · (\d+(?:\.\d)?) % · ${MB}$`);

describe('process costs in the tree', () => {
  let api: MptreeApi;
  before(async () => {
    api = await getApi();
    await vscode.commands.executeCommand('mptree.processes.focus');
  });
  afterEach(async () => cleanUp(api));

  it('shows live CPU and memory per process and for the run, then what each process used in all', async function () {
    // 4 s of CPU for the burner is much more wall time on a loaded machine.
    this.timeout(240_000);
    const run = await runFixture(api, 'costs_live.py');
    // A burner gets less than a core on a loaded machine, but clearly more than a sleeper.
    const burner = await waitForShown(api, run, 'burner', (d) => Number(live.exec(d)?.[1]) >= 10, 60_000);
    const holder = await waitForShown(api, run, 'holder', (d) => Number(live.exec(d)?.[2]) >= 300, 60_000);
    const sleeper = await waitForShown(api, run, 'sleeper', (d) => live.test(d), 30_000);
    assert.ok(Number(live.exec(sleeper.description)![1]) < 5, `sleeper: ${sleeper.description}`);
    assert.ok(Number(live.exec(sleeper.description)![2]) < 100, `sleeper: ${sleeper.description}`);
    const tip = burner.item.tooltip as vscode.MarkdownString;
    assert.match(tip.value, /CPU \(% of one core\)/);
    assert.match((holder.item.tooltip as vscode.MarkdownString).value, /Memory \(resident\) \| \d+ MB/);
    // The run's node and the status bar add up the running processes.
    const runShown = shownTree(api, run).find((s) => isRun(s.node))!;
    assert.match(runShown.description, /· \d+(\.\d)? % · \d+(\.\d)? [MG]B$/, runShown.description);
    assert.match(String(api.statusBar.text), /processes · \d+(\.\d)? % · \d+(\.\d)? [MG]B$/);

    await waitFor('the run to end', () => !run.isLive, 120_000, () => dump(api, run));
    const ended = (label: string) => shownTree(api, run).find((s) => s.label === label)?.description ?? '';
    const burnerCpu = Number(/exit 0 · (\d+\.\d) s CPU · \d+ MB peak$/.exec(ended('burner'))?.[1]);
    assert.ok(burnerCpu >= 4 * 0.85 && burnerCpu <= 4 * 1.15, `burner: ${ended('burner')}\n${dump(api, run)}`);
    assert.ok(Number(/exit 0 · \d+\.\d s CPU · (\d+) MB peak$/.exec(ended('holder'))?.[1]) >= 300, ended('holder'));
    assert.ok(Number(/exit 0 · (\d+\.\d) s CPU/.exec(ended('sleeper'))?.[1]) < 0.3, ended('sleeper'));
    assert.match(shownTree(api, run).find((s) => isRun(s.node))!.description, /· \d+\.\d s CPU$/);
    await waitFor('the status bar item to hide with no run live', () => api.statusBar.text === undefined, 10_000);
  });
});
