// What the Process Tree view shows for a real run, read from the provider VS Code itself
// calls: run node, nesting, daemon flags, queue depth, pool grouping, exit codes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import {
  cleanUp,
  dump,
  familyReady,
  findShown,
  getApi,
  processNodeOf,
  setting,
  isPool,
  isProcess,
  isQueue,
  isRun,
  runFixture,
  shownTree,
  waitFor,
  waitForShown,
  withoutUsage,
} from './helpers';

describe('process tree view', () => {
  let api: MptreeApi;
  before(async () => {
    api = await getApi();
    await vscode.commands.executeCommand('mptree.processes.focus');
  });
  afterEach(async () => cleanUp(api));

  it('shows a root node per run with the script name, state and process count', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const [root] = shownTree(api, run);
    assert.ok(isRun(root.node));
    assert.equal(root.label, 'tree_family.py');
    assert.match(root.description, /^running · \d+ (s|min) · \d+ processes/);
    assert.equal(root.item.contextValue, 'run.running');
    // MainProcess, 5 children, 2 pool workers at least (plus whatever the OS scan adds).
    const count = Number(/(\d+) processes/.exec(root.description)![1]);
    assert.ok(count >= 8, `counted ${count} processes:\n${dump(api, run)}`);
  });

  it('nests children under their parent with names, pids and daemon flags', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const tree = shownTree(api, run);
    const main = tree.find((s) => s.depth === 1);
    assert.ok(main && isProcess(main.node), dump(api, run));
    assert.equal(main.node.info?.pid, run.info.rootPid, 'the first process is the program itself');
    assert.match(String(main.item.contextValue), /^process\.running\.instrumented\.main/);
    for (const name of ['daemon-sleeper', 'sleeper', 'stubborn', 'victim']) {
      const child = findShown(api, run, name, 'process')!;
      assert.equal(api.treeProvider.getParent(child.node), main.node, `${name} is not under MainProcess`);
      assert.equal(child.depth, 2);
      const info = processNodeOf(child).info!;
      assert.ok(child.description.startsWith(`pid ${info.pid} · `), child.description);
    }
    assert.match(findShown(api, run, 'daemon-sleeper')!.description, /· daemon ·/);
    assert.doesNotMatch(findShown(api, run, 'sleeper')!.description, /daemon/);
    assert.match(String(findShown(api, run, 'daemon-sleeper')!.item.contextValue), /\.daemon$/);
    // The tooltip carries every fact: parent, OS ppid, start method, target, command line.
    // (The child's own hello, with its ppid and command line, may come after the parent's news.)
    const mainPid = run.info.rootPid;
    const sleeper = await waitForShown(api, run, 'sleeper', (_, s) => {
      // The parent reports the ppid at start; the command line comes with the child's own hello.
      const value = (s.item.tooltip as vscode.MarkdownString).value;
      return value.includes(`ppid) | ${mainPid}`) && value.includes('```shell\n');
    }, 30_000);
    const tip = (sleeper.item.tooltip as vscode.MarkdownString).value;
    assert.match(tip, new RegExp(`Parent \\(logical\\) \\| MainProcess \\(${mainPid}\\)`), tip);
    assert.match(tip, new RegExp(`OS parent \\(ppid\\) \\| ${mainPid}`), tip);
    assert.match(tip, /Start method \| `fork`/, tip);
    assert.match(tip, /Target \| `sleep_forever`/, tip);
    const command = processNodeOf(sleeper).info!.command;
    assert.ok(command && tip.includes('```shell\n' + command), `no command line in the tooltip:\n${tip}`);
  });

  it('shows queue depth against maxsize and a JoinableQueue\'s unfinished tasks', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const queue = await waitForShown(api, run, 'Queue', (d) => d.startsWith('3 / 10'));
    assert.ok(isQueue(queue.node));
    assert.match(queue.description, /^3 \/ 10 · 3 put · 0 got/);
    const joinable = await waitForShown(api, run, 'JoinableQueue', (d) => d.includes('2 unfinished'));
    assert.match(joinable.description, /^2 \/ ∞/);
    // Under the process that created them.
    const owner = api.treeProvider.getParent(queue.node);
    assert.ok(isProcess(owner) && owner.info?.pid === run.info.rootPid, `queue listed under ${owner?.type} ${isProcess(owner) ? `${owner.key} ${JSON.stringify(owner.info)}` : ''}; root ${run.info.rootPid}; processes ${run.model.processes().map((p) => p.key).join(' ')}\n${dump(api, run)}`);
  });

  it('groups pool workers under a pool node with size and pending tasks', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    // Counters are flushed in batches (~50 ms): the pool node can be shown before its first counts.
    const pool = await waitFor(
      'the pool to report pending tasks',
      () => shownTree(api, run).find((s) => isPool(s.node) && /[1-9]\d* pending/.test(s.description)),
      30_000,
      () => dump(api, run),
    );
    assert.equal(pool.label, 'Pool');
    assert.match(pool.description, /^2 workers · 2 alive · \d+ pending/);
    const pending = Number(/(\d+) pending/.exec(pool.description)![1]);
    assert.ok(pending > 0, `no pending tasks: ${pool.description}`);
    const workers = api.treeProvider.getChildren(pool.node);
    assert.equal(workers.length, 2);
    for (const worker of workers) {
      assert.ok(isProcess(worker));
      assert.equal(worker.info?.kind, 'pool-worker');
      assert.equal(api.treeProvider.getParent(worker), pool.node, 'a worker\'s parent is its pool node');
    }
    // Not listed twice: the workers are not also direct children of MainProcess.
    const main = api.treeProvider.getParent(pool.node)!;
    assert.ok(!api.treeProvider.getChildren(main).some((n) => workers.includes(n)));
  });

  it('shows every row of the README\'s tree table as it is written there', async () => {
    // The table is read from the README itself, so the two cannot drift apart unnoticed. A
    // row is `label` `description` (one node), or `a`, `b`, … (each the state some node
    // ends with). Numbers stand for any number; the words and their order must be the same.
    const readme = fs.readFileSync(path.join(vscode.extensions.getExtension('mptree.mptree')!.extensionPath, 'README.md'), 'utf8');
    const table = readme.split('| in the tree | meaning |')[1].split('\n\n')[0].split('\n').filter((l) => l.startsWith('| `'));
    assert.ok(table.length >= 5, `the README's tree table: ${table}`);
    const pattern = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\d+/g, '\\d+');
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    await waitForShown(api, run, 'quitter', (d) => d.includes('zombie'));
    const zombieShown = dump(api, run);
    // The ends the exit row names: a joined exit code, a terminate, a kill.
    const node = (name: string) => processNodeOf(findShown(api, run, name)!);
    await vscode.commands.executeCommand('mptree.join', node('quitter'));
    await vscode.commands.executeCommand('mptree.terminate', node('victim'));
    await vscode.commands.executeCommand('mptree.kill', node('sleeper'));
    // Each stays a zombie until its parent joins it: join them, as the exit row's words are
    // those of a collected process.
    await waitForShown(api, run, 'victim', (d) => withoutUsage(d).endsWith('(SIGTERM)'));
    await waitForShown(api, run, 'sleeper', (d) => withoutUsage(d).endsWith('(SIGKILL)'));
    await vscode.commands.executeCommand('mptree.join', node('victim'), [node('victim'), node('sleeper')]);
    await waitForShown(api, run, 'victim', (d) => withoutUsage(d).endsWith(' · SIGTERM'));
    await waitForShown(api, run, 'sleeper', (d) => withoutUsage(d).endsWith(' · SIGKILL'));
    await waitForShown(api, run, 'quitter', (d) => withoutUsage(d).endsWith('exit 3') && !d.includes('zombie'));
    // The pool's busy and idle counts come with its workers' first tasks past 0.2 s.
    await waitForShown(api, run, 'Pool', (d) => /\d+ busy · \d+ idle/.test(d));
    const ended = dump(api, run);
    for (const row of table) {
      const cell = row.split(' | ')[0].slice(2);
      const spans = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      const lines = withoutUsage(spans[0] === 'zombie — not joined (exit 3)' ? zombieShown : ended).split('\n');
      if (/^`[^`]+` `[^`]+`$/.test(cell)) {
        // A label (after the indentation) and the start of its description.
        const re = new RegExp(`^\\s*${pattern(spans[0])} — ${pattern(spans[1])}( · .*)? \\[`);
        assert.ok(lines.some((l) => re.test(l)), `README row ${cell} not in the tree:\n${ended}`);
      } else {
        for (const span of spans) {
          const re = new RegExp(` — (.* · )?${pattern(span)} \\[`);
          assert.ok(lines.some((l) => re.test(l)), `README row ${cell}: ${span} not in the tree:\n${lines.join('\n')}`);
        }
      }
    }
  });

  it('marks a child that exited without being joined as a zombie, with its exit code', async () => {
    const run = await runFixture(api, 'tree_family.py');
    const quitter = await waitForShown(api, run, 'quitter', (d) => d.includes('zombie'));
    assert.match(withoutUsage(quitter.description), /zombie — not joined \(exit 3\)$/);
    assert.match(String(quitter.item.contextValue), /^process\.zombie\.instrumented/);
  });

  it('keeps element objects and ids stable across updates, and getParent leads to the run', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const before = shownTree(api, run);
    // Let a few updates through (pool counts change constantly while tasks run).
    await new Promise<void>((resolve) => {
      let n = 0;
      const sub = api.treeProvider.onDidRefresh(() => {
        if (++n >= 3) {
          sub.dispose();
          resolve();
        }
      });
    });
    const after = shownTree(api, run);
    for (const old of before) {
      const same = after.find((s) => s.item.id === old.item.id);
      // Nothing of this family ends by itself while the pool works (600 tasks of 0.5 s, no
      // maxtasksperchild): every node must still be there, as the same object.
      assert.ok(same, `${old.label} (${old.item.id}) vanished from the tree\n${dump(api, run)}`);
      assert.equal(same.node, old.node, `a new element object for ${old.item.id}`);
    }
    const ids = after.map((s) => s.item.id);
    assert.equal(new Set(ids).size, ids.length, 'duplicate tree item ids');
    // Every node's getParent chain ends at this run's node.
    const root = after[0].node;
    for (const s of after.slice(1)) {
      let node = s.node;
      for (let i = 0; i < 10 && node !== root; i++) node = api.treeProvider.getParent(node)!;
      assert.equal(node, root, `getParent chain of ${s.label} does not reach the run`);
    }
    // VS Code's own reveal walks getParent; it must find a deep node.
    const worker = after.find((s) => isProcess(s.node) && s.node.info?.kind === 'pool-worker')!;
    // The selection comes back from the workbench as an event, a moment after reveal resolves;
    // a refresh that lands in between (the pool's counts change all the time) can drop it on a
    // loaded machine, so reveal again until it holds (a broken getParent never selects it).
    await waitFor('reveal to select the pool worker', async () => {
      await api.treeView.reveal(worker.node, { select: true, focus: false });
      for (let i = 0; i < 20 && !api.treeView.selection.includes(worker.node); i++) await new Promise((r) => setTimeout(r, 100));
      return api.treeView.selection.includes(worker.node);
    }, 30_000);
  });

  it('shows a finished run with exit 0 and its exited children dimmed, and Clear Exited removes them', async () => {
    const run = await runFixture(api, 'hello_mp.py');
    await waitFor('hello_mp.py to finish', () => !run.isLive, 60_000, () => dump(api, run));
    const root = await waitForShown(api, run, 'hello_mp.py', (d) => d.startsWith('exit 0'));
    assert.equal(root.item.contextValue, 'run.finished');
    const squarer = await waitForShown(api, run, 'squarer', (d) => withoutUsage(d).endsWith('exit 0'));
    assert.match(String(squarer.item.contextValue), /^process\.exited\./);
    const icon = squarer.item.iconPath as vscode.ThemeIcon;
    // ThemeColor.id is public since VS Code 1.92; the 1.90 typings lack it.
    assert.equal((icon.color as unknown as { id?: string } | undefined)?.id, 'disabledForeground');
    await vscode.commands.executeCommand('mptree.clearExited');
    assert.ok(!api.runs.runs.includes(run), 'a finished run with nothing left should disappear');
    assert.ok(!api.treeProvider.getChildren().some((n) => isRun(n) && n.run === run));
  });

  it('marks multiprocessing\'s helper processes, and hides them when showHelperProcesses is off', async () => {
    const run = await runFixture(api, 'tree_spawn.py');
    const helper = await waitForShown(api, run, 'resource_tracker', (d) => d.includes('helper: resource tracker'));
    assert.match(String(helper.item.contextValue), /\.helper/);
    assert.equal((helper.item.iconPath as vscode.ThemeIcon).id, 'gear');
    await waitForShown(api, run, 'spawned-napper', (d) => withoutUsage(d).endsWith('running'));
    await setting('showHelperProcesses', false);
    await waitFor('the helper to be hidden', () => !findShown(api, run, 'resource_tracker'), 10_000, () => dump(api, run));
    assert.ok(findShown(api, run, 'spawned-napper'), 'hiding helpers hid a normal process');
    await setting('showHelperProcesses', true);
    await waitForShown(api, run, 'resource_tracker');
  });

  it('hides exited processes when keepExitedProcesses is off, once they are joined', async () => {
    await setting('keepExitedProcesses', false);
    const run = await runFixture(api, 'tree_family.py');
    // A zombie has not been collected: it stays visible, it is what the user must fix.
    const quitter = processNodeOf(await waitForShown(api, run, 'quitter', (d) => d.includes('zombie')));
    await vscode.commands.executeCommand('mptree.join', quitter);
    await waitFor('the joined quitter to be hidden', () => !findShown(api, run, 'quitter'), 10_000, () => dump(api, run));
    assert.equal(quitter.info?.state, 'exited', 'hidden but not exited');
    assert.ok(findShown(api, run, 'sleeper'), 'a running process was hidden');
  });

  it('coalesces updates to at most ~10 refreshes a second, each naming the changed elements', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    // The pool finishes a task every ~250 ms per worker and the runtime reports counts every
    // 50 ms: without coalescing, the view would be told far more often than this.
    const events: Array<unknown> = [];
    const root = shownTree(api, run)[0].node;
    const rootTexts: string[] = [];
    const sub = api.treeProvider.onDidChangeTreeData((e) => {
      events.push(e);
      if (Array.isArray(e) && e.includes(root)) {
        const item = api.treeProvider.getTreeItem(root);
        rootTexts.push(`${String(item.label)} ${String(item.description)}`);
      }
    });
    await new Promise((r) => setTimeout(r, 3000));
    sub.dispose();
    assert.ok(events.length >= 3, `only ${events.length} refreshes in 3 s of a busy pool`);
    assert.ok(events.length <= 33, `${events.length} refreshes in 3 s`);
    // Per element: no whole-tree refresh while nothing was added or removed at the top.
    assert.ok(events.every((e) => Array.isArray(e) && e.length > 0), 'a whole-tree refresh for a count change');
    const pool = shownTree(api, run).find((s) => isPool(s.node))!.node;
    assert.ok(events.some((e) => (e as unknown[]).includes(pool)), 'the pool node was never refreshed by itself');
    // Refreshing the run node repaints its whole expanded subtree, so it is refreshed only when
    // its own text changed (the duration ticks once a second; process counts change as
    // processes come and go), never for a counter deeper down.
    for (let i = 1; i < rootTexts.length; i++) {
      assert.notEqual(rootTexts[i], rootTexts[i - 1], `the run node was refreshed without a change: ${rootTexts.join(' | ')}`);
    }
    assert.ok(rootTexts.length < events.length, `every refresh included the run node: ${rootTexts.join(' | ')}`);
  });

  it('shows several runs at once, each as its own root', async () => {
    const first = await runFixture(api, 'tree_family.py');
    const second = await runFixture(api, 'tree_family.py');
    await familyReady(api, first);
    await familyReady(api, second);
    const roots = api.treeProvider.getChildren().filter((n) => isRun(n));
    assert.ok(roots.some((n) => n.run === first) && roots.some((n) => n.run === second));
    assert.notEqual(first.info.rootPid, second.info.rootPid);
    const firstIds = new Set(shownTree(api, first).map((s) => s.item.id));
    assert.ok(shownTree(api, second).every((s) => !firstIds.has(s.item.id)), 'two runs share a tree item id');
  });

  it('shows the live process count in the status bar while a run is live', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    // Counts as processes come: wait for the whole family (MainProcess, 6 children, 2 workers).
    const text = await waitFor('the status bar item to count the family', () => {
      const t = api.statusBar.text;
      return t && Number(/(\d+) processes/.exec(t)?.[1]) >= 8 ? t : undefined;
    }, 10_000, () => String(api.statusBar.text));
    assert.match(text, /^\$\(server-process\) \d+ processes( · [\d.]+ % · [\d.]+ [KMG]B)?$/);
    await vscode.commands.executeCommand('mptree.stopRun', api.treeProvider.runNode(run));
    await waitFor('the status bar item to hide', () => api.statusBar.text === undefined, 10_000);
  });
});
