// Hints in a real extension host: a mistaken program gets a badge and a tooltip line on the
// process in the tree, and a diagnostic on the line of the program the hint is about.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import type { Run } from '../../src/vscode/runs';
import { cleanUp, getApi, waitFor } from './helpers';

// Compiled to out/test/integration/: the sources' fixtures are three folders up.
const HINT_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'hints');

async function runHintFixture(name: string): Promise<Run> {
  const runs = await vscode.commands.executeCommand<Run[]>('mptree.runFile', vscode.Uri.file(path.join(HINT_FIXTURES, name)));
  assert.ok(Array.isArray(runs) && runs.length === 1, `mptree.runFile returned ${JSON.stringify(runs?.length)} runs`);
  return runs[0];
}

describe('hints in the tree and the editor', () => {
  let api: MptreeApi;
  before(async () => {
    api = await getApi();
    await vscode.commands.executeCommand('mptree.processes.focus');
  });
  afterEach(async () => {
    await cleanUp(api);
  });

  it('shows hints for a mistaken program: tree badge, tooltip lines and a diagnostic on the line', async () => {
    const file = path.join(HINT_FIXTURES, 'pool_not_closed_bad.py');
    const run = await runHintFixture('pool_not_closed_bad.py');
    await run.session.ended;
    const hint = await waitFor('the pool-not-closed hint', () => api.hints.hintsOf(run.runId).find((h) => h.kind === 'pool-not-closed'), 30_000);
    assert.ok(hint.processKey, 'the hint names the pool owner');
    const decoration = api.hints.provideFileDecoration(vscode.Uri.from({ scheme: 'mptree-process', path: '/' + encodeURIComponent(hint.processKey) }));
    assert.equal(decoration?.badge, '!');
    assert.match(api.hints.tooltipLines(hint.processKey).join('\n'), /never closed or joined/);
    const diagnostics = await waitFor('a diagnostic in the script', () => {
      const list = vscode.languages.getDiagnostics(vscode.Uri.file(file)).filter((d) => d.source === 'mptree');
      return list.length > 0 && list;
    });
    assert.equal(diagnostics[0].code, 'pool-not-closed');
    assert.equal(diagnostics[0].range.start.line, 9, 'on `pool = mp.Pool(2)` (line 10)');
  });
});
