#!/usr/bin/env node
// npm run screenshot -- [--command mptree.runActiveFile] [--open hello_mp.py [--line N]] [--view]
//                       [--out media/screenshots/x.png] [--wait 3000] [--workspace DIR]
//                       [--width 1400 --height 900] [--pause ms between commands]
//                       [--press F9] [--view-after] [--pick TEXT (after each --command)]
//                       [--locale zh-cn (the extension's words in that language)]
// Opens the real VS Code 1.100.3 workbench (code-server) with this extension loaded for
// development, optionally opens a file of the workspace and runs a command through the
// command palette the way a person would (F1, type, Enter), waits, and writes a PNG.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fixtureWorkspace, openWorkbench, repoRoot, timeout } from './codeServer.mjs';

const { values: opts } = parseArgs({
  options: {
    command: { type: 'string', multiple: true, default: [] },
    // Typed into the quick pick the command of the same position opened, then Enter (e.g.
    // "Welcome: Open Walkthrough..." then the walkthrough's title). '' for none.
    pick: { type: 'string', multiple: true, default: [] },
    // Milliseconds between two --command's, e.g. to let a run fill the view before the timeline opens.
    pause: { type: 'string', default: '0' },
    open: { type: 'string' },
    // With --open: put the cursor on this line (e.g. for "Debug: Toggle Breakpoint").
    line: { type: 'string' },
    // Clicks in the editor's glyph margin (left of the line numbers) on --line: a breakpoint.
    'breakpoint': { type: 'boolean', default: false },
    // Keys pressed in the editor after --open/--line.
    press: { type: 'string', multiple: true, default: [] },
    // Show the Process Tree again after the commands (a debug session switches to Run and Debug).
    'view-after': { type: 'boolean', default: false },
    out: { type: 'string', default: 'screenshots/tmp/workbench.png' },
    wait: { type: 'string', default: '3000' },
    workspace: { type: 'string' },
    view: { type: 'boolean', default: false },
    width: { type: 'string', default: '1400' },
    height: { type: 'string', default: '900' },
    // The display language (see useDisplayLanguage in codeServer.mjs): the extension's own words
    // are translated, VS Code's own stay English (no language pack is downloaded).
    locale: { type: 'string' },
  },
});

const workspace = opts.workspace ? resolve(opts.workspace) : fixtureWorkspace;
const outFile = isAbsolute(opts.out) ? opts.out : join(repoRoot, opts.out);
const log = (msg) => console.log(`[screenshot] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// package.json's words are `%key%` references into package.nls.json, or the --locale's
// package.nls.<locale>.json: what the palette shows.
function manifestText(text) {
  const nls = JSON.parse(readFileSync(join(repoRoot, 'package.nls.json'), 'utf8'));
  const local = opts.locale ? JSON.parse(readFileSync(join(repoRoot, `package.nls.${opts.locale}.json`), 'utf8')) : {};
  const m = /^%(.+)%$/.exec(text ?? '');
  return m ? local[m[1]] ?? nls[m[1]] ?? text : text;
}

// The palette shows "Category: Title"; typing exactly that selects the command first.
function paletteLabel(commandId) {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const cmd = manifest.contributes?.commands?.find((c) => c.command === commandId);
  if (!cmd) return commandId; // a built-in command: the caller passes its palette text
  return cmd.category ? `${manifestText(cmd.category)}: ${manifestText(cmd.title)}` : manifestText(cmd.title);
}

function containerTitle() {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  return manifestText(manifest.contributes?.viewsContainers?.activitybar?.[0]?.title) ?? 'Process Tree';
}

async function palette(page, text) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  // F1 opens the palette in command mode ('>'); replacing the text keeps or drops the '>'.
  await input.fill(text);
  await sleep(500); // the list filters asynchronously
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
}

async function main() {
  const limit = timeout(180_000, 'screenshot');
  let session;
  try {
    session = await Promise.race([openWorkbench({
      workspace,
      name: 'screenshot',
      locale: opts.locale ?? null,
      viewport: { width: Number(opts.width), height: Number(opts.height) },
      onLog: (line, type) => { if (process.env.MPTREE_HARNESS_VERBOSE) console.error(`[workbench ${type}] ${line}`); },
    }), limit]);
    const { page } = session;
    log(`workbench at ${session.url}`);
    // The activity bar appears once the workbench has restored; the extension host follows.
    await Promise.race([page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: 60_000 }), limit]);
    // The extension's activity-bar entry appears once the extension host has read its manifest;
    // before that a palette command of the extension would not be found.
    const title = containerTitle();
    await page.locator(`.part.activitybar .action-item a[aria-label^="${title}"]`).first()
      .waitFor({ timeout: 60_000 })
      .catch(() => log(`warning: the "${title}" activity-bar entry did not appear`));
    await sleep(1500);
    if (opts.open) {
      log(`opening ${opts.open}`);
      // Quick open is the palette without the '>' prefix.
      await palette(page, opts.open);
      await page.locator('.monaco-editor').first().waitFor({ timeout: 15_000 });
      await sleep(1000);
      if (opts.line) {
        // Quick open's ':' mode: go to that line of the active editor.
        await palette(page, `:${opts.line}`);
        await sleep(500);
      }
      if (opts.breakpoint && opts.line) {
        const lineNumber = page.locator('.monaco-editor .line-numbers', { hasText: new RegExp(`^\\s*${opts.line}\\s*$`) }).first();
        const box = await lineNumber.boundingBox();
        const glyphs = await page.locator('.monaco-editor .glyph-margin').first().boundingBox();
        if (box && glyphs) await page.mouse.click(glyphs.x + glyphs.width / 2, box.y + box.height / 2);
        else log('warning: no glyph margin to click');
        await sleep(500);
      }
      // The keys go to the editor: click into the line first (quick open may keep the focus).
      if (opts.press.length > 0 && opts.line) {
        await page.locator('.monaco-editor .view-line').nth(Number(opts.line) - 1).click();
        await sleep(300);
      }
      for (const key of opts.press) {
        await page.keyboard.press(key);
        await sleep(300);
      }
    }
    if (opts.view) {
      await palette(page, `>View: Show ${containerTitle()}`);
      await sleep(500);
    }
    for (const [index, id] of opts.command.entries()) {
      if (index > 0) await sleep(Number(opts.pause));
      const label = paletteLabel(id);
      log(`running ${id} (${label}) from the command palette`);
      await palette(page, `>${label}`);
      const pick = opts.pick[index];
      if (pick) {
        log(`picking "${pick}"`);
        const input = page.locator('.quick-input-widget input');
        await input.waitFor({ state: 'visible', timeout: 10_000 });
        await input.fill(pick);
        await sleep(500);
        await page.keyboard.press('Enter');
        await input.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
      }
    }
    if (opts['view-after']) {
      await sleep(Number(opts.pause));
      await palette(page, `>View: Show ${containerTitle()}`);
    }
    await sleep(Number(opts.wait));
    mkdirSync(dirname(outFile), { recursive: true });
    await page.screenshot({ path: outFile });
    log(`wrote ${outFile}`);
  } finally {
    limit.cancel();
    await session?.close();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`[screenshot] FAILED: ${err.message}`);
  process.exit(1);
});
