// A stacks report in words: for the terminal (`mptree dump`) and the read-only document of
// Show Python Stacks (whose links are the frames' places in the text), and as JSON.
import type { ThreadStack } from './protocol';
import type { ProcessState } from './types';
import { english, phrase, render, type Localizer } from './l10n';
import { printable } from './renderTree';
import type { ProcessStacks, StacksReport } from './stacks';

/** A frame's place in a line of text, for a link to it (the document's DocumentLinkProvider). */
export interface FrameLink {
  /** 0-based line of the text, and the columns of the `file:line` part. */
  line: number;
  start: number;
  end: number;
  file: string;
  lineNumber: number;
}

export interface StacksTextOptions {
  t?: Localizer;
  /** Include the runtime's own threads (hidden by default: they are mptree, not the program). */
  showRuntime?: boolean;
  /** The process's words for its state (renderTree's describeState, say). */
  describe?: (p: ProcessStacks) => string;
}

/**
 * The report as text: per process a header (name, pid, state), then each thread, its frames
 * innermost last as in a Python traceback, one `file:line in function` a line.
 */
export function stacksText(report: StacksReport, options: StacksTextOptions = {}): { text: string; links: FrameLink[] } {
  const t = options.t ?? english;
  const lines: string[] = [];
  const links: FrameLink[] = [];
  for (const proc of report.processes) {
    if (lines.length > 0) lines.push('');
    const state = options.describe ? options.describe(proc) : proc.state;
    lines.push(`${printable(proc.name || t('pid {0}', proc.pid))} [${proc.pid}]  ${state}`);
    if (!proc.threads) {
      lines.push(`  ${t('no stacks: {0}', render(proc.reason ?? phrase('no answer'), t))}`);
      continue;
    }
    const shown = proc.threads.filter((th) => options.showRuntime || !th.runtime);
    const hidden = proc.threads.length - shown.length;
    for (const th of shown) {
      const flags = [th.daemon ? t('daemon') : '', th.runtime ? t('mptree runtime') : ''].filter(Boolean).join(', ');
      lines.push(`  ${t('thread {0} ({1})', printable(th.name), th.threadId)}${flags ? ` ${flags}` : ''}`);
      if (th.omitted > 0) lines.push(`    ${t('… {0} outer frames left out', th.omitted)}`);
      if (th.frames.length === 0) lines.push(`    ${t('(no Python frames)')}`);
      for (const frame of th.frames) {
        const where = `${printable(frame.file)}:${frame.line}`;
        const prefix = '    ';
        links.push({ line: lines.length, start: prefix.length, end: prefix.length + where.length, file: frame.file, lineNumber: frame.line });
        lines.push(`${prefix}${where} ${t('in {0}', printable(frame.function))}`);
      }
    }
    if (hidden > 0) lines.push(`  ${hidden === 1 ? t('(1 thread of the mptree runtime not shown)') : t('({0} threads of the mptree runtime not shown)', hidden)}`);
  }
  return { text: lines.join('\n'), links };
}

/** The report as JSON for programs (English reasons). */
export function stacksJson(report: StacksReport): Array<{ pid: number; name: string; state: ProcessState; threads: ThreadStack[] | null; reason: string | null }> {
  return report.processes.map((p) => ({ pid: p.pid, name: p.name, state: p.state, threads: p.threads, reason: p.reason ? render(p.reason) : null }));
}
