// The tutorials our learners read (/work/shared/seeds, or MPTREE_SEEDS_DIR): every program in
// them, found at test time (seed_programs.py; their code is never copied here), run bare and
// under `mptree run --snapshot` per start method. Each run must give the same exit code and
// output, leave nothing behind, and a tree that says what the program itself knew (the truth
// recorder, truth_hook/, loaded into every process of both runs without editing the program).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { SnapshotJson } from '../../src/core/types';
import { mainOf, normalise, programView, readTruth, repoRoot, runProgram, treeMismatches } from './corpusRuns';

// Where the tutorials are looked for: the folder given, else beside the clone, else the
// team's machine. Given and missing is a failure; not given and nowhere is a skip named in
// `npm test`'s last lines (a clone on another machine may not have them).
const seedsCandidates = process.env.MPTREE_SEEDS_DIR
  ? [process.env.MPTREE_SEEDS_DIR]
  : [path.resolve(repoRoot, '..', 'shared', 'seeds'), '/work/shared/seeds'];
const hasSeeds = (dir: string) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.txt'));
const seedsDir = seedsCandidates.find(hasSeeds) ?? seedsCandidates[0];
const seedsMissing = !process.env.MPTREE_SEEDS_DIR && !hasSeeds(seedsDir)
  ? `the seed tutorials are not on this machine (looked in ${seedsCandidates.join(', ')}); set MPTREE_SEEDS_DIR to the folder holding their .txt files`
  : null;

interface Listing {
  seed: string;
  line: number;
  status: 'run' | 'broken' | 'fragment';
  reason: string;
  methods: string[];
  code: string;
}

function listings(): Listing[] {
  if (seedsMissing) return [];
  // A corpus that was named and is not there fails, loudly.
  const txt = fs.existsSync(seedsDir) ? fs.readdirSync(seedsDir).filter((f) => f.endsWith('.txt')) : [];
  if (txt.length === 0) {
    throw new Error(`the seed tutorials are not at ${seedsDir}: set MPTREE_SEEDS_DIR to the folder holding their .txt files (on the team's machine, /work/shared/seeds)`);
  }
  const r = spawnSync('python3', [path.join(repoRoot, 'test', 'corpus', 'seed_programs.py'), seedsDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`seed_programs.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Listing[];
}

const found = listings();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-seeds-'));
// The slowest seed sleeps about 8 s; one that runs for ever is a failure, not a hang.
const timeoutMs = 60_000;

describe('seed programs of the tutorials', { concurrency: 4 }, () => {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the seeds hold the programs this test was written for', { skip: seedsMissing ?? false }, () => {
    // If the tutorials change, the counts below say so before anything else does.
    const runnable = found.filter((l) => l.status === 'run');
    assert.ok(found.length >= 20, `only ${found.length} listings found in ${seedsDir}`);
    assert.ok(runnable.length >= 12, `only ${runnable.length} runnable programs: ${found.map((l) => `${l.seed}:${l.line} ${l.status}`).join(', ')}`);
  });

  for (const listing of found) {
    const label = `${listing.seed}:${listing.line}`;
    if (listing.status === 'fragment') {
      it(`${label}`, { skip: `fragment: ${listing.reason}` }, () => {});
      continue;
    }
    for (const method of listing.methods) {
      const title = `${label} ${method}${listing.reason ? ` (${listing.reason})` : ''}`;
      it(title, async () => {
        const dir = path.join(tmp, `${listing.seed.replace(/\W+/g, '_')}_${listing.line}_${method}`);
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, 'program.py');
        fs.writeFileSync(file, listing.code);
        const snapshotFile = path.join(dir, 'snapshot.json');
        // Bare and under mptree side by side: each has its own files and its own processes.
        const [bare, traced] = await Promise.all([
          runProgram('bare', method, file, path.join(dir, 'truth-bare'), snapshotFile, timeoutMs),
          runProgram('mptree', method, file, path.join(dir, 'truth-mptree'), snapshotFile, timeoutMs),
        ]);
        assert.ok(!bare.timedOut && !traced.timedOut, `ran for over ${timeoutMs / 1000} s (bare: ${bare.timedOut}, mptree: ${traced.timedOut})`);
        assert.equal(traced.code, bare.code, `exit code under mptree ${traced.code}, bare ${bare.code}\n${traced.stderr}`);
        const bareTruth = readTruth(path.join(dir, 'truth-bare'));
        const tracedTruth = readTruth(path.join(dir, 'truth-mptree'));
        const snap = JSON.parse(fs.readFileSync(snapshotFile, 'utf8')) as SnapshotJson;
        const tracedMain = snap.processes.find((p) => p.kind === 'main')?.pid ?? null;
        const bareMain = mainOf(bareTruth);
        assert.equal(normalise(traced.stdout, tracedTruth, tracedMain), normalise(bare.stdout, bareTruth, bareMain), 'stdout');
        assert.equal(normalise(traced.stderr, tracedTruth, tracedMain), normalise(bare.stderr, bareTruth, bareMain), 'stderr');
        assert.deepEqual(traced.left, [], 'processes of the mptree run left alive');
        assert.deepEqual(bare.left, [], 'processes of the bare run left alive');
        assert.equal(snap.run.exitCode, bare.code, 'the snapshot says the program exit code');
        assert.deepEqual(programView(tracedTruth), programView(bareTruth), 'the program saw the same processes with and without mptree');
        assert.deepEqual(treeMismatches(snap, tracedTruth), [], 'the tree against what the program knew');
      });
    }
  }
});
