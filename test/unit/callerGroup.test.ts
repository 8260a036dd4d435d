// Nothing of mptree's may outlive `mptree run` in the caller's process group: a shell, a CI
// runner or `timeout` that waits for the group, or signals it later, must find only what the
// user's program itself left there. The wrapper (test/fixtures/cli/group_members.py) is the
// caller: a group leader that runs mptree, waits for it and lists the group from /proc at once.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { cliPath, repoRoot } from './cliProcess';

const linux = process.platform === 'linux';
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'cli');
const python = process.env.MPTREE_TEST_PYTHON || 'python3';

interface GroupReport {
  code: number;
  left: { pid: number; comm: string; state: string }[];
}

function asCaller(wrapperArgs: string[], program: string, programArgs: string[] = []): Promise<GroupReport> {
  return new Promise((resolve, reject) => {
    const wrapper = spawn(python, [path.join(fixtures, 'group_members.py'), ...wrapperArgs, process.execPath, cliPath, 'run', '--quiet', program, ...programArgs], {
      cwd: repoRoot,
      // Its own process group, as a terminal gives a foreground job.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    wrapper.stdout.on('data', (d) => (stdout += d));
    wrapper.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-wrapper.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      reject(new Error(`the caller timed out\n${stderr}`));
    }, 60_000);
    wrapper.on('error', reject);
    wrapper.on('close', () => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) return reject(new Error(`no report from the caller:\n${stdout}\n${stderr}`));
      resolve(JSON.parse(line) as GroupReport);
    });
  });
}

describe('the caller’s process group after mptree run', { skip: !linux && 'reads /proc' }, () => {
  it('an empty program: nothing of ours is left', async () => {
    // Several runs: a witness that is merely sent SIGKILL is still there now and then.
    for (let i = 0; i < 5; i++) {
      const report = await asCaller([], path.join(fixtures, 'empty.py'));
      assert.equal(report.code, 0);
      assert.deepEqual(report.left, [], `run ${i}`);
    }
  });

  it('a program with children, its family joined: nothing of ours is left', async () => {
    const report = await asCaller([], path.join(fixtures, 'family.py'));
    assert.equal(report.code, 0);
    assert.deepEqual(report.left, []);
  });

  it('after Ctrl+C to the whole group (the witness dies of it and is replaced): nothing of ours is left', async () => {
    const report = await asCaller(['--signal-group', '1.5'], path.join(fixtures, 'survives_ctrl_c.py'));
    assert.equal(report.code, 0, 'the program exits 0 after its Ctrl+C, and so does mptree');
    assert.deepEqual(report.left, []);
  });
});
