// The depth the tree shows is the depth the queue has, whoever did the last get: for every
// start method, every queue kind, and a last get by a consumer that neither made nor fed
// the queue, by its maker, and by a process that exits right after it. Real Python, the
// real runtime and socket; compared with what the program itself reads (qsize()).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { RunSession } from '../../src/core/session';
import type { QueueInfo } from '../../src/core/types';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'runtime');
const fixture = path.join(root, 'test', 'fixtures', 'queue_last_get.py');
const methods = ['fork', 'spawn', 'forkserver'];
const scenarios = ['consumer', 'maker', 'quitter'];

const sessions: RunSession[] = [];

function label(queue: QueueInfo): string {
  return `${queue.kind}/${queue.maxsize}`;
}

function shownDepths(session: RunSession): Record<string, number> {
  const out: Record<string, number> = {};
  for (const queue of session.model.queues()) out[label(queue)] = queue.depth;
  return out;
}

describe('queue depths after the last get', { skip: process.platform !== 'linux' && 'qsize() and depth sampling: Linux' }, () => {
  afterEach(() => {
    for (const s of sessions.splice(0)) s.dispose();
  });

  for (const method of methods) {
    for (const scenario of scenarios) {
      it(`${method}, last get by the ${scenario}: the live tree and the end match qsize()`, async () => {
        const session = await RunSession.create({ target: { script: fixture, args: [method, scenario] }, cwd: root, runtimeDir });
        sessions.push(session);
        const child = session.start('pipe');
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d: Buffer) => (stdout += d));
        child.stderr!.on('data', (d: Buffer) => (stderr += d));
        const settled = new Promise<Record<string, number>>((resolve) => {
          child.stdout!.on('data', () => {
            const m = /^settled (.*)\n/m.exec(stdout); // a whole line: chunks split anywhere
            if (m) resolve(JSON.parse(m[1]));
          });
        });
        let exited = false;
        void session.ended.then(() => (exited = true));
        const truth = await Promise.race([settled, session.ended.then(() => assert.fail(`ended before it settled: ${stderr}`))]);
        assert.equal(Object.keys(truth).length, 5);
        // While the program still runs (it waits for a line on stdin after reading its
        // queues), the tree comes to the same depths; how fast is measured in bench/, not
        // here, so the wait is for the match, with a deadline only against a hang.
        let shown: Record<string, number> = {};
        const deadline = Date.now() + 30_000;
        while (!exited && Date.now() < deadline) {
          shown = shownDepths(session);
          if (Object.keys(truth).every((k) => shown[k] === truth[k])) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(exited, false, `ended before the tree matched: shown ${JSON.stringify(shown)}, qsize ${JSON.stringify(truth)}\n${stderr}`);
        assert.deepEqual(shown, truth, 'the live tree never came to what qsize() says');
        child.stdin!.end('caught up\n');
        const info = await session.ended;
        assert.equal(info.exitCode, 0, stderr);
        assert.deepEqual(shownDepths(session), truth, 'at the end');
        for (const queue of session.model.queues()) {
          assert.equal(queue.puts, 4, `${label(queue)} puts`);
          assert.equal(queue.gets, 4 - truth[label(queue)], `${label(queue)} gets`);
          if (queue.kind === 'JoinableQueue') assert.equal(queue.unfinished, truth[label(queue)], 'unfinished tasks');
        }
      });
    }
  }
});
