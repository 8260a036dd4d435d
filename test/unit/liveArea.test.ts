import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LiveArea } from '../../src/core/liveArea';

const ESC = '\x1b';

function setup(rows = 20) {
  const writes: string[] = [];
  const area = new LiveArea((t) => writes.push(t), () => ({ rows, columns: 80 }));
  return { area, writes };
}

/** The part of a write between cursor save and restore. */
function saved(write: string): string {
  const start = write.indexOf(`${ESC}7`);
  const end = write.lastIndexOf(`${ESC}8`);
  assert.ok(start >= 0 && end > start, 'cursor saved and restored');
  assert.ok(write.endsWith(`${ESC}8`), 'the restore comes last: the program continues where it was');
  return write.slice(start + 2, end);
}

describe('LiveArea', () => {
  it('grows by scrolling at the program’s cursor, then reserves the bottom rows', () => {
    const { area, writes } = setup();
    area.render(['a', 'b', 'c']);
    const [first] = writes;
    // Room is made before the save: three IND, then back up three lines.
    assert.ok(first.startsWith(`${ESC}D${ESC}D${ESC}D${ESC}[3A${ESC}7`));
    const inner = saved(first);
    // Nothing may scroll while the cursor is saved (terminals disagree on the saved position).
    assert.doesNotMatch(inner, /\n|\x1bD|\x1b\[\d*S/);
    assert.ok(inner.includes(`${ESC}[1;17r`), 'scroll region above the area');
    assert.ok(inner.includes(`${ESC}[18;1H${ESC}[2Ka`) && inner.includes(`${ESC}[20;1H${ESC}[2Kc`));
    assert.equal(area.height, 3);
  });

  it('redraws in place without touching the region, and gives rows back when it shrinks', () => {
    const { area, writes } = setup();
    area.render(['a', 'b', 'c']);
    area.render(['x', 'y', 'z']);
    assert.ok(writes[1].startsWith(`${ESC}7`), 'no growth, no scrolling');
    assert.doesNotMatch(writes[1], /\x1b\[\d+;\d+r/);
    area.render(['only']);
    const inner = saved(writes[2]);
    assert.ok(inner.includes(`${ESC}[18;1H${ESC}[2K${ESC}[19;1H${ESC}[2K`), 'freed rows cleared');
    assert.ok(inner.includes(`${ESC}[1;19r`));
    assert.equal(area.height, 1);
  });

  it('never takes more than half the screen', () => {
    const { area } = setup(10);
    area.render(Array.from({ length: 30 }, (_, i) => `line ${i}`));
    assert.equal(area.height, 5);
  });

  it('close resets the scroll region and clears the area, once', () => {
    const { area, writes } = setup();
    area.render(['a', 'b']);
    area.close();
    const inner = saved(writes[1]);
    assert.ok(inner.startsWith(`${ESC}[r`));
    assert.ok(inner.includes(`${ESC}[19;1H${ESC}[2K${ESC}[20;1H${ESC}[2K`));
    area.close();
    area.render(['late']);
    assert.equal(writes.length, 2);
  });
});
