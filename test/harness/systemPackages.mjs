#!/usr/bin/env node
// The Debian packages the tests need, in one place: `npm test` installs the missing ones
// itself where it may (root, or sudo without a password), and otherwise stops with the one
// command to run. `.ci/run` goes through the same code, so the list cannot drift.
//
//   node test/harness/systemPackages.mjs           install what is missing (or say how)
//   node test/harness/systemPackages.mjs --check   only say what is missing (exit 1 if any)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

// Each package with the file whose presence shows it is usable (a package can be installed
// but broken, and a file can come from elsewhere; the file is what the tests use).
export const SYSTEM_PACKAGES = [
  // The browser that drives code-server's web workbench in the integration suite.
  { name: 'chromium', present: () => existsSync('/usr/bin/chromium') },
  // code-server's kerberos module is built against it.
  { name: 'libkrb5-dev', present: () => existsSync('/usr/include/krb5.h') || existsSync('/usr/include/gssapi/gssapi.h') },
  // VS Code's search, copied into code-server in place of the binary it would download.
  { name: 'ripgrep', present: () => existsSync('/usr/bin/rg') },
  // debugpy for Debian's /usr/bin/python3: the debug-with-the-tree tests run it for real.
  { name: 'python3-debugpy', present: () => pythonHasDebugpy('/usr/bin/python3') },
  // A real pseudo-terminal for the CLI's live tree (test/unit/cliTerminal.test.ts).
  { name: 'tmux', present: () => existsSync('/usr/bin/tmux') },
];

function pythonHasDebugpy(python) {
  if (!existsSync(python)) return false;
  return spawnSync(python, ['-c', 'import debugpy'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

export function missingPackages() {
  return SYSTEM_PACKAGES.filter((p) => !p.present()).map((p) => p.name);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0;
}

// root runs apt-get itself; anyone else only through a sudo that asks no password (a
// prompt would hang a test command with no terminal).
function privilege() {
  if (process.getuid?.() === 0) return [];
  if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return ['sudo', '-n'];
  return null;
}

/** Installs what is missing; returns null when all is there, else a message saying what failed. */
export function ensureSystemPackages({ log = console.log } = {}) {
  const missing = missingPackages();
  if (missing.length === 0) return null;
  const command = `sudo apt-get install -y ${missing.join(' ')}`;
  const hasApt = existsSync('/usr/bin/apt-get');
  const prefix = hasApt ? privilege() : null;
  if (prefix === null) {
    return `missing system packages: ${missing.join(' ')}. Install them once with:\n    ${command}\n`
      + (hasApt ? '(npm test does this itself when run as root or with password-less sudo)'
        : '(these are Debian package names; on another system install the equivalents)');
  }
  log(`[setup] installing Debian packages the tests need: ${missing.join(' ')}`);
  const apt = (args) => run(prefix[0] ?? 'apt-get', prefix.length ? [...prefix.slice(1), 'apt-get', ...args] : args);
  // One retry: a mirror's passing failure should not fail the tests.
  if (!apt(['update', '-qq']) && !apt(['update', '-qq'])) return `apt-get update failed; run: ${command}`;
  if (!apt(['install', '-y', '-qq', '-o', 'Dpkg::Use-Pty=0', ...missing])) return `apt-get install failed; run: ${command}`;
  const still = missingPackages();
  return still.length ? `still missing after apt-get install: ${still.join(' ')}` : null;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--check')) {
    const missing = missingPackages();
    console.log(missing.length ? `missing: ${missing.join(' ')}` : 'all present');
    process.exit(missing.length ? 1 : 0);
  }
  const problem = ensureSystemPackages();
  if (problem) {
    console.error(`[setup] ${problem}`);
    process.exit(1);
  }
}
