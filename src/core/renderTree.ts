// The run as a text tree for a terminal (the CLI's live view and final summary).
import { poolHeaderParts } from './poolText';
import { collectedByText } from './collectedBy';
import type { RunModel } from './model';
import type { PoolInfo, ProcessInfo, QueueInfo, RunInfo } from './types';
import { english, render, type Localizer } from './l10n';
import { noticeText } from './session';
import { formatCpuSeconds, usageParts, usageTotals } from './usageText';
import { activityWords } from './waitText';

export interface RenderOptions {
  /** ANSI colours; the CLI enables them only for a TTY without NO_COLOR. */
  color?: boolean;
  /** Cut the output to this many lines (the live view must fit the screen to redraw in place). */
  maxLines?: number;
  /** Cut each line to this many characters. */
  width?: number;
  /** The words' language (the CLI's follows LANG); the snapshot JSON never goes through it. */
  t?: Localizer;
  /** The clock for how long waits and tasks have lasted (tests). */
  now?: number;
}

const ANSI = { reset: '\x1b[0m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m', bold: '\x1b[1m' };
type Colour = keyof typeof ANSI;

export function describeState(p: Pick<ProcessInfo, 'state' | 'exitCode' | 'signal'>, t: Localizer = english): string {
  if (p.state === 'running') return t('running');
  const code = p.signal ? t('killed by {0}', p.signal) : p.exitCode === null ? t('exit code unknown') : t('exit {0}', p.exitCode);
  if (p.state === 'zombie') return t('zombie ({0})', code);
  if (p.signal) return code;
  return p.exitCode === null ? t('exited (code unknown)') : t('exited {0}', p.exitCode);
}

function runStateText(state: RunInfo['state'], t: Localizer): string {
  if (state === 'starting') return t('starting');
  if (state === 'running') return t('running');
  return state === 'failed' ? t('failed') : t('finished');
}

/** A pool's state in words (the tree view's too). */
export function poolStateText(state: PoolInfo['state'], t: Localizer): string {
  if (state === 'closed') return t('closed');
  if (state === 'terminated') return t('terminated');
  if (state === 'joined') return t('joined');
  return state === 'shutdown' ? t('shutdown') : t('running');
}

