// Programs in the styles users write (test/fixtures/corpus/), each recording what it knows
// about its own processes, queues and pools (test/fixtures/_truth.py): run bare and under
// `mptree run --snapshot` per start method, side by side. Same exit code and output, nothing
// left, and the snapshot equal to the program's own record.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { SnapshotJson } from '../../src/core/types';
import { repoRoot, runPython } from './corpusRuns';
import { fixtureMismatches, type FixtureTruth } from './fixtureTruth';

const fixtures = path.join(repoRoot, 'test', 'fixtures');
const programs = fs.readdirSync(path.join(fixtures, 'corpus')).filter((f) => f.endsWith('.py')).sort();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-corpus-fixtures-'));
const sortedLines = (text: string) => text.split('\n').filter(Boolean).sort().join('\n');

describe('programs in the styles users write', { concurrency: 4 }, () => {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('there are at least 20 of them', () => assert.ok(programs.length >= 20, programs.join(', ')));

  for (const program of programs) {
    for (const method of ['fork', 'spawn', 'forkserver']) {
      it(`${program} ${method}`, async () => {
        const dir = path.join(tmp, `${program}-${method}`);
        fs.mkdirSync(dir);
        const env = (truth: string) => ({ PYTHONPATH: [fixtures, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter), MPTREE_FIXTURE_TRUTH: path.join(dir, truth) });
        const script = [path.join(fixtures, 'corpus', program), method];
        const snapshotFile = path.join(dir, 'snapshot.json');
        const [bare, traced] = await Promise.all([
          runPython('bare', script, env('truth-bare.json'), snapshotFile, 60_000),
          runPython('mptree', script, env('truth-mptree.json'), snapshotFile, 60_000),
        ]);
        assert.ok(!bare.timedOut && !traced.timedOut, 'ran for over 60 s');
        assert.equal(traced.code, bare.code, `exit code under mptree ${traced.code}, bare ${bare.code}\n${traced.stderr}`);
        assert.equal(sortedLines(traced.stdout), sortedLines(bare.stdout), 'stdout');
        // Tracebacks name the same files and lines; only pids and addresses could differ.
        const plain = (t: string) => sortedLines(t.replace(/0x[0-9a-f]+/g, 'ADDR'));
        assert.equal(plain(traced.stderr), plain(bare.stderr), 'stderr');
        assert.deepEqual(traced.left, [], 'processes of the mptree run left alive');
        const snap = JSON.parse(fs.readFileSync(snapshotFile, 'utf8')) as SnapshotJson;
        assert.equal(snap.run.exitCode, bare.code);
        const truth = JSON.parse(fs.readFileSync(path.join(dir, 'truth-mptree.json'), 'utf8')) as FixtureTruth;
        assert.deepEqual(fixtureMismatches(snap, truth), [], 'the tree against what the program knew');
      });
    }
  }
});
