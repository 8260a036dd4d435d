// mptree benchmarks: what the runtime costs a program, how fast the model learns the truth,
// how far the TypeScript side scales, what an OS scan costs, and start-up figures.
// Every target is a ratio or a percentile measured side by side in this one run; nothing here
// is a pass/fail test. Usage: npm run bench [-- --quick] [-- --only=overhead,latency,...]
// [-- --cases=queue_throughput,pool_map,...] [-- --baseline=DIR]: DIR is another checkout, built (its dist/cli.js), whose runtime is
// measured in the same interleaved rounds as this one's, so "not worse than before" is a
// ratio from one run too.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const programs = path.join(root, 'bench', 'programs');
const cli = path.join(root, 'dist', 'cli.js');
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : null;
// [-- --case=TEXT]: only the overhead cases whose name contains TEXT.
const caseArg = process.argv.find((a) => a.startsWith('--case='));
const caseFilter = caseArg ? caseArg.slice('--case='.length) : null;
const python = process.env.MPTREE_BENCH_PYTHON || 'python3';
// --cases=a,b: only the overhead cases whose program is named so (lock_counter, queue_bounded...).
const casesArg = process.argv.find((a) => a.startsWith('--cases='));
const onlyCases = casesArg ? new Set(casesArg.slice('--cases='.length).split(',')) : null;
const baselineArg = process.argv.find((a) => a.startsWith('--baseline='));
const baselineCli = baselineArg ? path.join(path.resolve(baselineArg.slice('--baseline='.length)), 'dist', 'cli.js') : null;
if (baselineCli && !fs.existsSync(baselineCli)) {
  console.error(`bench: ${baselineCli} is missing; build the baseline checkout first (npm run build there)`);
  process.exit(2);
}

for (const needed of [cli, path.join(root, 'out', 'src', 'core', 'session.js')]) {
  if (!fs.existsSync(needed)) {
    console.error(`bench: ${path.relative(root, needed)} is missing; run "npm run build && npm run compile-tests" first`);
    process.exit(2);
  }
}
const { RunModel } = require(path.join(root, 'out/src/core/model.js'));
const { RuntimeServer } = require(path.join(root, 'out/src/core/server.js'));
const { RunSession } = require(path.join(root, 'out/src/core/session.js'));
const { PsTreeLister, ProcLister, defaultUsageReader } = require(path.join(root, 'out/src/core/osScan.js'));
const { UsageMeter } = require(path.join(root, 'out/src/core/processUsage.js'));

const results = {
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    python: spawnSync(python, ['-c', 'import sys; print(sys.version.split()[0])'], { encoding: 'utf8' }).stdout.trim(),
    platform: `${process.platform} ${os.release()}`,
  },
  mode: quick ? 'quick' : 'full',
  baseline: baselineCli ? path.dirname(path.dirname(baselineCli)) : null,
  date: new Date().toISOString(),
  sections: {},
};
const table = [];
const row = (section, measure, value, target, note = '') => table.push({ section, measure, value, target, note });

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
const fmt = (n, digits = 3) => (typeof n === 'number' ? n.toFixed(digits) : String(n));

function runCommand(command, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const began = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: programs, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - began) / 1e9;
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      const line = stdout.split('\n').find((l) => l.startsWith('MPTREE_BENCH '));
      resolve({ wallSeconds, report: line ? JSON.parse(line.slice('MPTREE_BENCH '.length)) : null });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 1. Overhead: instrumented ÷ bare, medians of interleaved repeats, timed inside the program.
