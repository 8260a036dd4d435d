#!/usr/bin/env node
// npm run screenshot                       every README image, one fresh workbench each (test/harness/screenshotScenes.mjs)
// npm run screenshot -- --only tree,debug  those scenes;  --list: the scenes and what each shows
// npm run screenshot -- --command mptree.runActiveFile [--open hello_mp.py [--line N [--breakpoint]]]
//                       [--view] [--out screenshots/tmp/x.png] [--wait 3000] [--workspace DIR]
//                       [--width 1400 --height 900] [--pause ms between commands] [--press F9]
//                       [--view-after] [--pick TEXT (after each --command)] [--locale zh-cn]
//                       one picture of whatever those steps lead to.
// Opens the real VS Code 1.100.3 workbench (code-server) with this extension loaded for
// development, drives it the way a person would (F1, type, Enter; clicks), and writes a PNG.
// Every picture gets a wider sidebar (the tree's rows whole) and no notification toasts.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fixtureWorkspace, openWorkbench, repoRoot, timeout } from './codeServer.mjs';
import { scenes } from './screenshotScenes.mjs';

const { values: opts } = parseArgs({
  options: {
    only: { type: 'string' },
    list: { type: 'boolean', default: false },
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
    // The sidebar's width in pixels (VS Code's default, ~300, cuts the tree's rows).
    sidebar: { type: 'string', default: '470' },
    // The display language (see useDisplayLanguage in codeServer.mjs): the extension's own words
    // are translated, VS Code's own stay English (no language pack is downloaded).
    locale: { type: 'string' },
  },
});

