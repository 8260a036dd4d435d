// The CLI speaks the terminal's language (LC_ALL, LC_MESSAGES, LANG): the tree's words and its
// messages in Simplified Chinese for zh_CN, English otherwise; the --snapshot JSON in English
// either way. Real runs through dist/cli.js (`npm run build` first).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { languageFromEnv } from '../../src/core/l10n';
import type { SnapshotJson } from '../../src/core/types';

const root = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const fixture = path.join(root, 'test', 'fixtures', 'cli', 'daemon_and_joined.py');
const CJK = /[\u4e00-\u9fff]/;

function run(args: string[], locale: NodeJS.ProcessEnv) {
  // The test's own locale variables must not leak into the case under test.
  const env: NodeJS.ProcessEnv = { ...process.env, LANG: undefined, LC_ALL: undefined, LC_MESSAGES: undefined, ...locale };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.error, undefined);
  return result;
}

describe('mptree CLI language', { skip: process.platform === 'win32' && 'fork fixture' }, () => {
  it('LANG=zh_CN.UTF-8: the tree says 守护进程, 已回收, 被 SIGTERM 杀死; the snapshot stays English', () => {
    const snapshot = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-lang-')), 'run.json');
    const result = run(['run', '--snapshot', snapshot, fixture], { LANG: 'zh_CN.UTF-8' });
    assert.equal(result.status, 0, result.stderr);
    const sleeper = result.stderr.split('\n').find((line) => line.includes('sleeper'));
    const done = result.stderr.split('\n').find((line) => /\bdone\b/.test(line));
    assert.ok(sleeper && done, `no sleeper or done line in:\n${result.stderr}`);
    assert.match(sleeper, /守护进程/);
    assert.match(sleeper, /被 SIGTERM 杀死/);
    assert.match(done, /已回收/);
    assert.match(done, /已退出，退出码 0/);
    assert.doesNotMatch(result.stderr, /\b(daemon|joined|exited)\b/);
    const json = JSON.parse(fs.readFileSync(snapshot, 'utf8')) as SnapshotJson;
    assert.doesNotMatch(JSON.stringify(json), CJK, 'the snapshot is for programs: English only');
    fs.rmSync(path.dirname(snapshot), { recursive: true, force: true });
  });

  it('LANG=C: the same run in English', () => {
    const result = run(['run', fixture], { LANG: 'C' });
    assert.equal(result.status, 0, result.stderr);
    const sleeper = result.stderr.split('\n').find((line) => line.includes('sleeper'));
    assert.ok(sleeper, result.stderr);
    assert.match(sleeper, /daemon/);
    assert.match(sleeper, /killed by SIGTERM/);
    assert.match(result.stderr, /joined .*exited 0/);
    assert.doesNotMatch(result.stderr, CJK);
  });

  it('LC_ALL wins over LANG, and messages follow too', () => {
    const chinese = run(['run', 'no/such/script.py'], { LANG: 'C', LC_ALL: 'zh_CN.UTF-8' });
    assert.equal(chinese.status, 2);
    assert.equal(chinese.stderr, 'mptree: 文件不存在：no/such/script.py\n');
    const english = run(['run', 'no/such/script.py'], { LANG: 'zh_CN.UTF-8', LC_ALL: 'en_US.UTF-8' });
    assert.equal(english.stderr, 'mptree: no such file: no/such/script.py\n');
    const usage = run(['bogus'], { LC_MESSAGES: 'zh_CN' });
    assert.match(usage.stderr, /未知命令“bogus”/);
  });

  it('which locales read Simplified Chinese', () => {
    const cases: Array<[NodeJS.ProcessEnv, string]> = [
      [{ LANG: 'zh_CN.UTF-8' }, 'zh-cn'],
      [{ LANG: 'zh_SG.GB2312' }, 'zh-cn'],
      [{ LANG: 'zh' }, 'zh-cn'],
      [{ LANG: 'zh_TW.UTF-8' }, 'en'],
      [{ LANG: 'C.UTF-8' }, 'en'],
      [{}, 'en'],
      [{ LANG: 'zh_CN.UTF-8', LC_MESSAGES: 'en_US.UTF-8' }, 'en'],
      [{ LANG: 'en_US.UTF-8', LC_ALL: 'zh_CN.UTF-8' }, 'zh-cn'],
    ];
    for (const [env, expected] of cases) assert.equal(languageFromEnv(env), expected, JSON.stringify(env));
  });
});
