// npm run test:electron: the integration suite in desktop VS Code (Electron) through
// @vscode/test-electron, for machines that can download VS Code. The same suite runs offline
// in code-server with `npm run test:integration` (test/harness/runInCodeServer.mjs).
//
// Environment: MPTREE_VSCODE_VERSION (default 'stable'; e.g. 1.90.0 for the oldest supported),
// MPTREE_VSCODE_EXECUTABLE (an installed VS Code to use instead of downloading one).
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  // Compiled to out/test/runElectron.js: the repository is two levels up.
  const repoRoot = path.resolve(__dirname, '..', '..');
  const workspace = path.join(repoRoot, 'test', 'fixtures', 'workspace');
  try {
    const exitCode = await runTests({
      version: process.env.MPTREE_VSCODE_VERSION || 'stable',
      vscodeExecutablePath: process.env.MPTREE_VSCODE_EXECUTABLE || undefined,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(repoRoot, 'out', 'test', 'integration', 'index.js'),
      // Other installed extensions would only slow the host down and muddy the results.
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
    });
    process.exitCode = exitCode;
  } catch (err) {
    console.error('[electron] the integration suite failed or VS Code could not start:', err);
    process.exitCode = 1;
  }
}

void main();