const log = (msg) => console.log(`[screenshot] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// No toasts over the picture: the terminal's keybinding prompt, the ones of code-server.
const SETTINGS = { 'terminal.integrated.showTerminalConfigPrompt': false, 'workbench.tips.enabled': false };

// package.json's words are `%key%` references into package.nls.json, or the locale's
// package.nls.<locale>.json: what the palette shows.
function manifestText(text, locale) {
  const nls = JSON.parse(readFileSync(join(repoRoot, 'package.nls.json'), 'utf8'));
  const local = locale ? JSON.parse(readFileSync(join(repoRoot, `package.nls.${locale}.json`), 'utf8')) : {};
  const m = /^%(.+)%$/.exec(text ?? '');
  return m ? local[m[1]] ?? nls[m[1]] ?? text : text;
}

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

// The palette shows "Category: Title"; typing exactly that selects the command first.
function paletteLabel(commandId, locale) {
  const cmd = manifest.contributes?.commands?.find((c) => c.command === commandId);
  if (!cmd) return commandId; // a built-in command: the caller passes its palette text
  return cmd.category ? `${manifestText(cmd.category, locale)}: ${manifestText(cmd.title, locale)}` : manifestText(cmd.title, locale);
}

function containerTitle(locale) {
  return manifestText(manifest.contributes?.viewsContainers?.activitybar?.[0]?.title, locale) ?? 'Process Tree';
}

/** What a scene (or the command-line steps) drives the workbench with. */
function workbenchUi(page, locale) {
  const ui = {
    page,
    log,
    pause: sleep,
    async palette(text) {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      // F1 opens the palette in command mode ('>'); replacing the text keeps or drops the '>'.
      await input.fill(text);
      await sleep(500); // the list filters asynchronously
      await page.keyboard.press('Enter');
      await input.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
    },
    /** Types into the quick pick that is open and takes the first match. */
    async pick(text) {
      log(`picking "${text}"`);
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(text);
      await sleep(500);
      await page.keyboard.press('Enter');
      await input.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
    },
    async command(id, pick) {
      const label = paletteLabel(id, locale);
      log(`running ${id} (${label}) from the command palette`);
      await ui.palette(`>${label}`);
      if (pick) await ui.pick(pick);
    },
    async open(file, line) {
      log(`opening ${file}`);
      // Quick open is the palette without the '>' prefix.
      await ui.palette(file);
      await page.locator('.monaco-editor').first().waitFor({ timeout: 15_000 });
      await sleep(1000);
      if (line) {
        // Quick open's ':' mode: go to that line of the active editor.
        await ui.palette(`:${line}`);
        await sleep(500);
      }
    },
    /** Clicks in the editor's glyph margin (left of the line numbers) on that line. */
    async breakpoint(line) {
      const lineNumber = page.locator('.monaco-editor .line-numbers', { hasText: new RegExp(`^\\s*${line}\\s*$`) }).first();
      const box = await lineNumber.boundingBox();
      const glyphs = await page.locator('.monaco-editor .glyph-margin').first().boundingBox();
      if (box && glyphs) await page.mouse.click(glyphs.x + glyphs.width / 2, box.y + box.height / 2);
      else log('warning: no glyph margin to click');
      await sleep(500);
    },
    async showProcessTree() {
      await ui.palette(`>View: Show ${containerTitle(locale)}`);
      await sleep(500);
    },
    /** Hides the panel (the run's terminal) by its own button, if it is open. */
    async closePanel() {
      const hide = page.locator('.part.panel a.action-label[aria-label^="Hide Panel"], .part.panel a.action-label[aria-label^="Close Panel"]').first();
      if (await hide.isVisible().catch(() => false)) await hide.click().catch(() => log('warning: could not hide the panel'));
      await sleep(300);
    },
    /** Waits until some element under `scope` shows `text` (a state to be in, not a time to wait). */
    async waitForText(scope, text, ms) {
      // innerText: only what is rendered (no aria-only or hidden copies of a row's words).
      await page.waitForFunction(([sel, t]) => [...document.querySelectorAll(sel)].some((e) => e.innerText.includes(t)), [scope, text], { timeout: ms })
        .catch(() => { throw new Error(`"${text}" did not appear in ${scope} within ${ms} ms`); });
    },
    /** The same inside a webview (the timeline): its frames are nested iframes. */
    async waitForFrameText(text, ms) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        for (const frame of page.frames()) {
          if (await frame.getByText(text, { exact: false }).count().catch(() => 0)) return;
          // The timeline draws on a canvas: its words are in its rows and header.
          const found = await frame.evaluate((t) => document.body?.innerText?.includes(t) ?? false, text).catch(() => false);
          if (found) return;
        }
        await sleep(300);
      }
      log(`warning: no webview showed "${text}" within ${ms} ms`);
    },
    /** Collapses these sections of the sidebar's view container (e.g. Run and Debug's Variables) and expands `expand`. */
    async collapseSidebarSections(titles, expand = []) {
      await page.evaluate(([collapse, open]) => {
        for (const header of document.querySelectorAll('.part.sidebar .pane-header')) {
          const title = (header.querySelector('h3.title')?.textContent ?? header.textContent ?? '').trim().toLowerCase();
          const expanded = header.getAttribute('aria-expanded') === 'true';
          const wanted = collapse.some((t) => title.startsWith(t.toLowerCase())) ? false : open.some((t) => title.startsWith(t.toLowerCase())) ? true : null;
          if (wanted !== null && wanted !== expanded) header.click();
        }
      }, [titles, expand]);
      await sleep(500);
    },
    /** Drags the sash between the sidebar and the editor to make the sidebar that wide. */
    async widenSidebar(width) {
      const sidebar = page.locator('.part.sidebar');
      const box = await sidebar.boundingBox().catch(() => null);
      if (!box || box.width >= width) return;
      const x = box.x + box.width;
      const y = box.y + box.height / 2;
      await page.mouse.move(x, y);
      await page.mouse.down();
      await page.mouse.move(x + (width - box.width) / 2, y, { steps: 5 });
      await page.mouse.move(box.x + width, y, { steps: 5 });
      await page.mouse.up();
      // The pointer off the views: no hover, no tooltip in the picture.
      await page.mouse.move(box.x + width + 400, box.y + box.height - 40);
      await sleep(300);
    },
    /** In the multi-select quick pick that is open: checks every item and accepts. */
    async pickAll() {
      log('picking every item');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await sleep(500);
      // A click on a row of a multi-select pick toggles its check box.
      const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
      const count = await rows.count();
      for (let i = 0; i < count; i++) await rows.nth(i).click({ timeout: 10_000 });
      await sleep(300);
      await page.keyboard.press('Enter');
      await input.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
    },
    async clearNotifications() {
      await ui.palette('>Notifications: Clear All Notifications').catch(() => log('warning: could not clear the notifications'));
      await sleep(300);
    },
  };
  return ui;
}

/** Opens a fresh workbench, lets `act` drive it, and writes the picture to `out`. */
async function takePicture({ name, out, locale = null, workspace = fixtureWorkspace, width, height, settings = {}, act }) {
  const limit = timeout(240_000, `screenshot ${name}`);
  let session;
  const started = Date.now();
  try {
    session = await Promise.race([openWorkbench({
      workspace,
      name: `screenshot-${name}`,
      locale,
      settings: { ...SETTINGS, ...settings },
      viewport: { width, height },
      onLog: (line, type) => { if (process.env.MPTREE_HARNESS_VERBOSE) console.error(`[workbench ${type}] ${line}`); },
    }), limit]);
    const { page } = session;
    // The activity bar appears once the workbench has restored; the extension host follows.
    await Promise.race([page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: 60_000 }), limit]);
    // The extension's activity-bar entry appears once the extension host has read its manifest;
    // before that a palette command of the extension would not be found.
    const title = containerTitle(locale);
    await page.locator(`.part.activitybar .action-item a[aria-label^="${title}"]`).first()
      .waitFor({ timeout: 60_000 })
      .catch(() => log(`warning: the "${title}" activity-bar entry did not appear`));
    await sleep(1500);
    const ui = workbenchUi(page, locale);
    await ui.showProcessTree();
    await ui.widenSidebar(Number(opts.sidebar));
    try {
      await Promise.race([act(ui), limit]);
    } catch (err) {
      // What the workbench showed when the scene gave up: the reason is usually on screen.
      const shot = join(repoRoot, 'test-results', `screenshot-${name}-failed.png`);
      mkdirSync(dirname(shot), { recursive: true });
      await page.screenshot({ path: shot }).catch(() => {});
      throw new Error(`${err.message.split('\n')[0]} (the workbench then: ${relative(repoRoot, shot)})`);
    }
    await ui.clearNotifications();
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out });
    log(`wrote ${relative(repoRoot, out)} (${name}, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    limit.cancel();
    await session?.close();
  }
}