async function overhead() {
  // 11 pairs: on a shared host single runs swing by several per cent, and the Pool case is
  // bimodal (its two workers and the parent's threads contend for the task queue's lock).
  const repeats = quick ? 3 : 11;
  const cases = [
    { name: 'process start+join, fork', script: 'proc_start.py', args: ['fork', quick ? '100' : '300'], target: 1.1 },
    { name: 'process start+join, spawn', script: 'proc_start.py', args: ['spawn', quick ? '12' : '40'], target: 1.1 },
    // Ten started, then the ten joined, batch after batch: several children live at once,
    // so their exits reach the supervisor, not only join().
    { name: 'fork children ten at a time, then joined', script: 'proc_batch.py', args: ['fork', quick ? '100' : '200', '10'], target: 1.1 },
    { name: 'process start+join, forkserver', script: 'proc_start.py', args: ['forkserver', quick ? '40' : '150'], target: 1.1 },
    { name: 'Queue 1 producer → 1 consumer', script: 'queue_throughput.py', args: [quick ? '30000' : '100000'], target: 1.05 },
    { name: 'Pool(2).map chunksize=1', script: 'pool_map.py', args: [quick ? '5000' : '20000'], target: 1.05 },
    { name: '2 processes × `with lock: counter.value += 1`', script: 'lock_counter.py', args: [quick ? '30000' : '100000'], target: 1.15 },
    { name: 'main → consumer through a bounded Queue(1000)', script: 'queue_bounded.py', args: [quick ? '30000' : '100000'], target: 1.05 },
  ];
  const out = [];
  for (const c of cases.filter((k) => !caseFilter || k.name.includes(caseFilter))) {
    if (onlyCases && !onlyCases.has(c.script.replace(/\.py$/, ''))) continue;
    const bare = [];
    const instrumented = [];
    // CPU seconds of program + children + session, where the program reports them: less
    // sensitive than wall time to a busy (or shared) machine.
    const bareCpu = [];
    const instrumentedCpu = [];
    const baseline = [];
    const baselineCpu = [];
    const through = (cliPath) => () => runCommand(process.execPath, [cliPath, 'run', '--quiet', '--python', python, c.script, ...c.args]);
    for (let i = 0; i < repeats; i++) {
      // Interleaved, and the order rotates, so drift in machine load hits every side alike.
      const sides = [
        ['bare', () => runCommand(python, [c.script, ...c.args]), bare, bareCpu],
        ['instrumented', through(cli), instrumented, instrumentedCpu],
      ];
      if (baselineCli) sides.push(['baseline', through(baselineCli), baseline, baselineCpu]);
      const order = sides.map((_, k) => sides[(k + i) % sides.length]);
      if (!baselineCli && i % 2) order.reverse();
      for (const [, run, seconds, cpu] of order) {
        const { report } = await run();
        seconds.push(report.seconds);
        if (typeof report.cpuSeconds === 'number') cpu.push(report.cpuSeconds);
      }
    }
    const ratio = median(instrumented) / median(bare);
    const cpuRatio = bareCpu.length ? median(instrumentedCpu) / median(bareCpu) : null;
    const baselineRatio = baselineCli ? median(baseline) / median(bare) : null;
    const baselineCpuRatio = baselineCli && bareCpu.length ? median(baselineCpu) / median(bareCpu) : null;
    out.push({
      case: c.name, args: c.args, bareMedianS: median(bare), instrumentedMedianS: median(instrumented), ratio, target: c.target, bare, instrumented,
      ...(cpuRatio === null ? {} : { cpuRatio, bareCpu, instrumentedCpu }),
      ...(baselineRatio === null ? {} : { baselineRatio, baselineCpuRatio, baseline, baselineCpu }),
    });
    row('overhead', c.name, `${fmt(ratio)}×  (${fmt(median(bare) * 1000, 1)} ms → ${fmt(median(instrumented) * 1000, 1)} ms)`, `≤ ${c.target}`, ratio <= c.target ? 'met' : 'MISSED');
    if (cpuRatio !== null) row('overhead', `  same, CPU of program + children + session`, `${fmt(cpuRatio)}×`, 'reported', 'steal time excluded');
    if (baselineRatio !== null) {
      const cpuNote = baselineCpuRatio === null ? '' : `, CPU ${fmt(baselineCpuRatio)}×`;
      row('overhead', `  same, the baseline's runtime`, `${fmt(baselineRatio)}×${cpuNote}`, `this build ≤ it`, ratio <= baselineRatio ? 'not worse' : `this build ${fmt(ratio / baselineRatio)}× of it`);
    }
  }
  results.sections.overhead = { repeats, cases: out };
}

