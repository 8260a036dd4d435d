// Starts code-server (VS Code 1.100.3's server) on a free loopback port and opens its web
// workbench in Debian's Chromium through playwright-core, optionally with a test payload, as
// shared/notes/offline-vscode.md describes. Everything started here is killed again on close,
// error, timeout or signal: code-server's whole process tree (extension host, pty host,
// terminals and whatever they spawned) and the browser.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, createWriteStream, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { configFile, entryJs, ensureCodeServer } from './installCodeServer.mjs';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixtureWorkspace = join(repoRoot, 'test', 'fixtures', 'workspace');
const stateRoot = join(repoRoot, '.vscode-test');

// As root on a network that refuses everything but loopback, Chromium needs these (the notes).
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage',
];

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

// User settings for every run: no welcome page, tips or recommendations on top of the view
// under test, and nothing that tries to reach the network.
const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.ignoreRecommendations': true,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'chat.commandCenter.enabled': false,
  'window.commandCenter': false,
  'git.openRepositoryInParentFolders': 'never',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// pid -> parent pid for every live process, from /proc (no ps needed, nothing to install).
function processTable() {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields after the last ')' are safe.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(name), { ppid: Number(fields[1]), pgid: Number(fields[2]) });
    } catch { /* exited meanwhile */ }
  }
  return table;
}

// The root, its descendants, and every member of its process group. Terminals run under
// setsid and so leave the group, which is why the parent links are followed as well.
export function processTree(rootPid) {
  const table = processTable();
  const found = new Set(table.has(rootPid) ? [rootPid] : []);
  for (const [pid, { pgid }] of table) if (pgid === rootPid) found.add(pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, { ppid }] of table) {
      if (!found.has(pid) && found.has(ppid)) { found.add(pid); grew = true; }
    }
  }
  return [...found];
}

function signalAll(pids, signal) {
  for (const pid of pids) {
    try { process.kill(pid, signal); } catch { /* already gone */ }
  }
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

// SIGTERM to the whole tree at once, SIGKILL to whatever still lives after the grace period.
// The tree is read before anything dies, since orphans are re-parented and lose their link.
export async function killTree(rootPid, graceMs = 3000) {
  const pids = processTree(rootPid);
  if (pids.length === 0) return;
  signalAll(pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(alive)) await sleep(100);
  // Anything the tree started during the grace period is caught here too.
  const rest = [...new Set([...pids.filter(alive), ...processTree(rootPid)])];
  signalAll(rest, 'SIGKILL');
}

const chromiumPath = process.env.MPTREE_CHROMIUM ?? '/usr/bin/chromium';

// Direct children of this process. (Debian's /usr/bin/chromium is a shell script that execs
// the real binary, so the browser is recognised as the child that launching added.)
function directChildren() {
  return [...processTable()].filter(([, { ppid }]) => ppid === process.pid).map(([pid]) => pid);
}

// Everything started by any session in this process, for the signal and exit handlers.
const liveSessions = new Set();
let handlersInstalled = false;

function installProcessHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.on(signal, () => {
      console.error(`[code-server] ${signal}: shutting down`);
      Promise.allSettled([...liveSessions].map((s) => s.close()))
        .finally(() => process.exit(128 + number));
    });
  }
  // Last resort when the process exits without awaiting close(): synchronous SIGKILLs.
  process.on('exit', () => {
    for (const session of liveSessions) session.killNow();
  });
}

