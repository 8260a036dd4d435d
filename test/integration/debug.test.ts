// Debugging with the tree, in the real extension host. No Python extension can be
// installed here, so this is the path without it: the `mptree` debug type runs debugpy's own
// adapter from an interpreter that has debugpy (Debian's /usr/bin/python3 with
// python3-debugpy), with the runtime injected. A breakpoint stops a worker; the tree shows
// that worker paused; Stop Run ends the debug session and leaves no process of the run.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import { processesOfRun } from '../common/osTruth';
import { cleanUp, dump, fixture, getApi, setting, shownTree, waitFor } from './helpers';

const DEBUGPY_PYTHON = '/usr/bin/python3';

function hasDebugpy(python: string): boolean {
  try {
    execFileSync(python, ['-c', 'import debugpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const breakLine = () => fs.readFileSync(fixture('debug_workers.py').fsPath, 'utf8').split('\n').findIndex((l) => l.includes('# breakpoint:'));

describe('Debug with the process tree', function () {
  let api: MptreeApi;
  before(async () => {
    api = await getApi();
  });
  afterEach(async () => {
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    for (let i = 0; i < 10 && vscode.debug.activeDebugSession; i++) await vscode.debug.stopDebugging(vscode.debug.activeDebugSession);
    await cleanUp(api);
  });

  it('the debug type is contributed, with a configuration to start from', () => {
    const pkg = vscode.extensions.getExtension('mptree.mptree')!.packageJSON;
    const debuggerEntry = pkg.contributes.debuggers.find((d: { type: string }) => d.type === 'mptree');
    assert.ok(debuggerEntry, 'no mptree debugger contributed');
    assert.equal(debuggerEntry.initialConfigurations[0].program, '${file}');
    assert.ok(pkg.contributes.menus['editor/title/run'].some((m: { command: string }) => m.command === 'mptree.debugFile'));
  });

  it('a breakpoint in a worker: the tree shows that worker paused; Stop Run ends the debug session and the run', async function () {
    if (!hasDebugpy(DEBUGPY_PYTHON)) {
      // CI installs python3-debugpy: there a missing debugpy is a broken machine, and a skip
      // would pass the only end-to-end debug test without running it.
      if (process.env.CI === 'true') assert.fail(`CI=true but ${DEBUGPY_PYTHON} cannot import debugpy (apt-get install python3-debugpy)`);
      this.skip();
    }
    this.timeout(120_000);
    await setting('pythonPath', DEBUGPY_PYTHON);
    const uri = fixture('debug_workers.py');
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(uri, new vscode.Position(breakLine(), 0)))]);
    const sessions: vscode.DebugSession[] = [];
    const listening = vscode.debug.onDidStartDebugSession((s) => sessions.push(s));
    try {
      const before = new Set(api.runs.runs);
      assert.equal(await vscode.commands.executeCommand('mptree.debugFile', uri), true);
      const run = await waitFor('the debug run', () => api.runs.runs.find((r) => !before.has(r)), 30_000);
      const root = await waitFor('the root debug session', () => sessions.find((s) => s.configuration.request === 'launch'), 30_000);
      // Without the Python Debugger extension: our type, debugpy's adapter, every child debugged.
      assert.equal(root.type, 'mptree');
      assert.equal(root.configuration.subProcess, true);
      assert.equal(root.configuration.mptreeRunId, run.runId);
      assert.equal(root.configuration.env.MPTREE_RUN_ID, run.runId);

      const paused = await waitFor(
        'a worker paused at the breakpoint',
        () => run.model.processes().find((p) => /^worker-[12]$/.test(p.name) && p.paused === 'breakpoint'),
        60_000,
        () => dump(api, run),
      );
      // The tree says so, under the program's main process, and the root is the program.
      const shown = shownTree(api, run).find((s) => s.label === paused.name)!;
      assert.match(shown.description, /paused \(breakpoint\)/);
      assert.equal(run.info.rootPid, paused.parentPid);
      assert.equal(run.model.processByPid(run.info.rootPid!)?.name, 'MainProcess');
      // A child process's debug session of its own, attached through the adapter.
      await waitFor('a child debug session', () => sessions.some((s) => s.configuration.request === 'attach' && s.parentSession), 30_000);

      const members = processesOfRun(run.runId);
      assert.ok(members.length >= 3, `processes of the run: ${members}`);
      await run.stop(500);
      await waitFor('the debug session to end', () => vscode.debug.activeDebugSession === undefined, 30_000);
      await waitFor('nothing of the run left', () => processesOfRun(run.runId).length === 0, 10_000, () => String(processesOfRun(run.runId)));
    } finally {
      listening.dispose();
    }
  });

  it('ending the debug session stops the run, with nothing left behind', async function () {
    if (!hasDebugpy(DEBUGPY_PYTHON)) {
      if (process.env.CI === 'true') assert.fail(`CI=true but ${DEBUGPY_PYTHON} cannot import debugpy (apt-get install python3-debugpy)`);
      this.skip();
    }
    this.timeout(120_000);
    await setting('pythonPath', DEBUGPY_PYTHON);
    const uri = fixture('debug_workers.py');
    // A breakpoint holds the program mid-run, so the end is the session's doing, not its own.
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(uri, new vscode.Position(breakLine(), 0)))]);
    const sessions: vscode.DebugSession[] = [];
    const listening = vscode.debug.onDidStartDebugSession((s) => sessions.push(s));
    try {
      const before = new Set(api.runs.runs);
      assert.equal(await vscode.commands.executeCommand('mptree.debugFile', uri), true);
      const run = await waitFor('the debug run', () => api.runs.runs.find((r) => !before.has(r)), 30_000);
      const root = await waitFor('the root debug session', () => sessions.find((s) => s.configuration.request === 'launch'), 30_000);
      await waitFor('a worker paused at the breakpoint', () => run.model.processes().some((p) => /^worker-[12]$/.test(p.name) && p.paused === 'breakpoint'), 60_000, () => dump(api, run));
      assert.ok(processesOfRun(run.runId).length >= 3, 'the program and its workers run');
      // What the debug toolbar's Stop does: end the root session.
      await vscode.debug.stopDebugging(root);
      await waitFor('the run to end', () => !run.isLive, 30_000, () => dump(api, run));
      await waitFor('nothing of the run left', () => processesOfRun(run.runId).length === 0, 10_000, () => String(processesOfRun(run.runId)));
    } finally {
      listening.dispose();
    }
  });

  it('a launch.json with args, cwd, env, python and stopOnEntry: the program gets each, in its child too', async function () {
    if (!hasDebugpy(DEBUGPY_PYTHON)) {
      if (process.env.CI === 'true') assert.fail(`CI=true but ${DEBUGPY_PYTHON} cannot import debugpy (apt-get install python3-debugpy)`);
      this.skip();
    }
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-launch-'));
    // An interpreter under a name of its own: sys.executable tells whether `python` was used.
    const python = path.join(dir, 'python-for-launch');
    fs.symlinkSync(DEBUGPY_PYTHON, python);
    const out = path.join(dir, 'started-with.json');
    const sessions: vscode.DebugSession[] = [];
    const listening = vscode.debug.onDidStartDebugSession((s) => sessions.push(s));
    try {
      const before = new Set(api.runs.runs);
      const started = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
        type: 'mptree', request: 'launch', name: 'launch.json test', program: fixture('launch_config.py').fsPath,
        args: [out, 'second arg'], cwd: dir, env: { MPTREE_LAUNCH_ENV: 'from launch.json' }, python, stopOnEntry: true,
      });
      assert.equal(started, true);
      const run = await waitFor('the debug run', () => api.runs.runs.find((r) => !before.has(r)), 30_000);
      // stopOnEntry: the program waits at its first line, and the tree says so.
      const main = await waitFor('the program paused on entry', () => run.model.processes().find((p) => p.kind === 'main' && p.paused !== null), 60_000, () => dump(api, run));
      assert.equal(main.paused, 'entry');
      assert.equal(fs.existsSync(out), false, 'it ran past its first line');
      const root = sessions.find((s) => s.configuration.request === 'launch')!;
      // What the toolbar's Continue sends; debugpy resumes every thread of the process.
      await root.customRequest('continue', { threadId: 0 });
      await waitFor('the run to end', () => !run.isLive, 60_000, () => dump(api, run));
      for (const file of [out, `${out}.child`]) {
        const got = JSON.parse(fs.readFileSync(file, 'utf8')) as { argv: string[]; cwd: string; env: string; executable: string };
        assert.deepEqual(got, { argv: [out, 'second arg'], cwd: fs.realpathSync(dir), env: 'from launch.json', executable: python }, file);
      }
      assert.equal(run.info.exitCode, 0);
    } finally {
      listening.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no debugger at all: nothing starts, and no run is left', async function () {
    // pyenv's interpreters have no debugpy; without the Python Debugger extension that is
    // "debugging needs…", with a plain run offered instead.
    const pyenv = fs.existsSync('/root/.pyenv/versions') ? fs.readdirSync('/root/.pyenv/versions').map((v) => `/root/.pyenv/versions/${v}/bin/python3`).find((p) => fs.existsSync(p) && !hasDebugpy(p)) : undefined;
    if (!pyenv) this.skip();
    await setting('pythonPath', pyenv);
    const before = api.runs.runs.length;
    const started: vscode.DebugSession[] = [];
    const listening = vscode.debug.onDidStartDebugSession((s) => started.push(s));
    try {
      assert.equal(await vscode.commands.executeCommand('mptree.debugFile', fixture('debug_workers.py')), false);
      assert.equal(api.runs.runs.length, before);
      assert.deepEqual(started.map((s) => s.name), []);
    } finally {
      listening.dispose();
    }
  });
});
