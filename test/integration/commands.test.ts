// The process commands, invoked as the tree's context menu invokes them (node, selection),
// checked against what the tree shows afterwards and what the OS says.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import type { JoinOutcome } from '../../src/vscode/commands/joinProcess';
import type { SignalCommandResult } from '../../src/vscode/commands/terminateProcess';
import type { StopResult } from '../../src/core/session';
import {
  cleanUp,
  dump,
  familyReady,
  findShown,
  getApi,
  isAlive,
  processNodeOf,
  runFixture,
  setting,
  waitFor,
  waitForShown,
  withoutUsage,
} from './helpers';

describe('process commands', () => {
  let api: MptreeApi;
  before(async () => {
    api = await getApi();
  });
  afterEach(async () => cleanUp(api));

  it('Terminate sends SIGTERM and the tree shows it', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const victim = processNodeOf(findShown(api, run, 'victim')!);
    const pid = victim.info!.pid;
    const result = await vscode.commands.executeCommand<SignalCommandResult>('mptree.terminate', victim);
    assert.deepEqual(result?.signalled, [pid]);
    assert.deepEqual(result?.stillRunning, []);
    const shown = await waitForShown(api, run, 'victim', (d) => /SIGTERM/.test(d));
    assert.equal(victim.info!.exitCode, -15);
    assert.match(shown.description, new RegExp(`^pid ${pid} · .*SIGTERM`));
    // The others are untouched.
    assert.match(withoutUsage(findShown(api, run, 'sleeper')!.description), /running$/);
  });

  it('Kill sends SIGKILL', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const sleeper = processNodeOf(findShown(api, run, 'sleeper')!);
    await vscode.commands.executeCommand('mptree.kill', sleeper);
    await waitForShown(api, run, 'sleeper', (d) => /SIGKILL/.test(d));
    assert.equal(sleeper.info!.exitCode, -9);
  });

  it('Terminate reports a process that ignores SIGTERM as still running, and Kill ends it', async () => {
    await setting('terminateGraceSeconds', 1);
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const stubborn = processNodeOf(findShown(api, run, 'stubborn')!);
    const started = Date.now();
    const result = await vscode.commands.executeCommand<SignalCommandResult>('mptree.terminate', stubborn);
    assert.deepEqual(result?.stillRunning, [stubborn.info!.pid], 'the SIGTERM-ignoring process was not reported');
    assert.deepEqual(result?.killed, [], 'killed without asking (the default asks)');
    assert.ok(Date.now() - started >= 900, 'did not wait the grace period');
    assert.equal(stubborn.info!.state, 'running');
    await vscode.commands.executeCommand('mptree.kill', stubborn);
    await waitForShown(api, run, 'stubborn', (d) => /SIGKILL/.test(d));
  });

  it('Terminate offers a kill for a process still running after the grace; pressing Kill ends it', async () => {
    await setting('terminateGraceSeconds', 1);
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const stubborn = processNodeOf(findShown(api, run, 'stubborn')!);
    // Only our notification on screen, so the workbench's "accept the primary action" of the
    // first one is a press of our button.
    await vscode.commands.executeCommand('notifications.clearAll');
    const result = await vscode.commands.executeCommand<SignalCommandResult>('mptree.terminate', stubborn);
    assert.deepEqual([result?.stillRunning, result?.killed], [[stubborn.info!.pid], []]);
    assert.equal(stubborn.info!.state, 'running', 'not killed before the button is pressed');
    // The notification reaches the workbench a moment later, with no event the extension
    // sees: press its primary button (Kill) until the process dies of it.
    const deadline = Date.now() + 30_000;
    while (stubborn.info!.state === 'running' && Date.now() < deadline) {
      await vscode.commands.executeCommand('notification.acceptPrimaryAction');
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitForShown(api, run, 'stubborn', (d) => /SIGKILL/.test(d));
    assert.equal(stubborn.info!.exitCode, -9);
  });

  it('Terminate kills a process that ignores SIGTERM after the grace period when set to, and says so', async () => {
    await setting('terminateGraceSeconds', 1);
    await setting('afterTerminateGrace', 'kill');
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const stubborn = processNodeOf(findShown(api, run, 'stubborn')!);
    const pid = stubborn.info!.pid;
    const result = await vscode.commands.executeCommand<SignalCommandResult>('mptree.terminate', stubborn);
    assert.deepEqual([result?.stillRunning, result?.killed], [[pid], [pid]]);
    await waitForShown(api, run, 'stubborn', (d) => /SIGKILL/.test(d));
    assert.equal(stubborn.info!.exitCode, -9);
  });

  it('acts on the whole multi-selection when the clicked node is part of it', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const a = processNodeOf(findShown(api, run, 'victim')!);
    const b = processNodeOf(findShown(api, run, 'sleeper')!);
    const result = await vscode.commands.executeCommand<SignalCommandResult>('mptree.terminate', a, [a, b]);
    assert.deepEqual([...(result?.signalled ?? [])].sort(), [a.info!.pid, b.info!.pid].sort());
    await waitForShown(api, run, 'victim', (d) => /SIGTERM/.test(d));
    await waitForShown(api, run, 'sleeper', (d) => /SIGTERM/.test(d));
  });

  it('Join reaps a zombie and reports its exit code', async () => {
    const run = await runFixture(api, 'tree_family.py');
    const quitter = processNodeOf(await waitForShown(api, run, 'quitter', (d) => d.includes('zombie')));
    const outcomes = await vscode.commands.executeCommand<JoinOutcome[]>('mptree.join', quitter);
    assert.deepEqual(outcomes, [{ pid: quitter.info!.pid, exitCode: 3 }]);
    const shown = await waitForShown(api, run, 'quitter', (d) => withoutUsage(d).endsWith('exit 3') && !d.includes('zombie'));
    assert.match(String(shown.item.contextValue), /^process\.exited\./);
    assert.equal(quitter.info!.joined, true);
  });

  it('Join of a running process reports "still running" after mptree.joinTimeoutSeconds', async () => {
    await setting('joinTimeoutSeconds', 1);
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const sleeper = processNodeOf(findShown(api, run, 'sleeper')!);
    const started = Date.now();
    const outcomes = await vscode.commands.executeCommand<JoinOutcome[]>('mptree.join', sleeper);
    assert.deepEqual(outcomes, [{ pid: sleeper.info!.pid, timedOut: true, seconds: 1 }]);
    assert.ok(Date.now() - started >= 900, 'the join returned before its timeout');
    assert.equal(sleeper.info!.state, 'running');
  });

  it('Join after Terminate reports the signal exit code', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const victim = processNodeOf(findShown(api, run, 'victim')!);
    await vscode.commands.executeCommand('mptree.terminate', victim);
    const outcomes = await vscode.commands.executeCommand<JoinOutcome[]>('mptree.join', victim);
    assert.equal(outcomes?.length, 1);
    assert.equal((outcomes![0] as { exitCode: number }).exitCode, -15);
  });

  it('Terminate Tree ends a process and everything below it, and nothing else', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const parent = processNodeOf(findShown(api, run, 'nest-parent')!);
    const child = processNodeOf(await waitForShown(api, run, 'nest-child', (d) => withoutUsage(d).endsWith('running')));
    assert.equal(api.treeProvider.getParent(child), parent, 'nest-child is not shown under nest-parent');
    const result = await vscode.commands.executeCommand<SignalCommandResult>('mptree.terminateTree', parent);
    assert.deepEqual([...(result?.signalled ?? [])].sort(), [parent.info!.pid, child.info!.pid].sort());
    // The child's exit code may be lost with its parent (which reports it); that it ended is not.
    // (By state, not by the row's words: a live nest-parent reads `waiting: Process.join …`.)
    await waitFor('nest-child ended', () => child.info!.state !== 'running', 30_000, () => dump(api, run));
    // The parent may get its SIGTERM, or exit 0 first as its join() of the child returns.
    await waitFor('nest-parent ended', () => parent.info!.state !== 'running', 30_000, () => dump(api, run));
    assert.match(withoutUsage(findShown(api, run, 'sleeper')!.description), /running$/, 'a process outside the tree was touched');
  });

  it('Stop Run ends every process of the run, as the OS confirms', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const pids = run.model.processes().filter((p) => p.state === 'running').map((p) => p.pid);
    assert.ok(pids.length >= 8, `only ${pids.length} live processes known:\n${dump(api, run)}`);
    const results = await vscode.commands.executeCommand<StopResult[]>('mptree.stopRun', api.treeProvider.runNode(run));
    assert.equal(results?.length, 1);
    assert.deepEqual(results![0].remaining, []);
    // (stubborn ignores SIGTERM, yet may die of the SIGHUP the terminal sends its process group
    // when the root goes; either way, nothing may remain.)
    // Zombies are reaped by init once their parent dies; give that a moment.
    await waitFor('every pid of the run to be gone', () => pids.every((pid) => !isAlive(pid)), 10_000, () => pids.filter(isAlive).join(', '));
    await waitFor('the run to end', () => !run.isLive, 10_000);
    const root = await waitForShown(api, run, 'tree_family.py', (d) => !d.startsWith('running'));
    assert.equal(root.item.contextValue, 'run.finished');
  });

  it('from the palette (no node), asks with a quick pick of the processes it applies to', async () => {
    await setting('joinTimeoutSeconds', 1);
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const pending = vscode.commands.executeCommand<JoinOutcome[]>('mptree.join');
    // Accept whatever the pick offers first: it must be a joinable process (not the main one).
    // The pick opens in the workbench a moment later, with no event the extension sees: press
    // Enter until the command returns (Enter with no quick pick open does nothing).
    let settled = false;
    void pending.then(() => (settled = true), () => (settled = true));
    const deadline = Date.now() + 30_000;
    while (!settled && Date.now() < deadline) {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      await new Promise((r) => setTimeout(r, 100));
    }
    const outcomes = await pending;
    assert.equal(outcomes?.length, 1, `join from the palette returned ${JSON.stringify(outcomes)}`);
    const picked = run.model.processByPid(outcomes![0].pid);
    assert.ok(picked && picked.kind !== 'main' && picked.instrumented, `picked ${JSON.stringify(picked)}`);
  });

  it('mptree.whenViewerGone reaches the program: stop by default, keep when set', async () => {
    for (const value of [undefined, 'keep'] as const) {
      await setting('whenViewerGone', value);
      const run = await runFixture(api, 'tree_family.py');
      // What the program itself was started with (the runtime reads it when the window goes).
      const environ = fs.readFileSync(`/proc/${run.info.rootPid}/environ`, 'latin1').split('\0');
      assert.ok(environ.includes(`MPTREE_WHEN_VIEWER_GONE=${value ?? 'stop'}`), environ.filter((e) => e.startsWith('MPTREE_')).join(' '));
      await run.stop(500);
    }
  });

  it('Copy PID puts the pid on the clipboard', async () => {
    const run = await runFixture(api, 'tree_family.py');
    await familyReady(api, run);
    const victim = processNodeOf(findShown(api, run, 'victim')!);
    const text = await vscode.commands.executeCommand<string>('mptree.copyPid', victim);
    assert.equal(text, String(victim.info!.pid));
    assert.equal(await vscode.env.clipboard.readText(), text);
  });

  it('a bad mptree.pythonPath stops the run before it starts, with no run left behind', async () => {
    await setting('pythonPath', '/nonexistent/python3');
    const before = api.runs.runs.length;
    const runs = await vscode.commands.executeCommand<unknown[]>('mptree.runFile', vscode.Uri.file(`${__dirname}/../../../test/fixtures/workspace/hello_mp.py`));
    assert.deepEqual(runs, []);
    assert.equal(api.runs.runs.length, before);
  });

  it('mptree.pythonPath may start with ${workspaceFolder} or ~: the run uses that interpreter', async () => {
    // Links to the real interpreter under names only these settings can reach.
    const real = fs.realpathSync(execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim());
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const name = `.mptree-test-python-${process.pid}`;
    const links = [path.join(folder, name), path.join(os.homedir(), name)];
    for (const link of links) fs.symlinkSync(real, link);
    try {
      for (const [value, expanded] of [[`\${workspaceFolder}/${name}`, links[0]], [`~/${name}`, links[1]]]) {
        await setting('pythonPath', value);
        const run = await runFixture(api, 'hello_mp.py');
        await waitFor('hello_mp.py to finish', () => !run.isLive, 60_000);
        assert.equal(run.info.python, expanded, `${value} ran ${run.info.python}`);
        assert.equal(run.info.exitCode, 0);
      }
    } finally {
      for (const link of links) fs.rmSync(link, { force: true });
    }
  });

  it('mptree.osScanIntervalMs: a process only the OS knows is found at that pace', async () => {
    for (const interval of [200, 60_000]) {
      await setting('osScanIntervalMs', interval);
      const run = await runFixture(api, 'os_child.py');
      const main = await waitFor('the main process', () => run.model.processes().find((p) => p.kind === 'main'), 30_000);
      // The fixture says when its `sleep` runs (the runtime never hears of it).
      const truthFile = path.join(os.tmpdir(), `mptree-os-child-${main.pid}.json`);
      const { sleep } = await waitFor('the sleep to start', () => fs.existsSync(truthFile) && (JSON.parse(fs.readFileSync(truthFile, 'utf8')) as { sleep: number }), 30_000);
      fs.rmSync(truthFile, { force: true });
      try {
        if (interval === 200) {
          await waitFor('the OS scan to find the sleep', () => run.model.processByPid(sleep), 5_000, () => dump(api, run));
          assert.equal(run.model.processByPid(sleep)!.kind, 'os');
        } else {
          // Scanned at the start and next in a minute: in the 3 s after the sleep began, while
          // it still runs, no scan finds it. (At 200 ms it was found in well under that.)
          await new Promise((r) => setTimeout(r, 3000));
          assert.ok(isAlive(sleep), 'the sleep still runs');
          assert.equal(run.model.processByPid(sleep), undefined, `found before the next scan was due:\n${dump(api, run)}`);
        }
      } finally {
        await run.stop(500);
      }
    }
  });

  it('Run Active File runs the Python file in the active editor', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(`${__dirname}/../../../test/fixtures/workspace/hello_mp.py`));
    await vscode.window.showTextDocument(doc);
    const runs = await vscode.commands.executeCommand<Array<{ scriptUri: vscode.Uri; isLive: boolean }>>('mptree.runActiveFile');
    assert.equal(runs?.length, 1);
    assert.equal(runs![0].scriptUri.fsPath, doc.uri.fsPath);
    await waitFor('hello_mp.py to finish', () => !runs![0].isLive, 60_000);
  });
});