// Starts code-server and a browser on the workbench. Options:
//   workspace: folder to open (default: test/fixtures/workspace)
//   extensionDevelopmentPath: extension folder to load for development (default: repo root; null for none)
//   extensionTestsPath: test module whose run() the extension host calls (omit to just open the workbench)
//   env: extra environment for code-server and so for the extension host
//   onLog(line): output of the extension host and workbench (default: console.log)
//   settings: user settings added to DEFAULT_SETTINGS
//   viewport: browser window size
//   locale: the display language (e.g. 'zh-cn'; see useDisplayLanguage); default English
//   name: label for the state folders under .vscode-test/
// The display language, as code-server 4.100.3 (VS Code 1.100.3) decides it. `--locale` (or
// `locale` in User/argv.json) names the language asked for, but the server only resolves it
// through a language pack: without one in <user-data>/languagepacks.json it falls back to
// 'en', and then vscode.env.language is 'en' and no extension's l10n bundle is loaded. The
// real pack (MS-CEINTL.vscode-language-pack-zh-hans) would translate VS Code's own UI too but
// must be downloaded; for testing an extension's own strings an entry with an empty
// translation file is enough: the workbench stays in English (every message falls back),
// while vscode.env.language is the locale and VS Code loads l10n/bundle.l10n.<locale>.json.
function useDisplayLanguage(userDataDir, runDir, locale) {
  const translations = join(runDir, 'empty-language-pack', 'main.i18n.json');
  mkdirSync(dirname(translations), { recursive: true });
  writeFileSync(translations, JSON.stringify({ version: '1.0.0', contents: {} }) + '\n');
  writeFileSync(join(userDataDir, 'User', 'argv.json'), JSON.stringify({ locale }) + '\n');
  writeFileSync(join(userDataDir, 'languagepacks.json'), JSON.stringify({
    // The workbench reads the pack's extension id (extension scanning fails without one).
    [locale]: {
      hash: `mptree-test-${locale}`,
      extensions: [{ extensionIdentifier: { id: 'mptree-test.empty-language-pack' }, version: '1.0.0' }],
      translations: { vscode: translations },
      label: locale,
    },
  }) + '\n');
}

