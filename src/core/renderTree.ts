// The run as a text tree for a terminal (the CLI's live view and final summary).
import { poolHeaderParts } from './poolText';
import { collectedByText } from './collectedBy';
import type { RunModel } from './model';
import type { PoolInfo, ProcessInfo, QueueInfo, RunInfo } from './types';
import { formatCpuSeconds, usageParts, usageTotals } from './usageText';

export interface RenderOptions {
  /** ANSI colours; the CLI enables them only for a TTY without NO_COLOR. */
  color?: boolean;
  /** Cut the output to this many lines (the live view must fit the screen to redraw in place). */
  maxLines?: number;
  /** Cut each line to this many characters. */
  width?: number;
}

const ANSI = { reset: '\x1b[0m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m', bold: '\x1b[1m' };
type Colour = keyof typeof ANSI;

export function describeState(p: Pick<ProcessInfo, 'state' | 'exitCode' | 'signal'>): string {
  if (p.state === 'running') return 'running';
  const code = p.signal ? `killed by ${p.signal}` : p.exitCode === null ? 'exit code unknown' : `exit ${p.exitCode}`;
  return p.state === 'zombie' ? `zombie (${code})` : p.signal ? code : `exited${p.exitCode === null ? ' (code unknown)' : ` ${p.exitCode}`}`;
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
  const lines: string[] = [];

  if (run) {
    let status: string;
    if (run.state === 'failed') status = paint('red', `failed: ${printable(run.error ?? 'unknown error')}`);
    else if (run.endedAt !== null || run.exitCode !== null) {
      const code = run.signal ? `killed by ${run.signal}` : `exit ${run.exitCode ?? '?'}`;
      status = paint(run.exitCode === 0 ? 'green' : 'red', code);
    } else status = paint('green', run.state);
    // The run's total CPU once it ended: what each ended process measured, summed.
    const totals = run.endedAt !== null ? usageTotals(model.processes()) : null;
    const cpu = totals && totals.ended ? paint('dim', ` · ${formatCpuSeconds(totals.cpuSeconds)} CPU in all`) : '';
    lines.push(`${paint('bold', 'mptree')} ${printable(run.script)}${run.args.length ? ' ' + printable(run.args.join(' ')) : ''}  ${status}${cpu}`);
    if (run.notice) lines.push(paint('yellow', `! ${printable(run.notice)}`));
  }

  const processLabel = (p: ProcessInfo): string => {
    const tags: string[] = [];
    if (p.kind === 'helper' && p.role) tags.push(p.role);
    if (p.kind === 'os' && p.command && p.command !== p.name) tags.push(printable(p.command));
    if (p.daemon) tags.push('daemon');
    if (p.orphaned) tags.push('orphaned');
    if (p.joined) tags.push('joined');
    else if (collectedByText(p.collectedBy)) tags.push(collectedByText(p.collectedBy)!);
    const tagText = tags.length ? ' ' + paint('dim', tags.join(' · ')) : '';
    const name = p.state === 'exited' ? paint('dim', printable(p.name)) : printable(p.name);
    const usage = usageParts(p);
    const usageText = usage.length ? paint('dim', ` · ${usage.join(' · ')}`) : '';
    return `${name} ${paint('dim', `[${p.pid}]`)}${tagText}  ${paint(stateColour(p), describeState(p))}${usageText}`;
  };
  const queueLabel = (q: QueueInfo): string => {
    const extra = q.unfinished !== null ? ` · ${q.unfinished} unfinished` : '';
    return `${paint('cyan', q.kind)} ${printable(q.id)}  ${q.depth} / ${q.maxsize > 0 ? q.maxsize : '∞'}${extra}`;
  };
  const poolLabel = (p: PoolInfo): string => {
    const state = p.state === 'running' ? '' : ` · ${p.state}`;
    return `${paint('cyan', p.kind)} ${printable(p.id)}  ${poolHeaderParts(p).join(' · ')}${state}`;
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
  if (tops.length === 0) lines.push(paint('dim', '(no processes yet)'));

  let out = lines;
  if (options.maxLines !== undefined && out.length > options.maxLines) {
    const keep = Math.max(1, options.maxLines - 1);
    out = [...out.slice(0, keep), paint('dim', `… ${lines.length - keep} more lines`)];
  }
  if (options.width !== undefined) out = out.map((line) => truncate(line, options.width!));
  return out.join('\n');
}

/** Cuts a line to `width` visible characters, keeping ANSI sequences intact. */
function truncate(line: string, width: number): string {
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
    if (visible >= width - 1 && i < line.length - 1 && stripAnsi(line.slice(i)).length > 1) {
      return out + '…' + (out.includes('\x1b[') ? ANSI.reset : '');
    }
    out += line[i];
    visible++;
  }
  return out;
}

export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
