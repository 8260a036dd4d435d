// mptree soak: one real run through RunSession with continuous process and queue churn
// (bench/programs/soak.py) for N minutes, sampling the Node side's heap and RSS every few
// seconds. Not a pass/fail test: it prints the series and a verdict, "bounded" when the
// last minute's peak heap is within BOUND_PCT of the first minute's, and writes
// bench/results/soak.json. Usage: node bench/soak.mjs [--minutes 3] [--interval 5]
// (after `npm run build && npm run compile-tests`).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// Heap figures mean little without a collection before each sample: re-run with --expose-gc.
if (typeof globalThis.gc !== 'function') {
  const result = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  const inline = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = inline ? inline.split('=')[1] : i >= 0 ? process.argv[i + 1] : undefined;
  return value === undefined ? fallback : Number(value);
};
const minutes = arg('minutes', 3);
const intervalSec = arg('interval', 5);
const BOUND_PCT = 25;

const sessionJs = path.join(root, 'out', 'src', 'core', 'session.js');
if (!fs.existsSync(sessionJs)) {
  console.error('soak: out/src/core/session.js is missing; run "npm run build && npm run compile-tests" first');
  process.exit(2);
}
const { RunSession } = require(sessionJs);
const { ProcLister } = require(path.join(root, 'out', 'src', 'core', 'osScan.js'));

const mib = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
const session = await RunSession.create({
  target: { script: path.join(root, 'bench', 'programs', 'soak.py'), args: [String(minutes * 60)] },
  cwd: root,
  runtimeDir: path.join(root, 'src', 'runtime'),
  python: process.env.MPTREE_BENCH_PYTHON || null,
  lister: ProcLister.isSupported() ? new ProcLister() : undefined,
});
let changes = 0;
session.onDidChange(() => changes++);
const started = Date.now();
const samples = [];
const sample = () => {
  globalThis.gc();
  const m = process.memoryUsage();
  const model = session.model;
  const s = {
    t: Math.round((Date.now() - started) / 100) / 10,
    heapMiB: mib(m.heapUsed),
    rssMiB: mib(m.rss),
    nodes: model.processes().length,
    live: model.liveCount,
    queues: model.queues().length,
    pools: model.pools().length,
    changes,
  };
  samples.push(s);
  console.log(`t=${String(s.t).padStart(6)}s  heap ${String(s.heapMiB).padStart(6)} MiB  rss ${String(s.rssMiB).padStart(6)} MiB  nodes ${s.nodes}  live ${s.live}  queues ${s.queues}  pools ${s.pools}  changes ${s.changes}`);
};
const child = session.start('pipe');
let stdout = '';
child.stdout.on('data', (d) => (stdout += d));
child.stderr.on('data', (d) => process.stderr.write(d));
sample();
const timer = setInterval(sample, intervalSec * 1000);
const info = await session.ended;
clearInterval(timer);
sample();
session.dispose();

const window = (from, to) => samples.filter((s) => s.t >= from && s.t <= to);
const peak = (list, key) => Math.max(...list.map((s) => s[key]));
const total = samples.at(-1).t;
const first = window(0, Math.min(60, total / 3));
const last = window(Math.max(total - 60, (2 * total) / 3), total);
const firstPeak = { heap: peak(first, 'heapMiB'), rss: peak(first, 'rssMiB') };
const lastPeak = { heap: peak(last, 'heapMiB'), rss: peak(last, 'rssMiB') };
const growthPct = Math.round(((lastPeak.heap - firstPeak.heap) / firstPeak.heap) * 1000) / 10;
const verdict = lastPeak.heap <= firstPeak.heap * (1 + BOUND_PCT / 100) ? 'bounded' : 'growing';
const line = stdout.split('\n').find((l) => l.startsWith('MPTREE_SOAK '));
const program = line ? JSON.parse(line.slice('MPTREE_SOAK '.length)) : null;
const result = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform} ${os.release()}` },
  minutes,
  intervalSec,
  program,
  run: { exitCode: info.exitCode, state: info.state },
  modelChanges: changes,
  firstMinutePeak: firstPeak,
  lastMinutePeak: lastPeak,
  heapGrowthPct: growthPct,
  boundPct: BOUND_PCT,
  verdict,
  samples,
};
fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench', 'results', 'soak.json'), JSON.stringify(result, null, 2) + '\n');
console.log(`\nprogram: ${JSON.stringify(program)}; exit ${info.exitCode}; ${changes} model changes`);
console.log(`heap peak: first minute ${firstPeak.heap} MiB, last minute ${lastPeak.heap} MiB (${growthPct >= 0 ? '+' : ''}${growthPct}%); rss ${firstPeak.rss} → ${lastPeak.rss} MiB`);
console.log(`verdict: ${verdict} (last-minute heap peak within ${BOUND_PCT}% of the first minute's)`);
process.exit(verdict === 'bounded' && info.exitCode === 0 ? 0 : 1);
