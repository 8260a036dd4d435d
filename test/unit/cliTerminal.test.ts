// The CLI's live tree on a real terminal: `mptree run` under tmux's pseudo-terminal, the
// screen read while the program runs (the tree drawn live, with the real pids), then after
// it ends (the final tree in its place). Pids checked against /proc.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { cliPath, repoRoot } from './cliProcess';

const fixture = path.join(repoRoot, 'test', 'fixtures', 'cli', 'live_tree.py');
const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
// CI installs tmux (test/harness/systemPackages.mjs): there, a missing one is a failure.
const skip = process.platform !== 'linux' ? '/proc' : !hasTmux && process.env.CI !== 'true' ? 'no tmux here (apt-get install tmux)' : false;
// A tmux server of our own (-L), so no one else's sessions are touched.
const server = `mptree-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });

async function screenUntil(what: string, test: (screen: string) => boolean, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  let screen = '';
  for (;;) {
    screen = tmux('capture-pane', '-p');
    if (test(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${screen}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ppidOf(pid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ')[1]);
}

describe('mptree run on a terminal', { skip }, () => {
  after(() => {
    try {
      tmux('kill-server');
    } catch {
      // Already gone.
    }
  });

  it('draws the tree live on stderr while the program runs, and the final tree when it ends', async () => {
    assert.ok(hasTmux, 'CI=true but tmux is missing');
    // After mptree, the shell says its exit code and keeps the pane open to be read.
    tmux('new-session', '-d', '-x', '120', '-y', '40', `'${process.execPath}' '${cliPath}' run '${fixture}'; echo "mptree exited $?"; sleep 60`);
    // alpha and beta wait on an Event the program sets at Enter: `waiting: Event.wait go` once
    // the wait has lasted past the threshold, `running` before.
    const live = await screenUntil('the live tree', (s) => /└─ MainProcess \[\d+\]  running/.test(s) && /alpha \[\d+\]  (running|waiting: Event\.wait go)/.test(s) && /beta \[\d+\]  (running|waiting: Event\.wait go)/.test(s)
      // The queue's depth is read on its own clock, a moment after the children report.
      && /Queue q\d+-\d+  2 \/ 5/.test(s));
    const lines = live.split('\n').filter((l) => l.trim() !== '');
    assert.match(lines[0], /^mptree .*live_tree\.py  running( · .*)?$/, live);
    const main = Number(/MainProcess \[(\d+)\]/.exec(live)![1]);
    const alpha = Number(/alpha \[(\d+)\]/.exec(live)![1]);
    const beta = Number(/beta \[(\d+)\]/.exec(live)![1]);
    // Live means now: the processes on the screen run at this moment, as drawn.
    for (const pid of [alpha, beta]) assert.equal(ppidOf(pid), main, `${pid} is a child of ${main}`);
    assert.match(live, /├─ Queue q\d+-\d+  2 \/ 5/);
    assert.doesNotMatch(live, /mptree exited/, 'mptree still runs');

    tmux('send-keys', 'Enter');
    const end = await screenUntil('the final tree', (s) => /mptree exited \d+/.test(s));
    assert.match(end, /mptree exited 0/);
    // What the run cost in all may follow (`exit 0 · 0.1 s CPU in all`).
    assert.match(end, /^mptree .*live_tree\.py  exit 0( · .* in all)?$/m);
    assert.match(end, new RegExp(`└─ MainProcess \\[${main}\\]  exited 0`));
    assert.match(end, new RegExp(`alpha \\[${alpha}\\] joined  exited 0`));
    assert.match(end, new RegExp(`beta \\[${beta}\\] joined  exited 0`));
    assert.match(end, /Queue q\d+-\d+  0 \/ 5/);
    // The live tree was redrawn in place: one header on the screen, not one per frame.
    assert.equal((end.match(/^mptree .*live_tree\.py/gm) ?? []).length, 1, end);
  });
});
