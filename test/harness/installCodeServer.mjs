#!/usr/bin/env node
// Installs code-server 4.100.3 (VS Code 1.100.3's server and web workbench) into
// .vscode-test/code-server/ without any download but the npm registry, following
// shared/notes/offline-vscode.md. code-server's own postinstall cannot run here (root + npm 11
// ignores --unsafe-perm, and several native modules fetch prebuilt binaries from GitHub), so
// each native piece is built by hand against the machine's Node headers.
//
// Usage: node test/harness/installCodeServer.mjs [--force]
// As a module: `await ensureCodeServer()` returns the path of code-server's entry.js.
import { spawn, execFileSync } from 'node:child_process';
import {
  existsSync, mkdirSync, rmSync, writeFileSync, readFileSync, copyFileSync, chmodSync,
  symlinkSync, lstatSync, openSync, closeSync, appendFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
export const VSCODE_VERSION = '1.100.3';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const installDir = join(repoRoot, '.vscode-test', 'code-server');
const markerFile = join(installDir, '.installed');
const logFile = join(installDir, 'install.log');
const csDir = join(installDir, 'node_modules', 'code-server');
const vscodeDir = join(csDir, 'lib', 'vscode');
export const entryJs = join(csDir, 'out', 'node', 'entry.js');
// code-server writes a default config into ~/.config unless given one: keep it in the cache.
export const configFile = join(installDir, 'config.yaml');

const log = (msg) => console.log(`[code-server install] ${msg}`);

export function isInstalled() {
  return existsSync(markerFile) && existsSync(entryJs)
    && readFileSync(markerFile, 'utf8').trim() === CODE_SERVER_VERSION;
}

// Runs a command with its output going to install.log; on failure the log's tail is printed,
// because the interesting line of a node-gyp or npm failure is near the end.
function run(cmd, args, cwd, env = {}) {
  return new Promise((resolvePromise, reject) => {
    appendFileSync(logFile, `\n$ (cd ${cwd} && ${cmd} ${args.join(' ')})\n`);
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
    closeSync(fd);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) return resolvePromise();
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
      reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed with `
        + `${signal ?? `exit code ${code}`}. Last lines of ${logFile}:\n${tail}`));
    });
  });
}

async function step(title, fn) {
  const started = Date.now();
  log(`${title}…`);
  await fn();
  log(`${title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// Node's headers ship with Debian's nodejs under /usr/include/node; pointing node-gyp there
// keeps it from downloading a header tarball.
function nodeHeadersDir() {
  const candidates = [process.env.npm_config_nodedir, dirname(dirname(process.execPath)), '/usr'];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, 'include', 'node', 'node_version.h'))) return dir;
  }
  throw new Error('Node.js headers not found (looked for include/node/node_version.h under '
    + `${candidates.filter(Boolean).join(', ')}). On Debian: apt-get install nodejs headers `
    + 'or set npm_config_nodedir.');
}

function nodeGypJs() {
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const candidates = [
    join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`npm's bundled node-gyp not found (looked at ${candidates.join(', ')})`);
  return found;
}

function checkPrerequisites() {
  const missing = [];
  for (const [bin, pkg] of [['/usr/bin/rg', 'ripgrep'], ['/usr/bin/chromium', 'chromium']]) {
    if (!existsSync(bin)) missing.push(pkg);
  }
  if (!existsSync('/usr/include/krb5.h') && !existsSync('/usr/include/gssapi/gssapi.h')) missing.push('libkrb5-dev');
  if (missing.length) {
    throw new Error(`missing Debian packages: ${missing.join(' ')} `
      + `(apt-get install -y ${missing.join(' ')}; npm test does this itself as root)`);
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 20) {
    log(`warning: code-server ${CODE_SERVER_VERSION} declares Node 20; this is Node ${process.versions.node}`);
  }
}

let reportedInstalled = false;
const lockFile = join(installDir, '..', 'code-server.install.lock');