// ---------------------------------------------------------------------------------------------
// 2. Start-up: a whole command's wall time, bare `python3 prog.py` against `mptree run --quiet
// prog.py`, for an empty program (the interpreter by its full path, and `python3` through a
// version manager's shim when PATH has one) and for one Process started and joined.
// Interleaved, the order rotating each round, many rounds: on a shared host single runs swing
// by tens of milliseconds, so the figures are medians.
async function launch() {
  const rounds = quick ? 7 : 31;
  const empty = path.join(programs, 'empty.py');
  fs.writeFileSync(empty, 'pass\n');
  const full = spawnSync(python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  const onPath = (name) => {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        if (fs.statSync(file).isFile()) return file;
      } catch {
        // not here
      }
    }
    return null;
  };
  const shim = onPath('python3');
  const isShim = shim !== null && shim.split(path.sep).includes('shims');
  const cases = [
    { name: 'empty program, interpreter by full path', bare: [full, empty], through: ['--python', full, empty] },
    ...(isShim ? [{ name: `empty program, python3 through a shim (${shim})`, bare: ['python3', empty], through: [empty] }] : []),
    { name: 'one Process started and joined, full path', bare: [full, 'one_child.py'], through: ['--python', full, 'one_child.py'] },
  ];
  if (!isShim) row('start-up', 'python3 through a shim', 'not measured', '', 'python3 on PATH is no version-manager shim');
  const out = [];
  try {
    for (const c of cases) {
      const sides = [
        ['bare', () => runCommand(c.bare[0], c.bare.slice(1))],
        // Node's own start, the floor under any `mptree run`, in the same rounds.
        ['node', () => runCommand(process.execPath, ['-e', ''])],
        ['mptree', () => runCommand(process.execPath, [cli, 'run', '--quiet', ...c.through])],
        ...(baselineCli ? [['baseline', () => runCommand(process.execPath, [baselineCli, 'run', '--quiet', ...c.through])]] : []),
      ];
      const times = Object.fromEntries(sides.map(([name]) => [name, []]));
      // One unmeasured round first: the page cache and any interpreter-check cache warm up, as
      // they are for a user who runs a script many times an hour.
      for (const [, run] of sides) await run();
      for (let i = 0; i < rounds; i++) {
        const order = sides.map((_, k) => sides[(k + i) % sides.length]);
        for (const [name, run] of order) times[name].push((await run()).wallSeconds * 1000);
      }
      const bareMs = median(times.bare);
      const entry = { case: c.name, rounds, bareMs, mptreeMs: median(times.mptree), nodeMs: median(times.node), times };
      entry.addedMs = entry.mptreeMs - bareMs;
      entry.ratio = entry.mptreeMs / bareMs;
      if (baselineCli) {
        entry.baselineMs = median(times.baseline);
        entry.baselineAddedMs = entry.baselineMs - bareMs;
      }
      out.push(entry);
      row('start-up', c.name, `${fmt(bareMs, 0)} → ${fmt(entry.mptreeMs, 0)} ms: +${fmt(entry.addedMs, 0)} ms, ${fmt(entry.ratio, 2)}× (node -e '' alone: ${fmt(entry.nodeMs, 0)} ms)`, '≤ +80 ms', entry.addedMs <= 80 ? 'met' : 'MISSED');
      if (baselineCli) row('start-up', '  same, the baseline', `${fmt(entry.baselineMs, 0)} ms: +${fmt(entry.baselineAddedMs, 0)} ms, ${fmt(entry.baselineMs / bareMs, 2)}×`, 'reported');
    }
  } finally {
    fs.rmSync(empty, { force: true });
  }
  const load = os.loadavg();
  row('start-up', 'host load average during the section (1 / 5 min)', `${fmt(load[0], 2)} / ${fmt(load[1], 2)}`, 'reported', `${os.cpus().length} cores`);
  const vscodeFile = path.join(root, 'out', 'run-start.json');
  const vscode = fs.existsSync(vscodeFile) ? JSON.parse(fs.readFileSync(vscodeFile, 'utf8')) : null;
  row('start-up', 'VS Code: Run with Process Tree → program\'s first line (last integration run)', vscode ? `${fmt(vscode.commandToFirstLineMs, 0)} ms (bare in the same test: ${fmt(vscode.bareMs, 0)} ms)` : 'not measured: run the integration suite first', '≤ +80 ms', vscode ? (vscode.commandToFirstLineMs - vscode.bareMs <= 80 ? 'met' : 'MISSED') : '');
  results.sections.launch = { cases: out, loadAverage: load, vscode };
}

