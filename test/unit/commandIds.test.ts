// The manifest and the code must agree on command ids: a command declared but never
// registered shows up in the palette and fails; one registered but not declared has no
// title; a menu entry naming a missing command is silently dropped by VS Code.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CommandId } from '../../src/vscode/commandIds';
import { allContextValues } from '../../src/vscode/tree/contextValues';

interface CommandContribution {
  command: string;
  title?: string;
  category?: string;
}
interface MenuItem {
  command?: string;
  alt?: string;
  submenu?: string;
  when?: string;
}

function findPackageJson(): string {
  // Compiled to out/test/unit/, run from anywhere: walk up to the manifest.
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate) && JSON.parse(fs.readFileSync(candidate, 'utf8')).name === 'mptree') {
      return candidate;
    }
    const up = path.dirname(dir);
    assert.notEqual(up, dir, 'package.json of mptree not found above ' + __dirname);
    dir = up;
  }
}

const manifest = JSON.parse(fs.readFileSync(findPackageJson(), 'utf8'));
const contributed: CommandContribution[] = manifest.contributes.commands;
const menus: Record<string, MenuItem[]> = manifest.contributes.menus ?? {};
const ids = Object.values(CommandId) as string[];

test('CommandId equals the contributed command ids exactly', () => {
  const declared = contributed.map((c) => c.command);
  assert.equal(new Set(declared).size, declared.length, 'a command is declared twice');
  assert.equal(new Set(ids).size, ids.length, 'two CommandId members share an id');
  assert.deepEqual([...ids].sort(), [...declared].sort());
});

test('every contributed command has a title and a category', () => {
  for (const c of contributed) {
    assert.ok(typeof c.title === 'string' && c.title.trim() !== '', `${c.command} has no title`);
    assert.ok(typeof c.category === 'string' && c.category.trim() !== '', `${c.command} has no category`);
  }
});

test('every command referenced in menus exists', () => {
  const known = new Set(contributed.map((c) => c.command));
  const referenced: string[] = [];
  for (const [menu, items] of Object.entries(menus)) {
    for (const item of items) {
      for (const id of [item.command, item.alt]) {
        if (id === undefined) continue;
        referenced.push(id);
        assert.ok(known.has(id), `menu ${menu} refers to unknown command ${id}`);
      }
    }
  }
  assert.ok(referenced.length > 0, 'no menus at all');
});

test('the welcome view links only to existing commands', () => {
  const known = new Set(ids);
  for (const welcome of manifest.contributes.viewsWelcome ?? []) {
    for (const match of String(welcome.contents).matchAll(/\(command:([\w.]+)/g)) {
      assert.ok(known.has(match[1]), `welcome view links to unknown command ${match[1]}`);
    }
  }
});

test('every viewItem regex in menus matches some contextValue the tree produces', () => {
  const values = allContextValues();
  for (const item of menus['view/item/context'] ?? []) {
    const found = /viewItem =~ \/(.+?)\/(?:\s|$)/.exec(item.when ?? '');
    assert.ok(found, `view/item/context entry for ${item.command} has no viewItem regex`);
    const re = new RegExp(found[1]);
    assert.ok(values.some((v) => re.test(v)), `${item.command}: /${found[1]}/ matches no contextValue`);
  }
});

test('process actions apply only where they make sense', () => {
  const regexOf = (command: string) => {
    const entries = (menus['view/item/context'] ?? []).filter((m) => m.command === command);
    assert.ok(entries.length > 0, `no context menu entry for ${command}`);
    const sources = new Set(entries.map((m) => /viewItem =~ \/(.+?)\/(?:\s|$)/.exec(m.when ?? '')?.[1]));
    // Inline button and context menu must agree, or the two places offer different things.
    assert.equal(sources.size, 1, `${command} uses different viewItem regexes`);
    return new RegExp([...sources][0]!);
  };
  const terminate = regexOf(CommandId.Terminate);
  assert.ok(terminate.test('process.running.instrumented'));
  assert.ok(terminate.test('process.running.os'));
  assert.ok(!terminate.test('process.exited.instrumented'), 'terminate offered on an exited process');
  assert.ok(!terminate.test('process.zombie.instrumented'), 'terminate offered on a zombie');
  const join = regexOf(CommandId.Join);
  assert.ok(join.test('process.running.instrumented.daemon'));
  assert.ok(join.test('process.zombie.instrumented'), 'join (which reaps) not offered on a zombie');
  assert.ok(!join.test('process.running.os'), 'join offered on a process no parent of ours can join');
  assert.ok(!join.test('process.running.instrumented.main'), 'join offered on the main program');
  assert.ok(!join.test('process.running.instrumented.helper'), 'join offered on a helper (resource tracker, forkserver)');
  assert.ok(!join.test('process.running.instrumented.helper.daemon'), 'join offered on a daemon helper');
  const stop = regexOf(CommandId.StopRun);
  assert.ok(stop.test('run.running') && !stop.test('run.finished'));
});
