#!/usr/bin/env node
// `npm test`: every test of the project, set up from nothing. It installs what the machine
// lacks (Debian packages where it may, code-server from npm), builds, then runs the suites
// side by side: a few workers take jobs from one list, longest first, since most of the
// suites wait on real processes and sockets more than they compute. Each job's output goes
// to test-results/logs/<job>.log and is printed whole when the job fails; the last lines are
// a table of every job with its time and counts, every skipped test by name, the total time,
// and one closing line "tests: N passed, N failed, N skipped".
//
//   node test/harness/testAll.mjs [--only a,b] [--skip a,b] [--workers N] [--list]
//   (a name given matches every job it begins: --only python3 runs the whole version matrix)
//
// A job that ran no test fails, like one whose tests failed: a suite that silently found
// nothing to run must not look green.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, mkdtempSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPackages } from './systemPackages.mjs';
import { ensureCodeServer } from './installCodeServer.mjs';
import { findPython, SUPPORTED_PYTHONS } from './pythonMatrix.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const logDir = join(root, 'test-results', 'logs');
const started = Date.now();
const seconds = (from) => ((Date.now() - from) / 1000).toFixed(0);

const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const listOption = (name) => option(name)?.split(',').map((s) => s.trim()).filter(Boolean);
const only = listOption('--only');
const skip = listOption('--skip') ?? [];
// Three workers on two cores: the suites spend most of their time waiting (processes
// starting, sockets, a workbench loading), and a fourth made the timing tests' margins the
// thing under test. MPTREE_TEST_WORKERS or --workers changes it.
const workers = Number(option('--workers') ?? process.env.MPTREE_TEST_WORKERS ?? Math.max(2, Math.min(3, availableParallelism() + 1)));

const python = process.env.MPTREE_TEST_PYTHON || 'python3';
// A job that hangs must not hold CI for its whole budget: past this, its process group is
// ended and the job fails with its log. The longest job takes about 5 minutes here.
const jobTimeoutSeconds = Number(process.env.MPTREE_JOB_TIMEOUT_S || 1200);
// Every running job's process group, so an interrupted `npm test` ends them all.
const runningGroups = new Set();
const unittestArgs = ['-m', 'unittest', 'discover', '-s', 'test/python', '-t', '.', '-v'];