/** The steps given on the command line, as one scene. */
function commandLineScene() {
  return {
    name: 'command-line',
    out: isAbsolute(opts.out) ? opts.out : join(repoRoot, opts.out),
    locale: opts.locale ?? null,
    workspace: opts.workspace ? resolve(opts.workspace) : fixtureWorkspace,
    async act(ui) {
      if (opts.open) {
        await ui.open(opts.open, opts.line);
        if (opts.breakpoint && opts.line) await ui.breakpoint(opts.line);
        // The keys go to the editor: click into the line first (quick open may keep the focus).
        if (opts.press.length > 0 && opts.line) {
          await ui.page.locator('.monaco-editor .view-line').nth(Number(opts.line) - 1).click();
          await sleep(300);
        }
        for (const key of opts.press) {
          await ui.page.keyboard.press(key);
          await sleep(300);
        }
      }
      if (opts.view) await ui.showProcessTree();
      for (const [index, id] of opts.command.entries()) {
        if (index > 0) await sleep(Number(opts.pause));
        await ui.command(id, opts.pick[index]);
      }
      if (opts['view-after']) {
        await sleep(Number(opts.pause));
        await ui.showProcessTree();
      }
      await sleep(Number(opts.wait));
    },
  };
}

async function main() {
  if (opts.list) {
    for (const s of scenes) console.log(`${s.name.padEnd(12)} ${s.out}${s.optional ? ' (optional: its fixture is not there yet)' : ''}\n             ${s.what}`);
    return 0;
  }
  const size = { width: Number(opts.width), height: Number(opts.height) };
  const adHoc = opts.command.length > 0 || opts.open || opts.view;
  if (adHoc) {
    await takePicture({ ...size, ...commandLineScene() });
    return 0;
  }
  const wanted = opts.only ? opts.only.split(',').map((s) => s.trim()).filter(Boolean) : null;
  const unknown = (wanted ?? []).filter((n) => !scenes.some((s) => s.name === n));
  if (unknown.length) throw new Error(`no such scene: ${unknown.join(', ')} (see --list)`);
  const chosen = scenes.filter((s) => (wanted ? wanted.includes(s.name) : true));
  const failed = [];
  const skipped = [];
  for (const scene of chosen) {
    if (scene.optional && !wanted?.includes(scene.name)) {
      skipped.push(scene.name);
      log(`skipped ${scene.name}: optional, its fixture is not there yet`);
      continue;
    }
    log(`scene ${scene.name}: ${scene.what}`);
    try {
      await takePicture({ ...size, ...scene, width: scene.width ?? size.width, height: scene.height ?? size.height, out: join(repoRoot, scene.out) });
    } catch (err) {
      failed.push(scene.name);
      log(`FAILED ${scene.name}: ${err.message}`);
    }
  }
  const written = chosen.length - failed.length - skipped.length;
  log(`${written} written, ${failed.length} failed${failed.length ? ` (${failed.join(', ')})` : ''}${skipped.length ? `, ${skipped.length} skipped (${skipped.join(', ')})` : ''}`);
  return failed.length ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(`[screenshot] FAILED: ${err.message}`);
  process.exit(1);
});
