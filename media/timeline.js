// The timeline webview: one lane per process (start to exit, coloured by state, its end marked
// with a glyph and words, its own CPU or memory as a thin line), then each queue's depth, each
// pool's pending tasks and the run's CPU and memory as small area charts. Drawn on one canvas
// the size of the viewport; a spacer gives the scroller the full height, and only the rows in
// view are drawn, so 1,000 lanes cost what 30 do. For the keyboard and screen readers the rows
// in view (and the selected one) are also real elements of a listbox over the canvas, with a
// roving tabindex: arrows move between lanes, Enter does what a click does, and a live region
// says the selected lane's state when it changes. Colours come from the theme's --vscode-*
// variables. Plain script, no imports: the Content-Security-Policy allows this file (by nonce)
// and nothing else.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  // The words, localized by the extension (src/vscode/timeline/timelineStrings.ts).
  const S = JSON.parse(document.getElementById('mptree-strings').textContent);
  const say = (text, ...args) => text.replace(/\{(\d+)\}/g, (whole, i) => (i < args.length ? String(args[i]) : whole));
  const ROW = 18;
  const CHART = 46;
  const SECTION = 22;
  const LABEL_W = 270;
  const INDENT = 12;

  const scroller = document.getElementById('scroller');
  const spacer = document.getElementById('spacer');
  const canvas = document.getElementById('canvas');
  const ctx = canvas.getContext('2d');
  const tip = document.getElementById('tip');
  const titleEl = document.getElementById('title');
  const statusEl = document.getElementById('status');
  const rowsEl = document.getElementById('rows');
  const announceEl = document.getElementById('announce');
  const laneLineButton = document.getElementById('lane-line');

  /** @type {{title:string,startedAt:number,endedAt:number|null,live:boolean,readOnly:boolean}|null} */
  let run = null;
  /** lanes in display order */
  let order = [];
  const lanes = new Map();
  const series = new Map();
  let seriesOrder = [];
  /** Offset between the extension host's clock and ours, so live lanes grow smoothly. */
  let clockSkew = 0;
  let colors = {};
  let drawQueued = false;
  let hoverRow = -1;
  /** The lane the keyboard is on (its key): the one row with tabindex 0. */
  let selectedKey = null;
  /** The selected lane's state as last said, so an update says only a change of state. */
  let announcedState = '';
  /** The largest memory any lane had (MB): the lanes' memory lines share one scale. */
  let memoryPeak = 0;
  /** Each lane's own figures: key → [[t, CPU %, MB], ...]. */
  const usage = new Map();
  /** The thin line in each lane: 'cpu', 'memory' or 'off' (the header's button cycles it). */
  const LANE_LINES = ['cpu', 'memory', 'off'];
  let laneLine = (vscode.getState() && vscode.getState().laneLine) || 'cpu';

  function readColors() {
    const css = getComputedStyle(document.documentElement);
    const v = (name, fallback) => (css.getPropertyValue(name) || '').trim() || fallback;
    colors = {
      fg: v('--vscode-foreground', '#ccc'),
      dim: v('--vscode-descriptionForeground', '#999'),
      bg: v('--vscode-editor-background', '#1e1e1e'),
      grid: v('--vscode-editorWidget-border', v('--vscode-panel-border', '#444')),
      running: v('--vscode-charts-green', '#89d185'),
      zombie: v('--vscode-list-warningForeground', v('--vscode-charts-yellow', '#cca700')),
      exited: v('--vscode-disabledForeground', '#777'),
      failed: v('--vscode-charts-red', '#f14c4c'),
      worker: v('--vscode-charts-blue', '#3794ff'),
      daemon: v('--vscode-charts-purple', '#b180d7'),
      hover: v('--vscode-list-hoverBackground', 'rgba(128,128,128,0.15)'),
      chart: v('--vscode-charts-blue', '#3794ff'),
      limit: v('--vscode-charts-orange', '#d18616'),
      waiting: v('--vscode-descriptionForeground', '#999'),
      font: v('--vscode-font-family', 'sans-serif'),
      fontSize: v('--vscode-font-size', '12px'),
    };
  }

  function now() {
    return Date.now() + clockSkew;
  }

  function timeRange() {
    if (!run) return [0, 1];
    const end = run.endedAt ?? (run.live ? now() : Math.max(run.startedAt + 1, ...[...lanes.values()].map((l) => l.exitedAt ?? l.start)));
    return [run.startedAt, Math.max(end, run.startedAt + 1000)];
  }

  function contentHeight() {
    let h = SECTION + order.length * ROW;
    if (seriesOrder.length > 0) h += SECTION + seriesOrder.length * CHART;
    return h + 8;
  }

  function layout() {
    // The header may wrap onto a second line (a narrow panel): the rows start below it.
    const headerH = document.getElementById('header').offsetHeight;
    if (scroller.offsetTop !== headerH + 1) scroller.style.top = headerH + 1 + 'px';
    spacer.style.height = contentHeight() + 'px';
    const dpr = window.devicePixelRatio || 1;
    const w = scroller.clientWidth;
    const h = scroller.clientHeight;
    canvas.style.top = scroller.offsetTop + 'px';
    canvas.style.width = w + 'px';
    canvas.style.height = h + 'px';
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  function queueDraw() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      // Each frame's cost goes back to the extension: the benchmark reports it for big runs.
      const began = performance.now();
      draw();
      vscode.postMessage({ type: 'drawn', ms: performance.now() - began, lanes: order.length });
    });
  }

  function failed(l) {
    return l.exitedAt !== null && (!!l.signal || (l.exitCode !== null && l.exitCode !== 0));
  }

  /** The glyph and words at a lane's end: ✓ for a clean exit, ✗ with the code or signal for a failure. */
  function endMark(l) {
    if (l.exitedAt === null) return '';
    if (l.signal) return `✗ ${l.signal}`;
    if (l.exitCode === null) return '';
    return l.exitCode === 0 ? '✓ 0' : `✗ ${say(S.exitCode, l.exitCode)}`;
  }

  /** A lane's own CPU (0 to 100 % of one core, or its peak) or memory (0 to the largest lane's peak) as a thin step line. */
  function drawLaneLine(l, ry, xOf, end) {
    const pts = usage.get(l.key);
    if (laneLine === 'off' || !pts || pts.length === 0) return;
    const col = laneLine === 'cpu' ? 1 : 2;
    let max = laneLine === 'cpu' ? 100 : memoryPeak;
    for (const p of pts) if (p[col] > max) max = p[col];
    if (max <= 0) return;
    const base = ry + ROW - 3;
    const hh = ROW - 6;
    ctx.strokeStyle = colors.fg;
    ctx.globalAlpha = 0.85;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let prevY = base - (pts[0][col] / max) * hh;
    ctx.moveTo(xOf(pts[0][0]), prevY);
    for (const p of pts) {
      const x = xOf(p[0]);
      ctx.lineTo(x, prevY);
      prevY = base - (p[col] / max) * hh;
      ctx.lineTo(x, prevY);
    }
    ctx.lineTo(xOf(end), prevY);
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1;
  }

  let waitPatternCache = null;
  /** Diagonal stripes: waiting time reads apart from busy time by its shape, not only its colour. */
  function waitPattern() {
    const key = colors.waiting + '|' + colors.bg;
    if (waitPatternCache && waitPatternCache.key === key) return waitPatternCache.pattern;
    const tile = document.createElement('canvas');
    tile.width = tile.height = 6;
    const t = tile.getContext('2d');
    t.fillStyle = colors.bg;
    t.fillRect(0, 0, 6, 6);
    t.strokeStyle = colors.waiting;
    t.lineWidth = 1.5;
    t.beginPath();
    t.moveTo(0, 6);
    t.lineTo(6, 0);
    t.moveTo(-1, 1);
    t.lineTo(1, -1);
    t.moveTo(5, 7);
    t.lineTo(7, 5);
    t.stroke();
    waitPatternCache = { key, pattern: ctx.createPattern(tile, 'repeat') };
    return waitPatternCache.pattern;
  }

  /** Milliseconds a lane spent waiting, up to `until` for a wait that lasts. */
  function waitedMs(l, until) {
    let ms = 0;
    for (const [since, end] of l.waits || []) ms += Math.max(0, (end ?? until) - since);
    return ms;
  }

  function laneColor(l) {
    if (l.state === 'zombie') return colors.zombie;
    if (l.state === 'exited') return failed(l) ? colors.failed : colors.exited;
    if (l.kind === 'pool-worker') return colors.worker;
    if (l.daemon) return colors.daemon;
    return colors.running;
  }

  function draw() {
    layout();
    const w = scroller.clientWidth;
    const h = scroller.clientHeight;
    const top = scroller.scrollTop;
    ctx.clearRect(0, 0, w, h);
    ctx.font = `${colors.fontSize} ${colors.font}`;
    ctx.textBaseline = 'middle';
    const [t0, t1] = timeRange();
    const x0 = LABEL_W;
    const span = Math.max(1, w - x0 - 8);
    const xOf = (t) => x0 + ((t - t0) / (t1 - t0)) * span;

    // Time grid: about one line per 100 px, at round seconds.
    const step = niceStep((t1 - t0) / Math.max(1, span / 100));
    ctx.strokeStyle = colors.grid;
    ctx.fillStyle = colors.dim;
    ctx.lineWidth = 1;
    for (let t = 0; t <= t1 - t0; t += step) {
      const x = Math.round(xOf(t0 + t)) + 0.5;
      ctx.globalAlpha = 0.35;
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, h);
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.fillText(fmtSeconds(t), x + 3, 9);
    }

    // Processes section.
    let y = SECTION - top;
    ctx.fillStyle = colors.fg;
    if (y > -SECTION) ctx.fillText(say(S.processes, order.length), 6, y - SECTION / 2 + 2);
    const first = Math.max(0, Math.floor(-y / ROW));
    const last = Math.min(order.length, Math.ceil((h - y) / ROW));
    for (let i = first; i < last; i++) {
      const l = lanes.get(order[i]);
      if (!l) continue;
      const ry = y + i * ROW;
      if (i === hoverRow || order[i] === selectedKey) {
        ctx.fillStyle = colors.hover;
        ctx.fillRect(0, ry, w, ROW);
      }
      // Label: indented by nesting, with markers.
      const indent = 6 + Math.min(l.depth, 12) * INDENT;
      if (l.depth > 0) {
        ctx.strokeStyle = colors.grid;
        ctx.beginPath();
        ctx.moveTo(indent - INDENT / 2 + 0.5, ry);
        ctx.lineTo(indent - INDENT / 2 + 0.5, ry + ROW / 2);
        ctx.lineTo(indent - 2, ry + ROW / 2);
        ctx.stroke();
      }
      ctx.fillStyle = l.state === 'exited' ? colors.dim : colors.fg;
      let label = `${l.name} ${say(S.pid, l.pid)}`;
      // The letters are the legend's: D a daemon, W a pool worker.
      if (l.daemon && l.kind !== 'pool-worker') label += ' · D';
      if (l.kind === 'pool-worker') label += ' · W';
      if (l.hint) label = '⚠ ' + label;
      ctx.save();
      ctx.beginPath();
      ctx.rect(0, ry, LABEL_W - 6, ROW);
      ctx.clip();
      if (l.hint) ctx.fillStyle = colors.zombie;
      ctx.fillText(label, indent, ry + ROW / 2);
      ctx.restore();

      // Bar: running part, zombie part, end tick.
      const start = xOf(l.start);
      const exited = l.exitedAt ?? null;
      const end = exited ?? (run && run.live ? now() : t1);
      const barY = ry + 4;
      const barH = ROW - 8;
      ctx.fillStyle = exited === null ? laneColor(l) : l.kind === 'pool-worker' ? colors.worker : l.daemon ? colors.daemon : colors.running;
      ctx.globalAlpha = exited === null ? 0.9 : 0.45;
      ctx.fillRect(start, barY, Math.max(2, xOf(end) - start), barH);
      ctx.globalAlpha = 1;
      // Waiting time over the bar, hatched: idle and busy workers tell apart at a glance.
      if (l.waits && l.waits.length > 0) {
        ctx.fillStyle = waitPattern();
        for (const [since, until] of l.waits) {
          const a = xOf(Math.max(since, l.start));
          const b = xOf(until ?? end);
          if (b > a) ctx.fillRect(a, barY, Math.max(1, b - a), barH);
        }
      }
      if (exited !== null) {
        const reaped = l.reapedAt ?? (l.state === 'zombie' ? (run && run.live ? now() : t1) : exited);
        if (reaped > exited) {
          ctx.fillStyle = colors.zombie;
          ctx.fillRect(xOf(exited), barY, Math.max(2, xOf(reaped) - xOf(exited)), barH);
        }
        ctx.fillStyle = laneColor(l);
        ctx.fillRect(xOf(exited) - 1, ry + 2, 3, ROW - 4);
        // How it ended in a glyph and words, not in colour alone: ✓ 0, ✗ exit 3, ✗ SIGTERM.
        const mark = endMark(l);
        if (mark) {
          // After the lane's end; a zombie still waiting runs to the edge, so its mark sits on
          // its zombie stage, on a patch of the background to stay readable.
          const markW = ctx.measureText(mark).width;
          let endX = Math.max(xOf(exited), xOf(reaped)) + 4;
          if (endX + markW > w - 2) {
            endX = xOf(exited) + 4;
            ctx.fillStyle = colors.bg;
            ctx.fillRect(endX - 2, ry + 2, markW + 4, ROW - 4);
          }
          ctx.fillStyle = failed(l) ? colors.failed : colors.dim;
          ctx.fillText(mark, endX, ry + ROW / 2);
        }
      }
      drawLaneLine(l, ry, xOf, end);
      if (l.daemon && l.kind !== 'pool-worker') {
        // Daemons: a dashed outline, so they read differently without relying on colour alone.
        ctx.setLineDash([3, 2]);
        ctx.strokeStyle = colors.daemon;
        ctx.strokeRect(start + 0.5, barY + 0.5, Math.max(2, xOf(end) - start) - 1, barH - 1);
        ctx.setLineDash([]);
      }
    }

    // Charts section: queue depths, pool pending tasks, the running processes' CPU and memory.
    y = SECTION + order.length * ROW - top;
    if (seriesOrder.length > 0) {
      y += SECTION;
      ctx.fillStyle = colors.fg;
      if (y > 0 && y - SECTION < h) ctx.fillText(S.queuesPoolsUsage, 6, y - SECTION / 2 + 2);
      for (let i = 0; i < seriesOrder.length; i++) {
        const cy = y + i * CHART;
        if (cy + CHART < 0 || cy > h) continue;
        drawSeries(series.get(seriesOrder[i]), cy, xOf, t1);
      }
    }
  }

  function drawSeries(s, cy, xOf, t1) {
    if (!s) return;
    const pts = s.points;
    // The peak is the builder's (unit-tested): thinned points never lower it.
    const peak = s.peak ?? 0;
    const max = Math.max(1, s.limit || 0, peak);
    const base = cy + CHART - 6;
    const hh = CHART - 16;
    const yOf = (v) => base - (v / max) * hh;
    ctx.fillStyle = colors.dim;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, cy, LABEL_W - 6, CHART);
    ctx.clip();
    ctx.fillText(s.label, 6, cy + 12);
    const lastV = pts.length ? pts[pts.length - 1][1] : 0;
    ctx.fillText(s.limit ? say(S.nowOfLimitMax, lastV, s.limit, peak) : say(S.nowMax, lastV, peak), 6, cy + 28);
    ctx.restore();
    ctx.strokeStyle = colors.grid;
    ctx.beginPath();
    ctx.moveTo(LABEL_W, base + 0.5);
    ctx.lineTo(xOf(t1), base + 0.5);
    ctx.stroke();
    if (s.limit > 0) {
      ctx.strokeStyle = colors.limit;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(LABEL_W, Math.round(yOf(s.limit)) + 0.5);
      ctx.lineTo(xOf(t1), Math.round(yOf(s.limit)) + 0.5);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (pts.length === 0) return;
    // A step chart: a depth holds until the next sample.
    ctx.beginPath();
    ctx.moveTo(xOf(pts[0][0]), base);
    let prevY = base;
    for (const [t, v] of pts) {
      const x = xOf(t);
      ctx.lineTo(x, prevY);
      prevY = yOf(v);
      ctx.lineTo(x, prevY);
    }
    const endX = xOf(run && run.live ? now() : t1);
    ctx.lineTo(endX, prevY);
    ctx.lineTo(endX, base);
    ctx.closePath();
    ctx.fillStyle = s.kind === 'queue' ? colors.chart : colors.worker;
    ctx.globalAlpha = 0.35;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.strokeStyle = s.kind === 'queue' ? colors.chart : colors.worker;
    ctx.stroke();
  }

  function niceStep(raw) {
    const steps = [100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000];
    for (const s of steps) if (s >= raw) return s;
    return steps[steps.length - 1];
  }

  function fmtSeconds(ms) {
    if (ms < 60000) return say(S.seconds, (ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1));
    const m = Math.floor(ms / 60000);
    const s = Math.round((ms % 60000) / 1000);
    return s ? say(S.minutesSeconds, m, s) : say(S.minutes, m);
  }

  function fmtTime(t) {
    return run ? fmtSeconds(Math.max(0, t - run.startedAt)) : '';
  }

  /** The latest [CPU %, MB] of a lane, or null. */
  function lastUsage(key) {
    const pts = usage.get(key);
    return pts && pts.length ? pts[pts.length - 1] : null;
  }

  /** How a lane stands, in words: what a screen reader says and the tooltip shows. */
  function stateWords(l) {
    const at = l.exitedAt === null ? '' : fmtTime(l.exitedAt);
    if (l.exitedAt === null) {
      const u = lastUsage(l.key);
      return u ? say(S.runningUsage, u[1], u[2]) : S.running;
    }
    const end = l.signal
      ? say(S.failedSignal, at, l.signal)
      : l.exitCode !== null && l.exitCode !== 0
        ? say(S.failedCode, at, l.exitCode)
        : l.exitCode === 0
          ? say(S.cleanExit, at)
          : say(S.exitedAt, at);
    return l.state === 'zombie' ? `${end}; ${S.zombieNotJoined}` : end;
  }

  function laneWords(l) {
    const tags = [l.name, say(S.pid, l.pid)];
    if (l.daemon) tags.push(S.daemon);
    if (l.kind === 'pool-worker') tags.push(S.poolWorker);
    const parts = [tags.join(', '), stateWords(l)];
    if (l.hint) parts.push(l.hint);
    return parts.join('. ');
  }

  function header() {
    if (!run) return;
    titleEl.textContent = run.title;
    const state = run.live ? S.live : run.readOnly ? S.openedFromFile : S.ended;
    statusEl.textContent = ` · ${state} · ${order.length === 1 ? S.oneProcess : say(S.processCount, order.length)}`;
  }

  function showLaneLine() {
    laneLineButton.textContent = laneLine === 'cpu' ? S.laneLineCpu : laneLine === 'memory' ? S.laneLineMemory : S.laneLineOff;
    laneLineButton.title = S.laneLineHelp;
  }

  laneLineButton.addEventListener('click', () => {
    laneLine = LANE_LINES[(LANE_LINES.indexOf(laneLine) + 1) % LANE_LINES.length];
    vscode.setState({ ...(vscode.getState() || {}), laneLine });
    showLaneLine();
    queueDraw();
  });

  function rowAt(clientY) {
    const rect = scroller.getBoundingClientRect();
    const y = clientY - rect.top + scroller.scrollTop - SECTION;
    const row = Math.floor(y / ROW);
    return y >= 0 && row < order.length ? row : -1;
  }

  // ---- The rows as elements: a listbox of the lanes in view, one option per lane. ----
  const rowEls = new Map();

  function rowElement(index) {
    const key = order[index];
    let el = rowEls.get(key);
    if (!el) {
      el = document.createElement('div');
      el.className = 'row';
      el.setAttribute('role', 'option');
      el.dataset.key = key;
      rowEls.set(key, el);
    }
    const l = lanes.get(key);
    el.style.top = SECTION + index * ROW + 'px';
    el.setAttribute('aria-posinset', String(index + 1));
    el.setAttribute('aria-setsize', String(order.length));
    const selected = key === selectedKey;
    el.setAttribute('aria-selected', selected ? 'true' : 'false');
    el.tabIndex = selected || (selectedKey === null && index === 0) ? 0 : -1;
    const words = l ? laneWords(l) : key;
    if (el.textContent !== words) el.textContent = words;
    return el;
  }

  /** The option elements for the rows in view and the selected one; the others are removed. */
  function syncRows() {
    const top = scroller.scrollTop;
    const first = Math.max(0, Math.floor((top - SECTION) / ROW));
    const last = Math.min(order.length, Math.ceil((top + scroller.clientHeight) / ROW) + 1);
    const wanted = new Set();
    for (let i = first; i < last; i++) wanted.add(i);
    const sel = selectedKey === null ? -1 : order.indexOf(selectedKey);
    if (sel >= 0) wanted.add(sel);
    const keep = new Set();
    for (const i of [...wanted].sort((a, b) => a - b)) {
      const el = rowElement(i);
      keep.add(order[i]);
      if (el.parentNode !== rowsEl) rowsEl.appendChild(el);
    }
    for (const [key, el] of rowEls) {
      if (keep.has(key)) continue;
      if (el === document.activeElement) continue;
      el.remove();
      rowEls.delete(key);
    }
    // Their order in the document is the lanes' (what a screen reader's virtual cursor reads).
    const sorted = [...keep].map((k) => rowEls.get(k)).filter(Boolean);
    sorted.sort((a, b) => Number(a.getAttribute('aria-posinset')) - Number(b.getAttribute('aria-posinset')));
    for (const el of sorted) rowsEl.appendChild(el);
  }

  function select(index, focus) {
    if (index < 0 || index >= order.length) return;
    selectedKey = order[index];
    hoverRow = index;
    const y = SECTION + index * ROW;
    if (y < scroller.scrollTop + SECTION) scroller.scrollTop = Math.max(0, y - SECTION);
    else if (y + ROW > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = y + ROW - scroller.clientHeight;
    syncRows();
    const el = rowEls.get(selectedKey);
    if (focus && el) el.focus({ preventScroll: true });
    announceSelected(true);
    queueDraw();
  }

  /**
   * Says the selected lane's state (aria-live) when it changes. On a selection the focus itself
   * reads the row, state included; a running lane's figures move at each scan and are not said.
   */
  function announceSelected(force) {
    const l = selectedKey === null ? null : lanes.get(selectedKey);
    if (!l) return;
    const state = l.exitedAt === null ? S.running : stateWords(l);
    if (force) {
      announcedState = state;
      announceEl.textContent = '';
      return;
    }
    if (state === announcedState) return;
    announcedState = state;
    announceEl.textContent = say(S.laneNow, l.name, stateWords(l));
  }

  function reveal(index) {
    if (index >= 0 && index < order.length) vscode.postMessage({ type: 'reveal', key: order[index] });
  }

  scroller.addEventListener('scroll', () => {
    syncRows();
    queueDraw();
  }, { passive: true });
  window.addEventListener('resize', () => {
    syncRows();
    queueDraw();
  });
  scroller.addEventListener('mousemove', (e) => {
    const row = rowAt(e.clientY);
    if (row !== hoverRow) {
      hoverRow = row;
      queueDraw();
    }
    const l = row >= 0 ? lanes.get(order[row]) : null;
    if (!l) {
      tip.hidden = true;
      return;
    }
    const tags = [l.name, say(S.pid, l.pid)];
    if (l.daemon) tags.push(S.daemon);
    if (l.kind === 'pool-worker') tags.push(S.poolWorker);
    const lines = [tags.join(' · '), say(S.startedAt, fmtTime(l.start), stateWords(l))];
    const pts = usage.get(l.key);
    if (pts && pts.length) {
      let cpu = 0;
      let mb = 0;
      for (const p of pts) {
        if (p[1] > cpu) cpu = p[1];
        if (p[2] > mb) mb = p[2];
      }
      lines.push(say(S.usagePeaks, cpu, mb));
    }
    const waited = waitedMs(l, l.exitedAt ?? (run && run.live ? now() : timeRange()[1]));
    if (waited > 0) lines.push(say(S.waitedInAll, fmtSeconds(waited)));
    if (l.hint) lines.push('⚠ ' + l.hint);
    lines.push(S.clickToReveal);
    tip.textContent = lines.join('\n');
    tip.hidden = false;
    tip.style.left = Math.min(e.clientX + 12, window.innerWidth - tip.offsetWidth - 4) + 'px';
    tip.style.top = Math.min(e.clientY + 14, window.innerHeight - tip.offsetHeight - 4) + 'px';
  });
  scroller.addEventListener('mouseleave', () => {
    hoverRow = selectedKey === null ? -1 : order.indexOf(selectedKey);
    tip.hidden = true;
    queueDraw();
  });
  scroller.addEventListener('click', (e) => {
    const row = rowAt(e.clientY);
    if (row < 0) return;
    select(row, true);
    reveal(row);
  });
  rowsEl.addEventListener('keydown', (e) => {
    if (order.length === 0) return;
    const at = selectedKey === null ? -1 : order.indexOf(selectedKey);
    const page = Math.max(1, Math.floor(scroller.clientHeight / ROW) - 1);
    let to = null;
    if (e.key === 'ArrowDown') to = at + 1;
    else if (e.key === 'ArrowUp') to = at - 1;
    else if (e.key === 'Home') to = 0;
    else if (e.key === 'End') to = order.length - 1;
    else if (e.key === 'PageDown') to = at + page;
    else if (e.key === 'PageUp') to = at - page;
    else if ((e.key === 'Enter' || e.key === ' ') && at >= 0) {
      reveal(at);
      e.preventDefault();
      return;
    }
    if (to === null) return;
    select(Math.max(0, Math.min(order.length - 1, to)), true);
    e.preventDefault();
  });

  // Theme changes swap the body's class: re-read the colours.
  new MutationObserver(() => {
    readColors();
    queueDraw();
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });

  function takeUsage(list) {
    for (const u of list || []) {
      const known = usage.get(u.key);
      if (u.whole || !known) usage.set(u.key, [...u.points]);
      else for (const p of u.points) known.push(p);
      for (const p of u.points) if (p[2] > memoryPeak) memoryPeak = p[2];
    }
  }

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || typeof m !== 'object') return;
    if (m.type === 'reset') {
      lanes.clear();
      series.clear();
      usage.clear();
      memoryPeak = 0;
      for (const l of m.lanes) lanes.set(l.key, l);
      order = m.lanes.map((l) => l.key);
      for (const s of m.series) series.set(s.id, s);
      seriesOrder = m.series.map((s) => s.id);
      takeUsage(m.usage);
    } else if (m.type === 'update') {
      for (const l of m.lanes) lanes.set(l.key, l);
      if (m.order) order = m.order;
      for (const s of m.series) {
        const known = series.get(s.id);
        if (!known || s.label !== undefined) {
          series.set(s.id, { ...(known || {}), ...s, points: [...s.points] });
          if (!known) seriesOrder.push(s.id);
        } else {
          for (const p of s.points) known.points.push(p);
          known.peak = s.peak;
        }
      }
      takeUsage(m.usage);
    } else {
      return;
    }
    run = m.run;
    clockSkew = m.now - Date.now();
    if (selectedKey !== null && !lanes.has(selectedKey)) selectedKey = null;
    header();
    layout();
    syncRows();
    announceSelected(false);
    queueDraw();
    vscode.postMessage({ type: 'ack', seq: m.seq });
  });

  // While live, running lanes grow: redraw a few times a second, only when visible.
  setInterval(() => {
    if (run && run.live && !document.hidden) queueDraw();
  }, 250);

  readColors();
  showLaneLine();
  vscode.postMessage({ type: 'ready' });
})();
