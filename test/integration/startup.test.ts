// How long a run from VS Code takes to reach the program: from the Run with Process Tree
// command (mptree.runFile, as the explorer's menu calls it) to the program's first line, and
// beside it the same program started bare from here. The figures go to out/run-start.json
// for npm run bench, which holds the target; this test only checks that each run reached its
// first line and reported to the tree.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MptreeApi } from '../../src/extension';
import { cleanUp, fixture, getApi, runFixture, waitFor } from './helpers';

const ROUNDS = 5;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

function firstLineAt(pid: number): number | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(os.tmpdir(), `first_line.${pid}.json`), 'utf8')).firstLineAt as number;
  } catch {
    return null;
  }
}

describe('start-up of a run from VS Code', () => {
  let api: MptreeApi;
  before(async () => (api = await getApi()));
  afterEach(async () => cleanUp(api));

  it('measures the command → the program’s first line, beside the bare program', async () => {
    const throughVsCode: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const began = Date.now();
      const run = await runFixture(api, 'first_line.py');
      const pid = run.info.rootPid!;
      const reached = (await waitFor('the program’s first line', () => firstLineAt(pid))) as number;
      await waitFor('the run to end', () => run.info.state === 'finished' || run.info.state === 'failed');
      assert.equal(run.info.exitCode, 0);
      throughVsCode.push(reached - began);
      fs.rmSync(path.join(os.tmpdir(), `first_line.${pid}.json`), { force: true });
      await cleanUp(api);

      // The same program bare, with the interpreter the run used, timed the same way.
      const interpreter = run.info.python || 'python3';
      const out = path.join(os.tmpdir(), `first_line.bare.${process.pid}.${i}.json`);
      const started = Date.now();
      const child = spawn(interpreter, [fixture('first_line.py').fsPath, out], { stdio: 'ignore' });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0);
      bare.push(JSON.parse(fs.readFileSync(out, 'utf8')).firstLineAt - started);
      fs.rmSync(out, { force: true });
    }
    const record = {
      commandToFirstLineMs: median(throughVsCode),
      bareMs: median(bare),
      rounds: ROUNDS,
      throughVsCode,
      bare,
      host: `VS Code ${vscode.version}`,
      measuredAt: new Date().toISOString(),
    };
    console.log(`start-up from VS Code: command → first line ${record.commandToFirstLineMs} ms (median of ${ROUNDS}), bare ${record.bareMs} ms`);
    const ext = vscode.extensions.getExtension('mptree.mptree')!;
    fs.writeFileSync(path.join(ext.extensionPath, 'out', 'run-start.json'), JSON.stringify(record, null, 2) + '\n');
  });
});
