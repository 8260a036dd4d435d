#!/usr/bin/env node
// npm run test:integration: runs the Mocha suite out/test/integration/index.js inside a real
// VS Code extension host (code-server 4.100.3 = VS Code 1.100.3), driven by Debian's Chromium.
// Exit code: the suite's (0 only when every test passed); 124 on timeout; 1 on a harness error.
//
// Environment: MPTREE_INTEGRATION_TIMEOUT_MS (default 1200000), MPTREE_TEST_GREP (a Mocha
// grep), MPTREE_HARNESS_VERBOSE=1 (print the workbench's and code-server's own logs too),
// MPTREE_EXTENSION_PATH (the extension to load instead of this repository, to try the harness),
// MPTREE_TEST_LOCALE (the workbench's display language, e.g. zh-cn: see useDisplayLanguage in
// codeServer.mjs; `npm run test:integration:zh-cn` runs the 'Simplified Chinese' suite so).
// The default run is in English, and the suites assert English words.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkbench, repoRoot, timeout } from './codeServer.mjs';
import { CODE_SERVER_VERSION, VSCODE_VERSION, ensureCodeServer } from './installCodeServer.mjs';
import { WEBVIEW_REQUEST, performWebviewAction } from './webviewActions.mjs';

const suite = join(repoRoot, 'out', 'test', 'integration', 'index.js');
const extensionMain = join(repoRoot, 'dist', 'extension.js');
const overallMs = Number(process.env.MPTREE_INTEGRATION_TIMEOUT_MS ?? 1_200_000);
const verbose = !!process.env.MPTREE_HARNESS_VERBOSE;
// Marks the suite's own output among the workbench's log lines (see test/integration/index.ts).
const TAG = '@@mptree-test@@ ';

function newestMtime(dir, filter) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const rel of readdirSync(dir, { recursive: true })) {
    if (!filter(rel)) continue;
    newest = Math.max(newest, statSync(join(dir, rel)).mtimeMs);
  }
  return newest;
}

// `npm test` builds first (pretest); a bare `npm run test:integration` after an edit should
// not silently test stale output, so rebuild whatever is missing or older than its sources.
function buildIfStale() {
  const tsFilter = (rel) => rel.endsWith('.ts') && !rel.includes('node_modules');
  const srcTime = newestMtime(join(repoRoot, 'src'), () => true);
  const testTime = Math.max(srcTime, newestMtime(join(repoRoot, 'test'), tsFilter));
  const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0);
  for (const [output, script, sources] of [[extensionMain, 'build', srcTime], [suite, 'compile-tests', testTime]]) {
    if (mtime(output) >= sources) continue;
    console.log(`[integration] ${output.slice(repoRoot.length + 1)} is missing or stale: npm run ${script}`);
    const r = spawnSync('npm', ['run', '--silent', script], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status === 0) continue;
    // tsc emits despite type errors; those are `npm run typecheck`'s to report, not this run's.
    if (script === 'compile-tests' && mtime(output) >= sources) {
      console.log(`[integration] npm run ${script} reported errors; running what it emitted`);
      continue;
    }
    throw new Error(`npm run ${script} failed`);
  }
}

// Startup, from the page's load to the suite's first line: generous for a busy 2-core machine.
const startupMs = Number(process.env.MPTREE_INTEGRATION_STARTUP_MS ?? 180_000);

