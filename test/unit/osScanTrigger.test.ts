// When the session lists the OS's processes: not at the start (the program has not run a
// line, so the root can have no child), on the scan interval after that, and at once when a
// process says hello whose parent nobody reported: a process the runtime cannot see (a shell
// started by `subprocess`) sits between them. Real Python, real processes; the program's own
// account of its pids is the truth.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { RunSession } from '../../src/core/session';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const cliFixtures = path.join(root, 'test', 'fixtures', 'cli');
const posix = process.platform !== 'win32';
const sessions: RunSession[] = [];
let tmp: string;

async function runToEnd(script: string, truthFile: string, osScanIntervalMs: number): Promise<RunSession> {
  const session = await RunSession.create({
    target: { script: path.join(cliFixtures, script), args: [] },
    cwd: root,
    runtimeDir,
    osScanIntervalMs,
    env: { ...process.env, MPTREE_TRUTH: truthFile },
  });
  sessions.push(session);
  session.start('ignore');
  await session.ended;
  return session;
}

describe('the OS listing of a run', { skip: !posix && 'POSIX processes' }, () => {
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-scan-trigger-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  afterEach(() => {
    for (const s of sessions.splice(0)) s.dispose();
  });

  it('a `subprocess` child running a non-Python program is found by the interval’s listing', async () => {
    const truthFile = path.join(tmp, 'family.json');
    const session = await runToEnd('family.py', truthFile, 300);
    const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8'));
    const sleep = session.model.processByPid(truth.sleep.pid);
    assert.ok(sleep, 'the sleep subprocess is in the tree');
    assert.equal(sleep.kind, 'os');
    assert.equal(sleep.parentKey, session.model.processByPid(truth.main)!.key);
  });

  it('a shell between two Python processes is found at once when the inner one says hello (no interval listing in the run)', async () => {
    const truthFile = path.join(tmp, 'shell.json');
    // No listing from the interval during this ≈ 1.5 s run: only the hello can bring one.
    const session = await runToEnd('shell_python.py', truthFile, 60_000);
    const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8'));
    const main = session.model.processByPid(truth.main)!;
    const shell = session.model.processByPid(truth.shell);
    assert.ok(shell, `the shell ${truth.shell} is in the tree`);
    assert.equal(shell.kind, 'os');
    assert.equal(shell.parentKey, main.key);
    const child = session.model.processByPid(truth.child);
    assert.ok(child?.instrumented, 'the Python child reported itself');
    assert.equal(child.parentKey, shell.key, 'under the shell, as the OS has it');
  });
});
