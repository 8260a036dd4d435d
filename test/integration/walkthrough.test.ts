// The learner's path in the real workbench: Open Example gives a copy that runs at once and
// keeps the user's edits; the walkthrough opens, and each step's button (its command link,
// executed as the link would) runs the step's example, whose real events complete the step
// (the context key WalkthroughProgress sets, for that very run).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import type { OpenedExample } from '../../src/vscode/commands/openExample';
import type { Run } from '../../src/vscode/runs';
import { cleanUp, dump, EXTENSION_ID, getApi, processNodeOf, setting, waitFor, waitForShown } from './helpers';

// As in debug.test.ts: Debian's interpreter, which has python3-debugpy.
const DEBUGPY_PYTHON = '/usr/bin/python3';

function hasDebugpy(python: string): boolean {
  try {
    execFileSync(python, ['-c', 'import debugpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Compiled to out/test/integration/: the repository's root is three folders up.
const root = path.resolve(__dirname, '..', '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const nls: Record<string, string> = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8'));
const walkthrough = manifest.contributes.walkthroughs[0];

interface Button {
  command: string;
  args: unknown[];
}

interface Step {
  id: string;
  key: string;
  /** The step's buttons: commands and their arguments, decoded from the links. */
  buttons: Button[];
  /** The first one. */
  command: string;
  args: unknown[];
}

function stepsOf(): Step[] {
  return walkthrough.steps.map((step: { id: string; description: string; completionEvents: string[] }) => {
    const description = nls[step.description.replace(/^%|%$/g, '')] ?? step.description;
    const buttons = [...description.matchAll(/\]\(command:([\w.]+)(?:\?([^)]+))?\)/g)].map((link) => ({
      command: link[1],
      args: link[2] ? (JSON.parse(decodeURIComponent(link[2])) as unknown[]) : [],
    }));
    assert.ok(buttons.length > 0, `step ${step.id} has no command button`);
    const events = step.completionEvents.filter((e) => e.startsWith('onContext:'));
    assert.equal(events.length, 1, `step ${step.id} completes on one context key`);
    return { id: step.id, key: events[0].slice('onContext:'.length), buttons, command: buttons[0].command, args: buttons[0].args };
  });
}

async function runEnded(api: MptreeApi, run: Run): Promise<void> {
  await waitFor(`${run.info.script} to end`, () => !run.isLive, 60_000, () => dump(api, run));
}

describe('learner path: walkthrough and examples', () => {
  let api: MptreeApi;
  before(async () => {
    api = await getApi();
  });
  afterEach(async () => {
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    for (let i = 0; i < 10 && vscode.debug.activeDebugSession; i++) await vscode.debug.stopDebugging(vscode.debug.activeDebugSession);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await cleanUp(api);
  });

  it('Open Example from the palette lists the examples and opens the one picked', async () => {
    const picking = vscode.commands.executeCommand<OpenedExample | undefined>('mptree.openExample');
    let opened: OpenedExample | undefined;
    void picking.then((o) => (opened = o));
    // Accept the pick's first item (a separator is never selected: the first example is)
    // once the pick is up; until then the accept does nothing.
    await waitFor('the pick to open an example', async () => {
      if (opened) return true;
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      return false;
    }, 30_000);
    assert.equal(opened!.id, 'process_args', 'the first pattern is the first item');
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, opened!.uri.fsPath);
    fs.rmSync(opened!.uri.fsPath, { force: true });
  });

  it('Open Example opens an editable copy that the Run command runs at once, and never overwrites an edited copy', async () => {
    const opened = await vscode.commands.executeCommand<OpenedExample>('mptree.openExample', 'pipe');
    assert.ok(opened, 'no example opened');
    const language = /^zh/i.test(vscode.env.language) ? 'zh-cn' : 'en';
    assert.equal(opened.language, language);
    const shipped = fs.readFileSync(path.join(root, 'examples', language, 'pipe.py'), 'utf8');
    assert.equal(opened.uri.scheme, 'file');
    assert.equal(fs.readFileSync(opened.uri.fsPath, 'utf8'), shipped);
    // The user's copy lives in the extension's global storage, not in the shipped examples.
    assert.match(opened.uri.fsPath, /[\\/]globalStorage[\\/]mptree\.mptree[\\/]examples[\\/]/);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, opened.uri.fsPath, 'the copy is the active editor');

    // The palette's Run Active File takes it as it is: no save dialog, a real run.
    const runs = await vscode.commands.executeCommand<Run[]>('mptree.runActiveFile');
    assert.equal(runs?.length, 1);
    const run = runs[0];
    assert.equal(run.scriptUri.fsPath, opened.uri.fsPath);
    await waitForShown(api, run, 'echo', (d) => /exit 0/.test(d), 60_000);
    await runEnded(api, run);
    assert.equal(run.info.exitCode, 0);

    // The user's edit is kept: opening the example again gives a second, pristine copy.
    const edited = shipped.replace('"ping"', '"edited"');
    fs.writeFileSync(opened.uri.fsPath, edited);
    const again = await vscode.commands.executeCommand<OpenedExample>('mptree.openExample', 'pipe');
    assert.equal(path.basename(again.uri.fsPath), 'pipe-2.py');
    assert.equal(fs.readFileSync(again.uri.fsPath, 'utf8'), shipped);
    assert.equal(fs.readFileSync(opened.uri.fsPath, 'utf8'), edited);
    fs.rmSync(again.uri.fsPath);
    fs.rmSync(opened.uri.fsPath);

    // A name that is not an example is refused with a message, and nothing opens.
    const none = await vscode.commands.executeCommand<OpenedExample | undefined>('mptree.openExample', 'no_such_example');
    assert.equal(none, undefined);
  });

  it('the walkthrough is contributed with six steps that complete on the extension\'s context keys', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const contributed = ext.packageJSON.contributes.walkthroughs;
    assert.equal(contributed.length, 1);
    assert.equal(contributed[0].id, 'mptree.learn');
    const steps = stepsOf();
    assert.ok(steps.length >= 6, `${steps.length} steps`);
    for (const step of walkthrough.steps) {
      assert.ok(fs.existsSync(path.join(ext.extensionPath, step.media.markdown)), `${step.media.markdown} is missing`);
    }
    // Opening it must not fail (an unknown id is an error in the workbench).
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#mptree.learn`, false);
  });

  // Each step whose button runs its example: the run's own events complete the step.
  for (const step of stepsOf().filter((s) => s.command === 'mptree.openExample' && (s.args[1] as { run?: boolean })?.run)) {
    it(`the "${step.id}" step: its button runs ${String(step.args[0])} and the step completes`, async () => {
      await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#mptree.learn`, false);
      api.walkthrough.forgetReachedForTests();
      const opened = await vscode.commands.executeCommand<OpenedExample>(step.command, ...step.args);
      assert.ok(opened?.run, `the ${step.id} button started no run`);
      const run = opened.run;
      if (step.id === 'zombie') {
        // What the step asks: find the zombie in the tree and join it with the Join command.
        const zombie = await waitForShown(api, run, 'quick', (d) => /zombie/.test(d), 60_000);
        await vscode.commands.executeCommand('mptree.join', processNodeOf(zombie));
        await waitForShown(api, run, 'quick', (d) => /exit 3/.test(d) && !/zombie/.test(d), 30_000);
        assert.equal(processNodeOf(zombie).info!.joined, true);
      }
      await waitFor(`the ${step.id} step's key ${step.key}`, () => api.walkthrough.reachedBy(step.key as never) === run.runId, 60_000, () => dump(api, run));
      await runEnded(api, run);
      assert.equal(run.info.exitCode, 0, dump(api, run));
      fs.rmSync(opened.uri.fsPath, { force: true });
    });
  }

  it('the "debug" step: open the example, set a breakpoint in the worker, debug it from the second button, and the step completes', async function () {
    if (!hasDebugpy(DEBUGPY_PYTHON)) this.skip(); // apt-get install python3-debugpy (.ci/run does)
    this.timeout(120_000);
    await setting('pythonPath', DEBUGPY_PYTHON);
    const step = stepsOf().find((s) => s.id === 'debug')!;
    assert.equal(step.buttons.length, 2, 'open, then debug');
    api.walkthrough.forgetReachedForTests();
    const opened = await vscode.commands.executeCommand<OpenedExample>(step.buttons[0].command, ...step.buttons[0].args);
    const line = fs.readFileSync(opened.uri.fsPath, 'utf8').split('\n').findIndex((l) => l.includes('print(f"{greeting}'));
    assert.ok(line > 0, 'the print line inside greet()');
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(opened.uri, new vscode.Position(line, 0)))]);
    const before = new Set(api.runs.runs);
    const debugged = await vscode.commands.executeCommand<OpenedExample>(step.buttons[1].command, ...step.buttons[1].args);
    assert.equal(debugged.debugStarted, true);
    assert.equal(debugged.uri.fsPath, opened.uri.fsPath, 'the copy with the breakpoint is the one debugged');
    const run = await waitFor('the debug run', () => api.runs.runs.find((r) => !before.has(r)), 30_000);
    await waitFor(`the debug step's key ${step.key}`, () => api.walkthrough.reachedBy(step.key as never) === run.runId, 90_000, () => dump(api, run));
    const paused = run.model.processes().find((p) => p.paused !== null);
    assert.ok(paused && /^greeter-/.test(paused.name), dump(api, run));
    fs.rmSync(opened.uri.fsPath, { force: true });
  });
});