function stateColour(p: ProcessInfo): Colour {
  if (p.state === 'running') return 'green';
  if (p.state === 'zombie') return 'yellow';
  // Unknown (an OS-only process) is not a failure.
  return p.exitCode === 0 || p.exitCode === null ? 'dim' : 'red';
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text from the program (process names, command lines, ids) made safe for a terminal: a name
 * holding an escape sequence must not move the cursor or recolour the screen, and a newline
 * must not break the tree. Control characters are shown escaped instead.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

export function renderTree(model: RunModel, run?: RunInfo, options: RenderOptions = {}): string {
  const paint = (colour: Colour, text: string) => (options.color ? `${ANSI[colour]}${text}${ANSI.reset}` : text);
  const t = options.t ?? english;
  const now = options.now ?? Date.now();
  const lines: string[] = [];

  if (run) {
    let status: string;
    if (run.state === 'failed') status = paint('red', t('failed: {0}', printable(run.error ?? t('unknown error'))));
    else if (run.endedAt !== null || run.exitCode !== null) {
      const code = run.signal ? t('killed by {0}', run.signal) : t('exit {0}', run.exitCode ?? '?');
      status = paint(run.exitCode === 0 ? 'green' : 'red', code);
    } else status = paint('green', runStateText(run.state, t));
    // The run's total CPU once it ended: what each ended process measured, summed.
    const totals = run.endedAt !== null ? usageTotals(model.processes()) : null;
    const cpu = totals && totals.ended ? paint('dim', ` · ${t('{0} CPU in all', formatCpuSeconds(totals.cpuSeconds))}`) : '';
    lines.push(`${paint('bold', 'mptree')} ${printable(run.script)}${run.args.length ? ' ' + printable(run.args.join(' ')) : ''}  ${status}${cpu}`);
    if (run.notice) lines.push(paint('yellow', `! ${printable(noticeText(run.notice, t))}`));
  }

  const processLabel = (p: ProcessInfo): string => {
    const tags: string[] = [];
    if (p.kind === 'helper' && p.role) tags.push(p.role);
    if (p.kind === 'os' && p.command && p.command !== p.name) tags.push(printable(p.command));
    if (p.daemon) tags.push(t('daemon'));
    if (p.orphaned) tags.push(t('orphaned'));
    if (p.joined) tags.push(t('joined'));
    else if (collectedByText(p.collectedBy, t)) tags.push(collectedByText(p.collectedBy, t)!);
    const tagText = tags.length ? ' ' + paint('dim', tags.join(' · ')) : '';
    const name = p.state === 'exited' ? paint('dim', printable(p.name)) : printable(p.name);
    const usage = usageParts(p, t);
    const usageText = usage.length ? paint('dim', ` · ${usage.join(' · ')}`) : '';
    // What it waits on or runs, where `running` alone said nothing about a hung process.
    const activity = activityWords(p, model, now, t);
    const state = activity ? paint(p.wait ? 'yellow' : 'green', activity) : paint(stateColour(p), describeState(p, t));
    return `${name} ${paint('dim', `[${p.pid}]`)}${tagText}  ${state}${usageText}`;
  };
  const queueLabel = (q: QueueInfo): string => {
    const extra = q.unfinished !== null ? ` · ${t('{0} unfinished', q.unfinished)}` : '';
    return `${paint('cyan', q.kind)} ${printable(q.id)}  ${q.depth} / ${q.maxsize > 0 ? q.maxsize : '∞'}${extra}`;
  };
  const poolLabel = (p: PoolInfo): string => {
    const state = p.state === 'running' ? '' : ` · ${poolStateText(p.state, t)}`;
    return `${paint('cyan', p.kind)} ${printable(p.id)}  ${poolHeaderParts(p, t).join(' · ')}${state}`;
  };

  type Row = { label: string; children: () => Row[] };
  const processRow = (p: ProcessInfo): Row => ({
    label: processLabel(p),
    children: () => {
      const children = model.children(p.key);
      const pools = model.poolsOf(p.key);
      const poolIds = new Set(pools.map((pool) => pool.id));
      // Workers sit under their pool, not beside it.
      const inPool = (c: ProcessInfo) => c.poolId !== null && poolIds.has(c.poolId);
      return [
        ...model.queuesOf(p.key).map((q): Row => ({ label: queueLabel(q), children: () => [] })),
        ...pools.map(
          (pool): Row => ({ label: poolLabel(pool), children: () => children.filter((c) => c.poolId === pool.id).map(processRow) }),
        ),
        ...children.filter((c) => !inPool(c)).map(processRow),
      ];
    },
  });

  const visit = (rows: Row[], prefix: string) => {
    rows.forEach((row, i) => {
      const last = i === rows.length - 1;
      lines.push(prefix + paint('dim', last ? '└─ ' : '├─ ') + row.label);
      visit(row.children(), prefix + paint('dim', last ? '   ' : '│  '));
    });
  };
  const tops = model.children(null).map(processRow);
  if (run) visit(tops, '');
  else
    // Without a header the roots need no connector.
    for (const top of tops) {
      lines.push(top.label);
      visit(top.children(), '');
    }
  if (tops.length === 0) lines.push(paint('dim', t('(no processes yet)')));
  // Deadlocks found while the run lived, still said once it was stopped and its waits are gone.
  for (const d of model.deadlocksSeen()) lines.push(paint('red', `✖ ${printable(render(d.text, t))}`));

  let out = lines;
  if (options.maxLines !== undefined && out.length > options.maxLines) {
    const keep = Math.max(1, options.maxLines - 1);
    out = [...out.slice(0, keep), paint('dim', t('… {0} more lines', lines.length - keep))];
  }
  if (options.width !== undefined) out = out.map((line) => fitWidth(line, options.width!));
  return out.join('\n');
}

// Chinese (and other wide) characters take two columns of a terminal: a line counted in
// characters would wrap and break the live view's redraw in place.
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/;
const columnsOf = (ch: string) => (WIDE.test(ch) ? 2 : 1);

/** Cuts a line to `width` terminal columns, keeping ANSI sequences intact. */
export function fitWidth(line: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      if (end !== -1) {
        out += line.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    const cols = columnsOf(line[i]);
    // Room for this character and, unless it is the last visible one, the ellipsis.
    if (visible + cols > width - 1 && displayWidth(stripAnsi(line.slice(i))) > width - visible) {
      return out + '…' + (out.includes('\x1b[') ? ANSI.reset : '');
    }
    out += line[i];
    visible += cols;
  }
  return out;
}

function displayWidth(text: string): number {
  let n = 0;
  for (const ch of text) n += columnsOf(ch);
  return n;
}

export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
