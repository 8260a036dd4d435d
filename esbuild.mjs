// Bundles the extension and the headless CLI, and copies the Python runtime next to them.
// Usage: node esbuild.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { cpSync, rmSync, mkdirSync, chmodSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

// The runtime is plain Python: it ships as files, never bundled. __pycache__ is left out
// so the .vsix holds only sources that match the Python the user runs.
function copyPythonRuntime() {
  const from = join(root, 'src', 'runtime');
  const to = join(root, 'dist', 'runtime');
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  cpSync(from, to, {
    recursive: true,
    filter: (source) => !source.includes('__pycache__') && !source.endsWith('.pyc'),
  });
}

const copyRuntimePlugin = {
  name: 'copy-python-runtime',
  setup(build) {
    // The VS Code watch task (.vscode/tasks.json) waits for these two lines.
    build.onStart(() => {
      if (watch) console.log('[watch] build started');
    });
    build.onEnd((result) => {
      if (result.errors.length === 0) {
        copyPythonRuntime();
        const cli = join(root, 'dist', 'cli.js');
        if (existsSync(cli)) chmodSync(cli, 0o755);
      }
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      if (watch) console.log(`[watch] build finished ${new Date().toLocaleTimeString()}`);
    });
  },
};

const context = await esbuild.context({
  entryPoints: { extension: 'src/extension.ts', cli: 'src/cli.ts' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  outdir: 'dist',
  external: ['vscode'],
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
  banner: { js: '' },
  plugins: [copyRuntimePlugin],
});

if (watch) {
  await context.watch();
} else {
  await context.rebuild();
  await context.dispose();
}
