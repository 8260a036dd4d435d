// Mocha entry that VS Code's extension host calls (extensionTestsPath). One suite, two hosts:
// code-server's web workbench (test/harness/runInCodeServer.mjs) and desktop VS Code
// (test/runElectron.ts). It loads every compiled *.test.js under out/test/integration.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';

// In code-server the extension host's console reaches the harness only mixed with the
// workbench's own log (both arrive through window.codeAutomationLog). The harness sets this
// tag; every line of test output then carries it, so the harness can print exactly those.
const tag = process.env.MPTREE_TEST_LOG_TAG ?? '';

type LogFn = (...args: unknown[]) => void;

function tagged(original: LogFn): LogFn {
  return (...args: unknown[]) => {
    const text = format(...args);
    original(text.split('\n').map((line) => tag + line).join('\n'));
  };
}

function collectTestFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((rel) => rel.endsWith('.test.js'))
    .map((rel) => path.join(dir, rel))
    .sort();
}

export async function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    // Colour codes would arrive in the harness as literal escapes.
    color: !tag && !!process.stdout.isTTY,
    // The extension host is slow to start terminals and Python on a 2-core CI machine.
    timeout: Number(process.env.MPTREE_TEST_TIMEOUT_MS ?? 60_000),
    slow: 5_000,
    grep: process.env.MPTREE_TEST_GREP || undefined,
  });

  const restore: Array<() => void> = [];
  if (tag) {
    const base = Mocha.reporters.Base as unknown as { consoleLog: LogFn };
    const originalBase = base.consoleLog;
    base.consoleLog = tagged(originalBase);
    restore.push(() => { base.consoleLog = originalBase; });
    // Tests' and the extension's own console output belongs to the run's output too.
    for (const method of ['log', 'info', 'warn', 'error'] as const) {
      const original = console[method];
      console[method] = tagged(original.bind(console));
      restore.push(() => { console[method] = original; });
    }
  }

  try {
    const files = collectTestFiles(__dirname);
    if (files.length === 0) throw new Error(`no *.test.js files under ${__dirname}`);
    for (const file of files) mocha.addFile(file);
    const failures = await new Promise<number>((resolve, reject) => {
      try {
        mocha.run((count) => resolve(count));
      } catch (err) {
        reject(err);
      }
    });
    if (failures > 0) throw new Error(`${failures} integration test${failures === 1 ? '' : 's'} failed`);
  } finally {
    for (const undo of restore.reverse()) undo();
  }
}
