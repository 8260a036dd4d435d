// Last on purpose (files run in name order): it disposes the run manager as deactivate does
// when the window closes or the extension is disabled, which leaves mptree unusable after.
import * as assert from 'node:assert/strict';
import { familyReady, getApi, isAlive, runFixture, waitFor } from './helpers';

describe('shutdown', () => {
  it('disposing the runs (deactivate) kills every process of every live run at once', async () => {
    const api = await getApi();
    const first = await runFixture(api, 'tree_family.py');
    const second = await runFixture(api, 'hello_mp.py');
    await familyReady(api, first);
    const pids = [first, second].flatMap((run) => run.model.processes().filter((p) => p.state === 'running').map((p) => p.pid));
    assert.ok(pids.length >= 8, `only ${pids.length} live processes`);
    // Synchronous, like deactivate(): SIGKILL is sent before dispose returns.
    api.runs.dispose();
    await waitFor('every process to be gone', () => pids.every((pid) => !isAlive(pid)), 5_000, () => `alive: ${pids.filter(isAlive).join(', ')}`);
  });
});
