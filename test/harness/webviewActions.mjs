// What an integration test asks the harness to do inside a webview, where the extension host
// cannot reach: click a row of the timeline, press keys there. The test prints a request line
// (WEBVIEW_REQUEST + JSON) and waits for its effect in the extension (the tree's selection);
// runInCodeServer.mjs hands each request to performWebviewAction with the workbench's page.
export const WEBVIEW_REQUEST = '@@mptree-webview@@ ';

/**
 * request: { row: a regular expression source matched against a timeline row's words,
 *            keys?: keys pressed on that row, which then gets the focus instead of a click
 *            (e.g. ['ArrowDown', 'Enter']): a click reveals the process, and the tree takes the focus }
 */
export async function performWebviewAction(page, request, log) {
  const pattern = new RegExp(request.row);
  const deadline = Date.now() + (request.timeoutMs ?? 30_000);
  // A webview is an iframe in an iframe; the timeline's is the frame with the lanes' listbox.
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const row = frame.locator('#rows [role="option"]', { hasText: pattern }).first();
      if (!(await row.count().catch(() => 0))) continue;
      if (!request.keys?.length) {
        await row.click();
        log(`clicked the timeline row matching /${request.row}/`);
        return;
      }
      // The keyboard's way in: a click on the header puts the focus into the webview (and does
      // nothing else), then the row is focused as Tab would, and the keys go to it.
      await frame.locator('#title').click();
      await row.focus();
      for (const key of request.keys) await page.keyboard.press(key);
      log(`pressed ${request.keys.join(', ')} on the timeline row matching /${request.row}/`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  log(`no timeline row matched /${request.row}/`);
}
