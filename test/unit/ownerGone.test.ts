// A run never outlives its owner: `mptree run` killed with SIGKILL (no chance to
// stop anything) under a running program of each start method, and the runtime ends the
// whole program tree by itself; with --when-viewer-gone keep the program runs on and its
// output still arrives. Checked through /proc by the run id every process inherited.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processesLeftAfter, processesOfRun } from '../common/osTruth';
import { repoRoot, startInGroup } from './cliProcess';

const fixture = path.join(repoRoot, 'test', 'fixtures', 'cli', 'owner_family.py');
let tmp: string;

describe('when mptree run dies', { skip: process.platform !== 'linux' && '/proc' }, () => {
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-owner-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const method of ['fork', 'spawn', 'forkserver']) {
    it(`${method}: SIGKILL to mptree ends every process of the run (stop, the default)`, async () => {
      const truthFile = path.join(tmp, `${method}.json`);
      const run = startInGroup([fixture, method, '60'], truthFile);
      try {
        await run.ready();
        const { runId } = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as { runId: string };
        const members = processesOfRun(runId);
        assert.ok(members.length >= 9, `main, manager, 2 workers, 3 children, sleep, fork child: ${members}`);
        const killedAt = Date.now();
        process.kill(run.child.pid!, 'SIGKILL');
        // The README's promise: the run ends within about 3 s (2 s of reconnection attempts,
        // then SIGTERM and 1 s of grace for the child that ignores it). Measured from the
        // SIGKILL: 3.05-3.21 s at a load average of 6 on 2 cores, with a second copy of this
        // file running; 4.5 s leaves that load its margin and still fails a 5 s stop.
        const left = await processesLeftAfter(runId, 15_000);
        const tookMs = Date.now() - killedAt;
        assert.deepEqual(left, [], 'processes of the run left behind');
        assert.ok(tookMs <= 4500, `the run ended ${tookMs} ms after mptree died; the README says about 3 s`);
        assert.ok(Date.now() - killedAt >= 1500, 'not before the reconnection attempts were over');
      } finally {
        run.cleanup();
      }
    });
  }

  it('--when-viewer-gone keep: the program runs on and its output arrives', async () => {
    const truthFile = path.join(tmp, 'keep.json');
    const run = startInGroup(['--when-viewer-gone', 'keep', fixture, 'fork', '12'], truthFile);
    try {
      await run.ready();
      const { runId } = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as { runId: string };
      const members = processesOfRun(runId).sort();
      const cliGone = new Promise((r) => run.child.once('exit', r));
      process.kill(run.child.pid!, 'SIGKILL');
      // Not run.exited ('close'): the program holds the same stdout pipe, open till it ends.
      await cliGone;
      // No stop can be seen only once a stop would have ended it: past the 4.5 s bound the
      // tests above hold it to, with the program (busy 12 s) still 7 s from its end.
      await new Promise((r) => setTimeout(r, 5000));
      assert.deepEqual(processesOfRun(runId).sort(), members, 'every process still runs');
      // The program's stdout was never mptree's to close: its last line still comes.
      const deadline = Date.now() + 30_000;
      while (!run.output().stdout.includes('"done"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const [ready, done, ...rest] = run.output().stdout.split('\n');
      assert.equal(ready, 'ready');
      assert.deepEqual(JSON.parse(done), { done: true, codes: [0, 0, 0] });
      assert.deepEqual(rest, [''], 'nothing else on stdout');
      assert.deepEqual(await processesLeftAfter(runId, 5000), [], 'it ended by itself');
    } finally {
      run.cleanup();
    }
  });
});
