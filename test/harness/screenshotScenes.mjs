// The README's screenshots, one scene each: what to open and do in a fresh workbench before
// the picture is taken. `npm run screenshot` takes them all (`-- --only tree,debug`, `--list`).
// A scene is { name, out, what, locale?, settings?, width?, height?, act(ui) }: `act` drives the
// workbench through `ui` (test/harness/screenshot.mjs: palette, command, open, breakpoint,
// showProcessTree, waitForText, closePanel, pause) and returns when the picture should be taken;
// `optional: true` marks a scene whose fixture may not exist yet (it is reported, not failed).
// To add a screenshot, add a scene here and the image to the README.

/** The run of the pipeline everything else is shown on: a zombie, a daemon, a full queue, a pool. */
async function runPipeline(ui) {
  // The run reveals itself in the Process Tree, which the workbench shows from the start.
  await ui.command('mptree.runFile', 'screenshot_pipeline.py');
  // The queue full (20 / 20) and the pool at work: what the images are about.
  await ui.pause(6000);
  await ui.waitForText('.part.sidebar', '20 / 20', 20_000).catch((err) => ui.log(`warning: ${err.message}`));
}

export const scenes = [
  {
    name: 'tree',
    out: 'media/screenshots/tree.png',
    what: 'the Process Tree during a run: live CPU and memory, a zombie, a daemon, a pool, a full queue',
    async act(ui) {
      await runPipeline(ui);
      await ui.closePanel();
      // A scan or two more, so every live row has its figures.
      await ui.pause(2500);
    },
  },
  {
    name: 'timeline',
    out: 'media/screenshots/timeline.png',
    what: 'the timeline of the same run: lanes with their CPU lines, a zombie, the queue at its maxsize, the pool, the run\'s CPU and memory',
    async act(ui) {
      await runPipeline(ui);
      await ui.pause(3000);
      await ui.command('mptree.showTimeline');
      await ui.closePanel();
      await ui.waitForFrameText('Queue', 20_000);
      await ui.pause(1500);
    },
  },
  {
    name: 'debug',
    out: 'media/screenshots/debug.png',
    what: 'a debug session: both workers paused at a breakpoint, the Processes view in Run and Debug beside the Call Stack',
    // Without the Python Debugger extension (offline), mptree runs debugpy's own adapter: the
    // interpreter must have debugpy (Debian's python3-debugpy); MPTREE_SCREENSHOT_PYTHON else.
    settings: { 'mptree.pythonPath': process.env.MPTREE_SCREENSHOT_PYTHON ?? '/usr/bin/python3' },
    async act(ui) {
      // Line 13: `square = n * n`, a worker with a task in hand.
      await ui.open('debug_workers.py', 13);
      await ui.breakpoint(13);
      await ui.command('mptree.debugFile'); // the active editor's file: no pick
      // Run and Debug opens by itself; its Processes view shows the paused workers.
      await ui.pause(8000);
      await ui.waitForText('.part.sidebar', 'paused', 40_000).catch((err) => ui.log(`warning: ${err.message}`));
      await ui.collapseSidebarSections(['Variables', 'Watch', 'Breakpoints'], ['Processes', 'Call Stack']);
      await ui.pause(1500);
    },
  },
  {
    name: 'walkthrough',
    out: 'media/screenshots/walkthrough.png',
    what: 'the walkthrough: six steps, the first open with its button',
    async act(ui) {
      await ui.palette('>Welcome: Open Walkthrough...');
      await ui.pick('Learn multiprocessing with mptree');
      await ui.pause(3000);
    },
  },
  {
    name: 'tree-zh-cn',
    out: 'media/screenshots/tree-zh-cn.png',
    locale: 'zh-cn',
    what: 'the Process Tree in Simplified Chinese (VS Code\'s own words stay English: no language pack is downloaded)',
    async act(ui) {
      await ui.command('mptree.runFile', 'screenshot_pipeline.py');
      await ui.showProcessTree();
      await ui.pause(6000);
      await ui.waitForText('.part.sidebar', '20 / 20', 20_000).catch((err) => ui.log(`warning: ${err.message}`));
      await ui.closePanel();
      await ui.pause(2500);
    },
  },
  {
    name: 'deadlock',
    out: 'media/screenshots/deadlock.png',
    what: 'a lock-order deadlock: each worker waits for the lock the other holds, the tree names holder and line, the deadlock hint, and the stacks document beside',
    width: 1600,
    async act(ui) {
      await ui.command('mptree.runFile', 'screenshot_deadlock.py');
      await ui.showProcessTree();
      await ui.waitForText('.part.sidebar', 'held by', 30_000).catch((err) => ui.log(`warning: ${err.message}`));
      await ui.waitForText('.part.sidebar', 'deadlock', 30_000).catch((err) => ui.log(`warning: ${err.message}`));
      await ui.closePanel();
      await ui.widenSidebar(760);
      await ui.command('mptree.showStacks');
      await ui.pickAll();
      await ui.waitForText('.part.editor', 'Python stacks', 15_000).catch((err) => ui.log(`warning: ${err.message}`));
      // The deadlock's errors, one per line it names, in the Problems panel below.
      await ui.palette('>View: Focus Problems (Errors, Warnings, Infos)');
      await ui.waitForText('.part.panel', 'Deadlock', 10_000).catch((err) => ui.log(`warning: ${err.message}`));
      await ui.pause(1500);
    },
  },
];
