// The Python version matrix: the runtime's Python suite (test/python) and the CLI's fixture
// trees (out/test/unit/cli.test.js, real programs through dist/cli.js) on every Python the
// runtime supports. A version this machine lacks is skipped with the reason; a version that
// fails fails the whole run, after the others ran.
//
//   node test/harness/pythonMatrix.mjs [--versions 3.8,3.12] [--no-cli]
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SUPPORTED_PYTHONS = ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13'];
const cliTests = path.join(root, 'out', 'test', 'unit', 'cli.test.js');

/** What `python -c` says of itself: "3.12.1 /path/to/python3.12", or null. */
function probe(command) {
  const r = spawnSync(command, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3], sys.executable)'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.status !== 0 || !r.stdout) return null;
  const [version, executable] = r.stdout.trim().split(' ');
  return { version, executable };
}

/** pyenv's builds first (newest patch release), then `python3.X` on PATH. */
export function findPython(minor) {
  const looked = [];
  const pyenvRoot = process.env.PYENV_ROOT || path.join(os.homedir(), '.pyenv');
  const versionsDir = path.join(pyenvRoot, 'versions');
  looked.push(path.join(versionsDir, `${minor}.*`, 'bin', 'python3'));
  let builds = [];
  try {
    builds = fs.readdirSync(versionsDir).filter((d) => d.startsWith(`${minor}.`) && /^\d+\.\d+\.\d+$/.test(d));
  } catch {
    // No pyenv here.
  }
  builds.sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]));
  const candidates = builds.map((d) => path.join(versionsDir, d, 'bin', 'python3'));
  for (const dir of (process.env.PATH || '').split(path.delimiter).filter(Boolean)) {
    candidates.push(path.join(dir, `python${minor}`));
  }
  looked.push(`python${minor} on PATH`);
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) continue;
    const info = probe(candidate);
    // A `python3.X` that is really another version (a stray link) is not that version.
    if (info && info.version.split('.').slice(0, 2).join('.') === minor) return { command: candidate, ...info };
  }
  return { missing: `not found (looked for ${looked.join(' and ')})` };
}

/** Runs a command, its output kept (and shown only when it fails). */
function run(command, args, env) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code, signal) => resolve({ code, signal, out, seconds: (Date.now() - started) / 1000 }));
  });
}

// unittest's last lines: "Ran 61 tests in 38.2s" then "OK (skipped=2)" or "FAILED (failures=1)".
function unittestSummary(out) {
  const ran = /^Ran (\d+) tests? in/m.exec(out);
  const verdict = /^(OK|FAILED)( \(.*\))?$/m.exec(out);
  return `${ran ? ran[1] : '?'} tests, ${verdict ? verdict[0] : 'no verdict'}`;
}

// node:test's summary lines: "# pass 9", "# fail 0", "# skipped 0".
function nodeTestSummary(out) {
  const count = (name) => new RegExp(`^# ${name} (\\d+)$`, 'm').exec(out)?.[1] ?? '?';
  return `${count('pass')} passed, ${count('fail')} failed`;
}

async function main() {
  const argv = process.argv.slice(2);
  const option = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const wanted = option('--versions')?.split(',').filter(Boolean) ?? SUPPORTED_PYTHONS;
  const withCli = !argv.includes('--no-cli');
  const lines = [];
  let failed = false;
  for (const minor of wanted) {
    const found = findPython(minor);
    if (found.missing) {
      lines.push(`python ${minor}: SKIPPED, ${found.missing}`);
      console.log(`\n--- python ${minor}: skipped, ${found.missing}`);
      continue;
    }
    console.log(`\n--- python ${found.version} (${found.command})`);
    // The suite's children use sys.executable, so the interpreter running it is the one tested.
    const suite = await run(found.command, ['-m', 'unittest', 'discover', '-s', 'test/python', '-t', '.'], { ...process.env });
    const suiteOk = suite.code === 0;
    let line = `python ${found.version}: runtime suite ${unittestSummary(suite.out)} (${suite.seconds.toFixed(0)} s)`;
    if (!suiteOk) console.log(suite.out);
    let cliOk = true;
    if (withCli && fs.existsSync(cliTests)) {
      // mptree run finds `python3` on PATH (src/core/python.ts), so a folder with that name
      // for this version, first on PATH, makes every CLI test run its programs with it.
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-matrix-'));
      fs.symlinkSync(found.executable, path.join(bin, 'python3'));
      const cli = await run(process.execPath, ['--test', cliTests], {
        ...process.env,
        PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
      });
      fs.rmSync(bin, { recursive: true, force: true });
      cliOk = cli.code === 0;
      line += `; CLI fixture trees ${nodeTestSummary(cli.out)} (${cli.seconds.toFixed(0)} s)`;
      if (!cliOk) console.log(cli.out);
    } else if (withCli) {
      // A pass that cannot run is a failure, not a quiet omission.
      line += '; CLI fixture trees NOT RUN (out/test/unit/cli.test.js missing: npm run build && npm run compile-tests)';
      cliOk = false;
    }
    line = `${line}: ${suiteOk && cliOk ? 'ok' : 'FAILED'}`;
    failed ||= !(suiteOk && cliOk);
    console.log(line);
    lines.push(line);
  }

  console.log('\n=== Python version matrix');
  for (const line of lines) console.log(line);
  const ran = lines.filter((l) => !l.includes('SKIPPED')).length;
  if (ran === 0) console.log('no supported Python version was found: the matrix ran nothing');
  process.exitCode = failed || ran === 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