async function attempt(limit) {
  const summary = { passing: null, failing: null, pending: null };
  const early = [];
  let workbenchLog = null;
  let markStarted;
  const suiteStarted = new Promise((r) => { markStarted = r; });
  const onLog = (line, type) => {
    // A test asking for a click inside a webview (see webviewActions.mjs), done in the page.
    // The request may arrive with or without the tag (the host's console is not always Mocha's).
    const asked = line.indexOf(WEBVIEW_REQUEST);
    if (asked >= 0) {
      const request = JSON.parse(line.slice(asked + WEBVIEW_REQUEST.length));
      if (session) void performWebviewAction(session.page, request, (m) => console.log(`[integration] ${m}`)).catch((err) => console.log(`[integration] webview action failed: ${err.message}`));
      return;
    }
    const at = line.indexOf(TAG);
    if (at >= 0) {
      markStarted();
      const text = line.slice(at + TAG.length);
      console.log(text);
      const m = /^\s+(\d+) (passing|failing|pending)\b/.exec(text);
      if (m) summary[m[2]] = Number(m[1]);
    } else {
      const entry = `[${type}] ${line}\n`;
      if (workbenchLog) workbenchLog.write(entry); else early.push(entry);
      if (verbose) console.error(`[workbench ${type}] ${line}`);
    }
  };

  console.log(`[integration] starting code-server ${CODE_SERVER_VERSION} and Chromium…`);
  let session;
  let exitCode;
  let neverStarted = false;
  try {
    session = await Promise.race([
      openWorkbench({
        extensionDevelopmentPath: process.env.MPTREE_EXTENSION_PATH || repoRoot,
        extensionTestsPath: suite, env: { MPTREE_TEST_LOG_TAG: TAG }, onLog, name: 'integration',
        locale: process.env.MPTREE_TEST_LOCALE || null }),
      limit,
    ]);
    workbenchLog = createWriteStream(join(session.runDir, 'workbench.log'));
    for (const entry of early.splice(0)) workbenchLog.write(entry);
    const startup = timeout(startupMs, 'waiting for the extension host to start the suite');
    try {
      await Promise.race([suiteStarted, session.exitCode, startup, limit]);
    } catch (err) {
      if (err.message.startsWith('waiting for')) neverStarted = true;
      throw err;
    } finally {
      startup.cancel();
    }
    exitCode = await Promise.race([session.exitCode, limit]);
    // Log calls and the exit call travel the same channel in order; a moment lets the last
    // lines be printed before the browser goes.
    await new Promise((r) => setTimeout(r, 300));
  } catch (err) {
    console.error(`[integration] ${err.message}`);
    exitCode = /timed out/.test(err.message) ? 124 : 1;
  } finally {
    await session?.close();
    workbenchLog?.end();
  }
  return { summary, session, exitCode, neverStarted };
}

async function main() {
  const started = Date.now();
  await ensureCodeServer();
  buildIfStale();

  const limit = timeout(overallMs, 'integration suite');
  let result;
  try {
    result = await attempt(limit);
    // A workbench or extension host that never starts the suite is the harness's failure, not
    // the tests': one more try on a fresh server and browser before giving up.
    if (result.neverStarted) {
      console.log('[integration] the suite never started; retrying once with a fresh code-server');
      result = await attempt(limit);
    }
  } finally {
    limit.cancel();
  }
  const { summary, session } = result;
  let { exitCode } = result;

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const completed = summary.passing !== null || summary.failing !== null;
  if (!completed && summary.failing === null) {
    console.error('[integration] the suite printed no Mocha summary: it did not run to the end.');
    if (session) console.error(`[integration] workbench log: ${join(session.runDir, 'workbench.log')}; code-server log: ${session.serverLog}`);
    if (exitCode === 0) exitCode = 1;
  } else {
    // The plain closing line that CI reads, since Mocha's own is not one it knows.
    const skipped = summary.pending ? `, ${summary.pending} skipped` : '';
    console.log(`integration: ${summary.passing ?? 0} passed, ${summary.failing ?? 0} failed${skipped}`);
    if (exitCode === 0 && summary.failing) exitCode = 1;
  }
  console.log(`[integration] suite ${completed ? 'ran' : 'did not complete'} in code-server ${CODE_SERVER_VERSION}'s VS Code ${VSCODE_VERSION} `
    + `extension host (Node ${process.version}); exit code ${exitCode}; ${seconds} s`);
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err) => { console.error(`[integration] FAILED: ${err.stack ?? err}`); process.exit(1); },
);