// ---------------------------------------------------------------------------------------------
// 2. Latency: start() returned → in the model; child about to exit → model shows it exited.
async function latency() {
  // [method, processes, how long each child lives (s)]. Children joined at once are reported
  // with their exit; a fork child that lives on is reported by its parent's next tick.
  const methods = quick
    ? [['fork', 100, 0], ['fork', 30, 0.1]]
    : [['fork', 300, 0], ['fork', 100, 0.1], ['spawn', 100, 0]];
  const out = [];
  for (const [method, count, hold] of methods) {
    const label = hold ? `${method}, children living ${hold * 1000} ms` : method;
    const recordFile = path.join(os.tmpdir(), `mptree-latency-${process.pid}-${method}-${hold}.json`);
    const seen = new Map();
    const exited = new Map();
    const session = await RunSession.create({
      target: { script: path.join(programs, 'latency.py'), args: [method, String(count), recordFile, String(hold)] },
      cwd: programs,
      python,
    });
    session.onDidChange((change) => {
      const now = Date.now();
      for (const key of change.processes) {
        const node = session.model.get(key);
        if (!node) continue;
        if (!seen.has(node.pid)) seen.set(node.pid, now);
        if (node.state !== 'running' && !exited.has(node.pid)) exited.set(node.pid, now);
      }
    });
    session.start('ignore');
    await session.ended;
    session.dispose();
    const { records } = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
    fs.rmSync(recordFile, { force: true });
    // The parent reports inside start(), so the model can know a process before start() has
    // even returned to the program: such a latency counts as 0.
    const toModel = records.map((r) => Math.max(0, (seen.get(r.pid) ?? Infinity) - r.startReturned));
    const exitToModel = records.map((r) => Math.max(0, (exited.get(r.pid) ?? Infinity) - r.childExiting));
    const missing = records.filter((r) => !seen.has(r.pid) || !exited.has(r.pid)).length;
    const entry = {
      method,
      childLifeS: hold,
      processes: records.length,
      missing,
      startToModel: { p50: percentile(toModel, 50), p95: percentile(toModel, 95) },
      exitToModel: { p50: percentile(exitToModel, 50), p95: percentile(exitToModel, 95) },
    };
    out.push(entry);
    row('latency', `${label}: start() → model, p50 / p95`, `${fmt(entry.startToModel.p50, 1)} / ${fmt(entry.startToModel.p95, 1)} ms`, 'p95 ≤ 50 ms', entry.startToModel.p95 <= 50 ? 'met' : 'MISSED');
    row('latency', `${label}: exit → model, p50 / p95`, `${fmt(entry.exitToModel.p50, 1)} / ${fmt(entry.exitToModel.p95, 1)} ms`, 'p95 ≤ 50 ms', entry.exitToModel.p95 <= 50 ? 'met' : 'MISSED');
    if (missing) row('latency', `${label}: processes the model never saw`, String(missing), '0', 'MISSED');
  }
  results.sections.latency = out;
}