export async function openWorkbench(options = {}) {
  installProcessHandlers();
  await ensureCodeServer();
  const {
    workspace = fixtureWorkspace,
    extensionDevelopmentPath = repoRoot,
    extensionTestsPath,
    env = {},
    onLog = (line) => console.log(line),
    settings = {},
    viewport = { width: 1400, height: 900 },
    name = 'run',
    verbose = !!process.env.MPTREE_HARNESS_VERBOSE,
    locale = null,
  } = options;

  // Fresh user data and extensions for every run, so no state leaks between runs. The folder
  // is named by pid since several runs may share this working tree at once; it stays after
  // the run for its logs, and the next run removes those whose process has gone.
  removeStaleRunDirs();
  const runDir = join(stateRoot, 'runs', `${name}-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  const userDataDir = join(runDir, 'user-data');
  const extensionsDir = join(runDir, 'extensions');
  for (const d of [extensionsDir, join(userDataDir, 'User')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2) + '\n');
  // A remote window (code-server is one) reads machine-scoped settings (mptree.pythonPath is
  // machine-overridable) from the machine's settings, not the user's: the caller's go there too.
  mkdirSync(join(userDataDir, 'Machine'), { recursive: true });
  writeFileSync(join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
  if (locale) useDisplayLanguage(userDataDir, runDir, locale);
  const serverLog = join(runDir, 'code-server.log');
  if (!existsSync(workspace)) throw new Error(`workspace folder ${workspace} does not exist`);

  const port = await freePort();
  const authority = `127.0.0.1:${port}`;
  const args = [
    entryJs, '--config', configFile, '--auth', 'none', '--bind-addr', authority,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir,
    ...(locale ? ['--locale', locale] : []),
    workspace,
  ];
  // detached: code-server leads its own process group, so the group can be found and killed
  // as one even after a child is re-parented.
  const server = spawn(process.execPath, args, {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const serverOut = createWriteStream(serverLog);
  let serverExit = null;
  const serverExited = new Promise((r) => server.on('exit', (code, signal) => { serverExit = { code, signal }; r(serverExit); }));
  for (const stream of [server.stdout, server.stderr]) {
    stream.on('data', (chunk) => {
      serverOut.write(chunk);
      if (verbose) process.stderr.write(`[code-server] ${chunk}`);
    });
  }

  let browser = null;
  let browserPid = null;
  let closed = false;
  const session = {
    port, authority, serverLog, runDir, server, page: null, browser: null,
    killNow() {
      // Synchronous: only usable from process.on('exit').
      if (server.exitCode === null) signalAll(processTree(server.pid), 'SIGKILL');
      if (browserPid) signalAll(processTree(browserPid), 'SIGKILL');
    },
    async close() {
      if (closed) return;
      closed = true;
      liveSessions.delete(session);
      // The browser first, so the workbench stops talking to a dying server.
      if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
      if (browserPid) await killTree(browserPid, 1000);
      await killTree(server.pid);
      serverOut.end();
    },
  };
  liveSessions.add(session);

  try {
    await waitForServer(`http://${authority}/healthz`, serverExited, serverLog, 60_000);

    const url = new URL(`http://${authority}/`);
    url.searchParams.set('folder', workspace);
    const payload = [['skipWelcome', 'true']];
    if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', `vscode-remote://${authority}${extensionDevelopmentPath}`]);
    if (extensionTestsPath) payload.push(['extensionTestsPath', `vscode-remote://${authority}${extensionTestsPath}`]);
    url.searchParams.set('payload', JSON.stringify(payload));

    const before = new Set(directChildren());
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: CHROMIUM_ARGS,
      headless: true,
      // Our own handlers close code-server too; Playwright's would only close the browser.
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    });
    session.browser = browser;
    // Playwright's Browser does not expose its process; find it among our children, so that a
    // browser that ignores close() is killed all the same. (Two sessions launching at once in
    // one process could confuse this; the harness scripts open one at a time.)
    browserPid = directChildren().find((pid) => !before.has(pid) && pid !== server.pid) ?? null;
    session.browserPid = browserPid;
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    session.page = page;

    let resolveExit;
    session.exitCode = new Promise((r) => { resolveExit = r; });
    // A workbench opened without tests never reports; its rejection must not crash the process.
    session.exitCode.catch(() => {});
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const text = (Array.isArray(args) ? args : [args]).map(formatArg).join(' ');
      for (const line of text.split('\n')) onLog(line, type);
    });
    await page.exposeFunction('codeAutomationExit', (code) => { resolveExit(code); });
    if (verbose) page.on('console', (msg) => process.stderr.write(`[browser ${msg.type()}] ${msg.text()}\n`));
    page.on('pageerror', (err) => { if (verbose) process.stderr.write(`[browser pageerror] ${err.message}\n`); });
    // A server that dies under the workbench can never report an exit code.
    serverExited.then((e) => { if (!closed) resolveExit(Promise.reject(new Error(`code-server exited early (${e.signal ?? e.code}); see ${serverLog}`))); });

    await page.goto(url.toString(), { waitUntil: 'domcontentloaded' });
    session.url = url.toString();
    return session;
  } catch (err) {
    await session.close();
    throw err;
  }
}

function removeStaleRunDirs() {
  const runs = join(stateRoot, 'runs');
  if (!existsSync(runs)) return;
  for (const entry of readdirSync(runs)) {
    const pid = Number(/-(\d+)$/.exec(entry)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) rmSync(join(runs, entry), { recursive: true, force: true });
  }
}

function formatArg(arg) {
  if (typeof arg === 'string') return arg;
  try { return JSON.stringify(arg); } catch { return String(arg); }
}

async function waitForServer(url, serverExited, serverLog, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  serverExited.then(() => { exited = true; });
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`code-server exited before answering. Its output:\n${tailOf(serverLog)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await sleep(200);
  }
  throw new Error(`code-server did not answer ${url} within ${timeoutMs / 1000} s. Its output:\n${tailOf(serverLog)}`);
}

function tailOf(file, lines = 30) {
  try { return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n'); } catch { return '(no output)'; }
}

// Rejects after ms with a clear message; the caller closes the session in its finally.
export function timeout(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`)), ms);
  });
  promise.cancel = () => clearTimeout(timer);
  return promise;
}