// Several people and CI share one working tree here: only one process installs at a time, and
// the others wait for it rather than wiping the folder under it.
async function withInstallLock(fn) {
  mkdirSync(dirname(lockFile), { recursive: true });
  const deadline = Date.now() + 10 * 60_000;
  let told = false;
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lockFile, 'utf8')) || 0;
      let holderAlive = false;
      try { process.kill(holder, 0); holderAlive = holder > 0; } catch { /* gone */ }
      if (!holderAlive) { rmSync(lockFile, { force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`process ${holder} has held ${lockFile} for 10 minutes`);
      if (!told) log(`waiting for process ${holder}, which is installing code-server…`);
      told = true;
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
  try { return await fn(); } finally { rmSync(lockFile, { force: true }); }
}

export async function ensureCodeServer({ force = false } = {}) {
  if (!force && isInstalled()) {
    if (!reportedInstalled) log(`code-server ${CODE_SERVER_VERSION} already installed in ${installDir}`);
    reportedInstalled = true;
    return entryJs;
  }
  return withInstallLock(() => (!force && isInstalled() ? entryJs : install()));
}

async function install() {
  checkPrerequisites();
  const started = Date.now();
  const nodedir = nodeHeadersDir();
  const nodeGyp = nodeGypJs();
  // A half-finished earlier attempt is not trusted: start from an empty folder.
  rmSync(installDir, { recursive: true, force: true });
  mkdirSync(installDir, { recursive: true });
  writeFileSync(logFile, '');
  // Without a package.json here npm would walk up and install into the repository's own.
  writeFileSync(join(installDir, 'package.json'),
    JSON.stringify({ name: 'mptree-code-server-cache', private: true }, null, 2) + '\n');
  log(`installing code-server ${CODE_SERVER_VERSION} into ${installDir} (log: ${logFile})`);
  const gypEnv = { npm_config_nodedir: nodedir };
  const gyp = (dir) => run(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '-j', 'max'], dir, gypEnv);

  await step(`npm install --ignore-scripts code-server@${CODE_SERVER_VERSION}`, () =>
    run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error',
      `code-server@${CODE_SERVER_VERSION}`], installDir));

  await step('build argon2 from source', () => {
    const dir = join(installDir, 'node_modules', 'argon2');
    return run(process.execPath, [join(dir, '..', '@mapbox', 'node-pre-gyp', 'bin', 'node-pre-gyp'),
      'install', '--build-from-source', `--nodedir=${nodedir}`], dir, gypEnv);
  });

  await step('npm install --omit=dev --ignore-scripts in lib/vscode', () =>
    run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], vscodeDir));

  for (const mod of ['node-pty', '@vscode/spdlog', 'kerberos', 'native-watchdog']) {
    await step(`node-gyp rebuild ${mod}`, () => gyp(join(vscodeDir, 'node_modules', mod)));
  }

  await step('ripgrep: use Debian\'s /usr/bin/rg', () => {
    const binDir = join(vscodeDir, 'node_modules', '@vscode', 'ripgrep', 'bin');
    mkdirSync(binDir, { recursive: true });
    copyFileSync('/usr/bin/rg', join(binDir, 'rg'));
    chmodSync(join(binDir, 'rg'), 0o755);
  });

  await step('node_modules.asar symlink', () => {
    const link = join(vscodeDir, 'node_modules.asar');
    try { if (lstatSync(link)) rmSync(link, { recursive: true, force: true }); } catch { /* absent */ }
    symlinkSync('node_modules', link);
  });

  await step('npm install --omit=dev --ignore-scripts in lib/vscode/extensions', () =>
    run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
      join(vscodeDir, 'extensions')));

  await step('check version', () => {
    writeFileSync(configFile, 'auth: none\ncert: false\n');
    const out = execFileSync(process.execPath, [entryJs, '--config', configFile, '--version'], { encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.includes(`with Code ${VSCODE_VERSION}`));
    if (!line || !line.startsWith(CODE_SERVER_VERSION)) {
      throw new Error(`unexpected code-server --version output: ${out}`);
    }
    log(line.trim());
  });

  writeFileSync(markerFile, CODE_SERVER_VERSION + '\n');
  log(`installed code-server ${CODE_SERVER_VERSION} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return entryJs;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  ensureCodeServer({ force: process.argv.includes('--force') }).catch((err) => {
    console.error(`[code-server install] FAILED: ${err.message}`);
    process.exit(1);
  });
}