// ---------------------------------------------------------------------------------------------
// 3. Scale of the TypeScript side: a synthetic stream through the real socket and decoder.
async function scale() {
  const seconds = quick ? 5 : 20;
  const runId = 'bench';
  const model = new RunModel(runId);
  const logger = { log() {} };
  const server = await RuntimeServer.start({ runId, logger, onBatch: (batch) => model.apply(batch.map((b) => b.message)) });
  model.setRootPid(1000, { name: 'MainProcess' });
  const feeder = spawn(process.execPath, [path.join(root, 'bench', 'feeder.mjs')], {
    env: { ...process.env, MPTREE_SOCKET: server.socketPath, MPTREE_TOKEN: server.token, MPTREE_RUN_ID: runId, FEED_SECONDS: String(seconds), FEED_RATE: '20000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let feederReport = '';
  feeder.stdout.on('data', (d) => (feederReport += d));
  // Let the feeder announce its 1,000 processes and 200 queues, then measure the steady stream.
  await new Promise((r) => setTimeout(r, 1500));
  global.gc?.();
  const cpuBefore = process.cpuUsage();
  const wallBefore = process.hrtime.bigint();
  const memory = [];
  const sampler = setInterval(() => memory.push(process.memoryUsage()), 250);
  await new Promise((resolve) => feeder.on('close', resolve));
  clearInterval(sampler);
  const wall = Number(process.hrtime.bigint() - wallBefore) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuShare = (cpu.user + cpu.system) / 1e6 / wall;
  const fed = JSON.parse(feederReport || '{}');

  // The tree's children for 1,000 nodes: the model's listing plus the description each row shows.
  const rootNode = model.processByPid(1000);
  const timings = [];
  let listed = 0;
  for (let i = 0; i < 50; i++) {
    const began = process.hrtime.bigint();
    const children = model.children(rootNode.key);
    const rows = children.map((p) => `${p.name} ${p.pid}${p.daemon ? ' daemon' : ''} ${p.state} ${model.queuesOf(p.key).length}`);
    listed = rows.length;
    timings.push(Number(process.hrtime.bigint() - began) / 1e6);
  }
  const heapPeakMiB = Math.max(...memory.map((m) => m.heapUsed)) / 2 ** 20;
  const rssPeakMiB = Math.max(...memory.map((m) => m.rss)) / 2 ** 20;
  const entry = {
    seconds: wall,
    eventsSent: fed.events ?? null,
    eventsPerSecond: fed.events ? fed.events / wall : null,
    liveProcesses: model.liveProcesses().length,
    queues: model.queues().length,
    exitedKept: model.processes().length - model.liveProcesses().length,
    cpuShareOfOneCore: cpuShare,
    heapPeakMiB,
    rssPeakMiB,
    childrenListing: { nodes: listed, medianMs: median(timings), p95Ms: percentile(timings, 95) },
  };
  server.dispose();
  model.dispose();
  results.sections.scale = entry;
  row('scale', `CPU share of one core at ${fmt(entry.eventsPerSecond ?? 0, 0)} events/s`, `${fmt(cpuShare * 100, 1)} %`, '< 25 %', cpuShare < 0.25 ? 'met' : 'MISSED');
  row('scale', 'memory (peak heap / rss)', `${fmt(heapPeakMiB, 1)} / ${fmt(rssPeakMiB, 1)} MiB`, 'bounded', `${entry.liveProcesses} live, ${entry.queues} queues, ${entry.exitedKept} exited kept`);
  row('scale', `children of one node with ${listed} children, median / p95`, `${fmt(entry.childrenListing.medianMs, 2)} / ${fmt(entry.childrenListing.p95Ms, 2)} ms`, '< 5 ms', entry.childrenListing.p95Ms < 5 ? 'met' : 'MISSED');
}

// ---------------------------------------------------------------------------------------------
// 4. OS scan cost at 1,000 processes: ps-tree next to reading /proc, each alone (the scan of
// before) and with every process's CPU time and memory read and turned into rates (the scan now).
async function osScan() {
  const count = quick ? 300 : 1000;
  // One parent holding `count` sleeping children, so the scan's root has that many descendants.
  const holder = spawn('bash', ['-c', `for i in $(seq ${count}); do sleep 120 & done; wait`], { stdio: 'ignore', detached: true });
  const listers = [new PsTreeLister(), ...(process.platform === 'linux' ? [new ProcLister()] : [])];
  // The baseline's own /proc lister (its compiled out/, when the baseline has one), in the same
  // rounds: a change to the scan is measured side by side with the code it replaces.
  const baselineScan = baselineCli ? path.join(path.dirname(path.dirname(baselineCli)), 'out', 'src', 'core', 'osScan.js') : null;
  if (process.platform === 'linux' && baselineScan && fs.existsSync(baselineScan)) {
    const old = new (require(baselineScan).ProcLister)();
    listers.push({ name: 'proc (baseline)', list: (pid) => old.list(pid), read: (pids) => old.read(pids), usageReader: old });
  }
  try {
    const waitFor = async () => {
      for (let i = 0; i < 200; i++) {
        const found = await listers[0].list(holder.pid);
        if (found.length >= count) return found.length;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the sleeping processes did not all start');
    };
    await waitFor();
    const entry = { processes: count, listers: {} };
    for (const lister of listers) {
      const times = [];
      let found = 0;
      for (let i = 0; i < (quick ? 5 : 15); i++) {
        const began = process.hrtime.bigint();
        found = (await lister.list(holder.pid)).length;
        times.push(Number(process.hrtime.bigint() - began) / 1e6);
      }
      // Interleaved with the listing alone, so both see the same machine load.
      const withUsage = [];
      const alone = [];
      const reader = lister.usageReader ? { name: 'proc', read: (pids) => lister.read(pids) } : defaultUsageReader(lister);
      const meter = new UsageMeter();
      let measured = 0;
      for (let i = 0; i < (quick ? 5 : 15); i++) {
        let began = process.hrtime.bigint();
        await lister.list(holder.pid);
        alone.push(Number(process.hrtime.bigint() - began) / 1e6);
        began = process.hrtime.bigint();
        const listed = await lister.list(holder.pid);
        const usage = meter.update(await reader.read([holder.pid, ...listed.map((p) => p.pid)]), Date.now());
        withUsage.push(Number(process.hrtime.bigint() - began) / 1e6);
        measured = [...usage.values()].filter((u) => u.rssBytes !== null && u.cpuSeconds !== null).length;
      }
      times.push(...alone);
      entry.listers[lister.name] = {
        found, medianMs: median(times), p95Ms: percentile(times, 95),
        withUsage: { reader: reader.name, measured, medianMs: median(withUsage), p95Ms: percentile(withUsage, 95) },
      };
      row('os scan', `${lister.name}, ${count} processes, median / p95`, `${fmt(median(times), 1)} / ${fmt(percentile(times, 95), 1)} ms`, 'reported', `found ${found}`);
      const p95 = percentile(withUsage, 95);
      row('os scan', `  same + CPU and memory (${reader.name}), median / p95`, `${fmt(median(withUsage), 1)} / ${fmt(p95, 1)} ms`, 'p95 < 50 ms', `${p95 < 50 ? 'met' : 'MISSED'}; ${measured} measured`);
    }
    results.sections.osScan = entry;
  } finally {
    try {
      process.kill(-holder.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 4b. `mptree dump` of a live run of 500 processes, each connected and blocked on a lock: the
// whole command (find the run, ask it, every process's stacks, print) as a user times it.
async function dump() {
  const count = quick ? 100 : 500;
  const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-bench-dump-'));
  const env = { ...process.env, XDG_RUNTIME_DIR: xdg };
  const run = spawn(process.execPath, [cli, 'run', '--quiet', path.join(programs, 'many_blocked.py'), String(count)], { env, stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  try {
    await new Promise((resolve, reject) => {
      let out = '';
      run.stdout.on('data', (d) => {
        out += d;
        if (out.includes('ready')) resolve();
      });
      run.once('close', () => reject(new Error('the program ended before it was ready')));
    });
    const times = [];
    let answered = 0;
    for (let i = 0; i < (quick ? 3 : 7); i++) {
      const began = process.hrtime.bigint();
      const out = spawnSync(process.execPath, [cli, 'dump', '--json'], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
      times.push(Number(process.hrtime.bigint() - began) / 1e6);
      if (out.status !== 0) throw new Error(`mptree dump exited ${out.status}: ${out.stderr}`);
      answered = JSON.parse(out.stdout).stacks.processes.filter((p) => p.threads !== null).length;
    }
    results.sections.dump = { processes: count + 1, answered, medianMs: median(times), p95Ms: percentile(times, 95) };
    row('dump', `mptree dump --json, ${count + 1} processes, median / p95`, `${fmt(median(times), 0)} / ${fmt(percentile(times, 95), 0)} ms`, '< 2 s', `${percentile(times, 95) < 2000 ? 'met' : 'MISSED'}; ${answered} answered`);
  } finally {
    try {
      process.kill(-run.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    fs.rmSync(xdg, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Start-up: bundle size, .vsix size, activation time (measured by the integration suite).
async function startup() {
  const bundle = path.join(root, 'dist', 'extension.js');
  // Measure the production bundle: that is what ships.
  spawnSync(process.execPath, [path.join(root, 'esbuild.mjs'), '--production'], { cwd: root, stdio: 'inherit' });
  const entry = { extensionJsBytes: fs.statSync(bundle).size, cliJsBytes: fs.statSync(path.join(root, 'dist', 'cli.js')).size };
  // The same packaging as npm run package (it runs the production build itself).
  const vsce = spawnSync(process.execPath, [path.join(root, 'test', 'harness', 'packageVsix.mjs'), '--out', path.join(os.tmpdir(), 'mptree-bench.vsix')], { cwd: root, encoding: 'utf8' });
  if (vsce.status !== 0) process.stderr.write(`bench: packaging failed: ${vsce.stderr}\n`);
  if (vsce.status === 0) {
    entry.vsixBytes = fs.statSync(path.join(os.tmpdir(), 'mptree-bench.vsix')).size;
    fs.rmSync(path.join(os.tmpdir(), 'mptree-bench.vsix'), { force: true });
  }
  // Restore the development build (with source maps) the tests expect.
  spawnSync(process.execPath, [path.join(root, 'esbuild.mjs')], { cwd: root, stdio: 'inherit' });
  const activationFile = path.join(root, 'out', 'activation.json');
  if (fs.existsSync(activationFile)) entry.activation = JSON.parse(fs.readFileSync(activationFile, 'utf8'));
  const drawFile = path.join(root, 'out', 'timeline-draw.json');
  if (fs.existsSync(drawFile)) entry.timelineDraw = JSON.parse(fs.readFileSync(drawFile, 'utf8'));
  results.sections.startup = entry;
  row('start-up', 'dist/extension.js (minified)', `${fmt(entry.extensionJsBytes / 1024, 1)} KB`, '< 200 KB', entry.extensionJsBytes < 200 * 1024 ? 'met' : 'MISSED');
  if (entry.vsixBytes) row('start-up', '.vsix', `${fmt(entry.vsixBytes / 1024, 1)} KB`, 'reported');
  row('timeline', 'frame with 1,001 lanes, p50 / p95 (last integration run)', entry.timelineDraw ? `${fmt(entry.timelineDraw.p50Ms, 1)} / ${fmt(entry.timelineDraw.p95Ms, 1)} ms` : 'not measured: run npm run test:integration first', '≤ 16 ms (60 fps)', entry.timelineDraw ? (entry.timelineDraw.p95Ms <= 16 ? 'met' : 'MISSED') : '');
  row('start-up', 'activation (last integration run)', entry.activation ? `${fmt(entry.activation.activateMs, 1)} ms` : 'not measured: run npm run test:integration first', 'reported');
}

const sections = { overhead, launch, latency, scale, osScan, dump, startup };
for (const [name, run] of Object.entries(sections)) {
  if (only && !only.has(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  try {
    await run();
  } catch (error) {
    results.sections[name] = { error: String(error?.stack ?? error) };
    row(name, 'error', String(error?.message ?? error).slice(0, 120), '', 'FAILED');
  }
}

const widths = ['section', 'measure', 'value', 'target', 'note'].map((k) => Math.max(k.length, ...table.map((r) => String(r[k]).length)));
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
console.log(line(['section', 'measure', 'value', 'target', 'note']));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of table) console.log(line([r.section, r.measure, r.value, r.target, r.note]));
fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench', 'results', 'latest.json'), JSON.stringify({ ...results, table }, null, 2) + '\n');
console.log(`\nwrote bench/results/latest.json (${results.mode}, ${results.machine.cpus} cores, ${results.machine.cpuModel})`);