// ---------------------------------------------------------------------------------------
// The jobs. `weight` is the seconds each took on the two-core CI machine, used only to start
// the long ones first so the last worker does not finish alone.
function jobs() {
  const list = [
    { name: 'typecheck', weight: 20, kind: 'tsc', cmd: process.execPath, args: [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', '.'] },
    { name: 'unit', weight: 160, kind: 'node', cmd: process.execPath, args: ['--test', 'out/test/unit/'] },
    // Windows' transport, here: the suites whose code it changes (the runtime's connection,
    // the server, the session, the CLI) again over loopback TCP. The integration suite talks to
    // the same RunSession as the CLI does, so it is not run a second time.
    { name: 'unit:tcp', weight: 160, kind: 'node', cmd: process.execPath, args: ['--test', 'out/test/unit/'], env: { MPTREE_TRANSPORT: 'tcp' } },
    // Programs of many hands: the seed tutorials' programs (MPTREE_SEEDS_DIR, else ../shared/seeds
    // beside the clone, else /work/shared/seeds; none: a named skip) and test/fixtures/corpus/, each
    // bare and under mptree per start method, the tree against what the program knew.
    { name: 'corpus', weight: 90, kind: 'node', cmd: process.execPath, args: ['--test', 'out/test/corpus/'] },
    { name: 'python', weight: 80, kind: 'unittest', cmd: python, args: unittestArgs },
    { name: 'python:tcp', weight: 80, kind: 'unittest', cmd: python, args: unittestArgs, env: { MPTREE_TRANSPORT: 'tcp' } },
    // macOS' and Windows' way for the supervisor to wait, forced here on Linux.
    { name: 'python:selectors-waiter', weight: 80, kind: 'unittest', cmd: python, args: unittestArgs, env: { MPTREE_WAITER: 'selectors' } },
    { name: 'python:handles-waiter', weight: 80, kind: 'unittest', cmd: python, args: unittestArgs, env: { MPTREE_WAITER: 'handles' } },
    { name: 'integration', weight: 150, kind: 'integration', cmd: process.execPath, args: ['test/harness/runInCodeServer.mjs'] },
    // The extension in Simplified Chinese: a workbench of its own in zh-cn, only that suite.
    { name: 'integration:zh-cn', weight: 15, kind: 'integration', cmd: process.execPath, args: ['test/harness/runInCodeServer.mjs'], env: { MPTREE_TEST_LOCALE: 'zh-cn', MPTREE_TEST_GREP: 'Simplified Chinese' } },
  ];
  // CPython's own multiprocessing tests, bare and under the runtime, one job per start method.
  for (const method of ['fork', 'spawn', 'forkserver']) {
    list.push({ name: `cpython:${method}`, weight: 70, kind: 'cpython', cmd: python, args: ['test/python/cpython_mp_check.py', '--quick', '--methods', method] });
  }
  // The version matrix: the runtime's suite and the CLI's fixture trees on every supported
  // Python. The interpreter the jobs above use is not run again; a missing one is a named skip.
  const main = interpreterPath(python);
  for (const minor of SUPPORTED_PYTHONS) {
    const found = findPython(minor);
    const name = `python${minor}`;
    if (found.missing) {
      list.push({ name, skipped: found.missing });
      continue;
    }
    if (main && interpreterPath(found.executable) === main) {
      list.push({ name, skipped: `is ${main}, which the jobs above run`, covered: true });
      continue;
    }
    list.push({ name: `${name}:runtime`, weight: 80, kind: 'unittest', cmd: found.command, args: unittestArgs });
    list.push({ name: `${name}:cli-trees`, weight: 60, kind: 'node', cmd: process.execPath, args: ['--test', 'out/test/unit/cli.test.js'], python: found.executable });
  }
  return list;
}

function interpreterPath(command) {
  const r = spawnSync(command, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return null;
  try { return realpathSync(r.stdout.trim()); } catch { return null; }
}

// ---------------------------------------------------------------------------------------
// Reading each runner's counts and skips from its own output.
function countsOf(kind, out) {
  const num = (re) => Number(re.exec(out)?.[1] ?? 0);
  const skippedNames = [];
  if (kind === 'node') {
    for (const m of out.matchAll(/^\s*ok \d+ - (.*?) # SKIP\s*(.*)$/gm)) skippedNames.push(`${m[1]}${m[2] ? ` (${m[2]})` : ''}`);
    const fail = num(/^# fail (\d+)$/m) + num(/^# cancelled (\d+)$/m);
    return { passed: num(/^# pass (\d+)$/m), failed: fail, skipped: num(/^# skipped (\d+)$/m), skippedNames };
  }
  if (kind === 'unittest') {
    // "test_x (module.Class.test_x) ... skipped 'why'" (before 3.11: "(module.Class)").
    for (const m of out.matchAll(/^(\w+) \(([\w.]+)\)(?:\n.*?)? \.\.\. skipped '?(.*?)'?$/gm)) {
      skippedNames.push(`${m[2].endsWith(`.${m[1]}`) ? m[2] : `${m[2]}.${m[1]}`} (${m[3]})`);
    }
    const ran = num(/^Ran (\d+) tests? in/m);
    const verdict = /^(OK|FAILED)(?: \((.*)\))?$/m.exec(out);
    const part = (key) => Number(new RegExp(`${key}=(\\d+)`).exec(verdict?.[2] ?? '')?.[1] ?? 0);
    const failed = part('failures') + part('errors') + part('unexpected successes') + (verdict ? 0 : 1);
    const skipped = part('skipped');
    return { passed: Math.max(0, ran - failed - skipped - part('expected failures')), failed, skipped, skippedNames };
  }
  if (kind === 'integration') {
    const m = /^integration: (\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/m.exec(out);
    for (const p of out.matchAll(/^\s+- (.+)$/gm)) skippedNames.push(p[1]);
    return { passed: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? 0), skipped: Number(m?.[3] ?? 0), skippedNames };
  }
  if (kind === 'cpython') {
    const m = /^\S+\s+tests\s+(\d+)\s+bare ok\s+\d+.*differences (\d+)/m.exec(out);
    return { passed: m ? Number(m[1]) - Number(m[2]) : 0, failed: m ? Number(m[2]) : 0, skipped: 0, skippedNames };
  }
  // tsc: one "test", failed when it printed errors.
  const errors = (out.match(/error TS\d+/g) ?? []).length;
  return { passed: errors ? 0 : 1, failed: errors, skipped: 0, skippedNames };
}

function runJob(job) {
  return new Promise((resolveJob) => {
    const from = Date.now();
    const safe = job.name.replace(/[^\w.-]+/g, '-');
    const logFile = join(logDir, `${safe}.log`);
    const log = createWriteStream(logFile);
    let out = '';
    const env = { ...process.env, ...job.env };
    let bin = null;
    if (job.python) {
      // mptree run finds `python3` on PATH, so a folder with that name for this version,
      // first on PATH, makes every CLI test run its programs with it.
      bin = mkdtempSync(join(tmpdir(), 'mptree-python-'));
      symlinkSync(job.python, join(bin, 'python3'));
      env.PATH = `${bin}${delimiter}${env.PATH ?? ''}`;
    }
    // Its own process group: a timeout or an interrupt ends the job and all it started.
    const child = spawn(job.cmd, job.args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    runningGroups.add(child.pid);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      take(`\n[test] ${job.name} still running after ${jobTimeoutSeconds} s: ending its process group\n`);
      // What was left running, and where each process waits in the kernel: what a hang seen
      // once in CI can be read from.
      const ps = spawnSync('ps', ['-o', 'pid,ppid,stat,wchan:24,etimes,args', '-g', String(child.pid)], { encoding: 'utf8' });
      take(`${ps.stdout ?? ''}\n`);
      endGroup(child.pid, 'SIGTERM');
      setTimeout(() => endGroup(child.pid, 'SIGKILL'), 5000).unref();
    }, jobTimeoutSeconds * 1000);
    const take = (d) => { out += d; log.write(d); };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => take(`\n[test] could not start ${job.cmd}: ${err.message}\n`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      runningGroups.delete(child.pid);
      // Whatever the job left in its group (a grandchild that outlived it) goes with it.
      endGroup(child.pid, 'SIGKILL');
      log.end();
      if (bin) rmSync(bin, { recursive: true, force: true });
      const counts = countsOf(job.kind, out);
      const ranNothing = counts.passed + counts.failed === 0;
      const ok = !timedOut && code === 0 && counts.failed === 0 && !ranNothing;
      const why = ok ? '' : timedOut ? `timed out after ${jobTimeoutSeconds} s` : ranNothing ? 'ran no test' : code !== 0 ? `exit ${signal ?? code}` : 'tests failed';
      resolveJob({ job, ok, why, counts, secs: (Date.now() - from) / 1000, out, logFile });
    });
  });
}

function endGroup(pgid, signal) {
  try { process.kill(-pgid, signal); } catch { /* the group is gone already */ }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    for (const pgid of runningGroups) endGroup(pgid, 'SIGKILL');
    console.log(`\n[test] ${signal}: ended ${runningGroups.size} running job(s)`);
    process.exit(130);
  });
}

function describe(r) {
  const c = r.counts;
  return `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;
}

// ---------------------------------------------------------------------------------------
function npm(args) {
  return new Promise((resolveRun, reject) => {
    const child = spawn('npm', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('close', (code) => (code === 0 ? resolveRun() : reject(new Error(`npm ${args.join(' ')} failed (exit ${code})`))));
  });
}

async function setUp() {
  const from = Date.now();
  // `npm test` on a clone nobody set up yet: the npm packages first (the README's first
  // command does this too; repeating it would only cost time).
  if (!existsSync(join(root, 'node_modules', 'typescript', 'package.json'))) {
    console.log('[setup] node_modules is missing: npm ci');
    await npm(['ci', '--no-audit', '--no-fund', '--loglevel=error']);
  }
  const problem = ensureSystemPackages();
  if (problem) throw new Error(problem);
  // The build and code-server's install (about 40 s the first time) do not depend on each other.
  // tsc writes the tests' JavaScript even with type errors; those are the typecheck job's
  // to report, with the other jobs still running.
  const build = npm(['run', '--silent', 'build']).then(() => npm(['run', '--silent', 'compile-tests']).catch(() => {}));
  const needsWorkbench = !only || only.includes('integration');
  await Promise.all([build, needsWorkbench ? ensureCodeServer() : null]);
  console.log(`[test] set up in ${seconds(from)} s`);
}

async function main() {
  const all = jobs();
  if (argv.includes('--list')) {
    for (const j of all) console.log(j.skipped ? `${j.name} (skipped: ${j.skipped})` : j.name);
    return 0;
  }
  // A job's exact name picks that job alone; anything else picks every job it begins.
  const names = new Set(all.map((j) => j.name));
  const picks = (pattern, name) => name === pattern || (!names.has(pattern) && name.startsWith(pattern));
  const selected = all.filter((j) => (!only || only.some((o) => picks(o, j.name)))
    && !skip.some((s) => picks(s, j.name)));
  if (selected.length === 0) throw new Error(`no job matches --only ${only} (see --list)`);
  await setUp();
  mkdirSync(logDir, { recursive: true });

  const queue = selected.filter((j) => !j.skipped).sort((a, b) => b.weight - a.weight);
  console.log(`[test] ${queue.length} jobs on ${workers} workers; logs in ${logDir}`);
  const results = [];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      console.log(`[test] start  ${job.name}  (${seconds(started)} s)`);
      const r = await runJob(job);
      results.push(r);
      console.log(`[test] ${r.ok ? 'ok   ' : 'FAIL '} ${job.name}: ${describe(r)}, ${r.secs.toFixed(0)} s${r.ok ? '' : ` (${r.why}; log ${r.logFile})`}`);
      if (!r.ok) {
        console.log(`----- output of ${job.name} -----\n${r.out.trimEnd()}\n----- end of ${job.name} -----`);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));

  const failed = results.filter((r) => !r.ok);
  // A job that failed without a failing test (a crash, no test found) still counts as one.
  const total = results.reduce((t, r) => ({
    passed: t.passed + r.counts.passed,
    failed: t.failed + (r.ok ? r.counts.failed : Math.max(1, r.counts.failed)),
    skipped: t.skipped + r.counts.skipped,
  }), { passed: 0, failed: 0, skipped: 0 });
  console.log('\n=== test jobs');
  for (const r of results.sort((a, b) => b.secs - a.secs)) {
    console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.secs.toFixed(0).padStart(4)} s  ${r.job.name}: ${describe(r)}`);
  }
  const skippedJobs = selected.filter((j) => j.skipped);
  const skippedTests = results.flatMap((r) => r.counts.skippedNames.map((n) => `${r.job.name}: ${n}`));
  if (skippedJobs.length || skippedTests.length) {
    console.log('\n=== skipped');
    for (const j of skippedJobs) console.log(`job ${j.name}: ${j.skipped}`);
    for (const s of skippedTests) console.log(s);
  }
  // In CI a version of the matrix that is missing is a lost check, not a detail.
  const lostVersions = skippedJobs.filter((j) => !j.covered);
  if (process.env.CI && lostVersions.length) {
    console.log(`\n[test] CI: ${lostVersions.length} job(s) could not run here: ${lostVersions.map((j) => j.name).join(', ')}`);
  }
  console.log(`\n[test] ${results.length} jobs, ${failed.length} failed, in ${seconds(started)} s (${workers} workers)`);
  if (failed.length) console.log(`[test] failed: ${failed.map((r) => `${r.job.name} (${r.why})`).join(', ')}`);
  console.log(`tests: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
  return failed.length || (process.env.CI && lostVersions.length) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => { console.error(`[test] ${err.message}`); process.exit(1); },
);
