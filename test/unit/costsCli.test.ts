// What each process cost, end to end: a real program through the bundled CLI (dist/cli.js;
// `npm run build` first), its final tree and --snapshot compared with what the program itself
// measured (test/fixtures/cli/costs.py), per start method.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SnapshotJson } from '../../src/core/types';
import { formatBytes, formatCpuSeconds } from '../../src/core/usageText';

const root = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const fixture = path.join(root, 'test', 'fixtures', 'cli', 'costs.py');
const MiB = 2 ** 20;
const linux = process.platform === 'linux';

interface Truth {
  main: number;
  burner: { pid: number; exitCode: number; cpuSeconds: number };
  sleeper: { pid: number; exitCode: number };
  holder: { pid: number; exitCode: number; bytes: number };
  victim: { pid: number; exitCode: number; livedSeconds: number };
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    // The burner needs 3 s of CPU: on a loaded machine that is much more wall time.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mptree ${args.join(' ')} timed out\n${stderr}`));
    }, 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('what each process cost, in the CLI', { skip: process.platform === 'win32' && 'getrusage is POSIX' }, () => {
  let tmp: string;
  before(() => {
    assert.ok(fs.existsSync(cli), `${cli} is missing: run \`npm run build\` before the unit tests`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-costs-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const method of ['fork', 'spawn', 'forkserver']) {
    it(`${method}: a burner's CPU, a sleeper's, a holder's peak, a killed process's CPU, in the final tree and the snapshot`, async () => {
      const truthFile = path.join(tmp, `${method}.truth.json`);
      const snapshotFile = path.join(tmp, `${method}.snapshot.json`);
      const result = await runCli(['run', '--no-live', '--snapshot', snapshotFile, fixture, method], { MPTREE_TRUTH: truthFile });
      assert.equal(result.code, 0, result.stderr);
      const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as Truth;
      const snapshot = JSON.parse(fs.readFileSync(snapshotFile, 'utf8')) as SnapshotJson;
      const entry = (pid: number) => {
        const found = snapshot.processes.find((p) => p.pid === pid);
        assert.ok(found, `pid ${pid} in the snapshot: ${JSON.stringify(snapshot.processes)}`);
        return found;
      };
      const burner = entry(truth.burner.pid);
      const sleeper = entry(truth.sleeper.pid);
      const holder = entry(truth.holder.pid);
      const victim = entry(truth.victim.pid);

      // The burner measured its own busy CPU time; ours is its whole life (start-up included).
      assert.ok(burner.cpuSeconds !== null, 'the burner has a total');
      const busy = truth.burner.cpuSeconds;
      assert.ok(Math.abs(burner.cpuSeconds - busy) <= 0.15 * busy, `burner: ${burner.cpuSeconds} s CPU, busy ${busy} s`);
      assert.ok(sleeper.cpuSeconds !== null && sleeper.cpuSeconds < 0.3, `sleeper: ${sleeper.cpuSeconds} s CPU`);
      assert.ok(holder.peakRssBytes !== null && holder.peakRssBytes >= truth.holder.bytes, `holder's peak ${holder.peakRssBytes} < ${truth.holder.bytes}`);
      assert.ok(sleeper.peakRssBytes !== null && sleeper.peakRssBytes < 100 * MiB, `sleeper's peak ${sleeper.peakRssBytes}`);
      // Killed by SIGKILL, it reported nothing itself: its parent read its zombie (Linux, and
      // only a fork or spawn child is the parent's own child; a forkserver child is not).
      assert.equal(victim.exitCode, -9);
      assert.equal(victim.peakRssBytes, null);
      if (linux && method !== 'forkserver') {
        assert.ok(victim.cpuSeconds !== null && victim.cpuSeconds <= truth.victim.livedSeconds + 0.1, `victim: ${victim.cpuSeconds} s CPU in ${truth.victim.livedSeconds} s`);
      } else assert.equal(victim.cpuSeconds, null);
      const main = entry(truth.main);
      assert.ok(main.cpuSeconds !== null && main.peakRssBytes !== null, 'the main process sends its own at exit');

      // The final tree on stderr says the same, in the same words as everywhere.
      const line = (pid: number) => result.stderr.split('\n').find((l) => l.includes(`[${pid}]`)) ?? '';
      assert.ok(line(truth.burner.pid).includes(`exited 0 · ${formatCpuSeconds(burner.cpuSeconds)} CPU · ${formatBytes(burner.peakRssBytes!)} peak`), line(truth.burner.pid));
      assert.match(line(truth.holder.pid), new RegExp(`exited 0 · \\d+\\.\\d s CPU · ${formatBytes(holder.peakRssBytes!)} peak$`));
      assert.ok(Number(/(\d+) MB peak/.exec(line(truth.holder.pid))![1]) >= 300, line(truth.holder.pid));
      assert.match(line(truth.victim.pid), linux && method !== 'forkserver' ? /killed by SIGKILL · \d+\.\d s CPU$/ : /killed by SIGKILL$/);
      assert.match(result.stderr.split('\n').find((l) => l.startsWith('mptree '))!, /exit 0 · \d+\.\d s CPU in all$/);
    });
  }
});
