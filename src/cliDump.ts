// `mptree dump [PID] [--json]`: the tree and every thread's stack of a live run of this user,
// asked from its session through the run's dump endpoint (core/dumpEndpoint.ts). The run
// goes on; nothing here can stop or slow it but the second it takes to gather the stacks.
import { askEndpoint, dumpDirectory, liveEndpoints, type DumpEndpointInfo, type DumpOutcome, type DumpRequest } from './core/dumpEndpoint';
import { errorText, type Localizer } from './core/l10n';

/** A session answers within ~1.1 s (stacks included); past this it is said not to answer. */
const ANSWER_TIMEOUT_MS = 3000;

export interface DumpIo {
  t: Localizer;
  lang: DumpRequest['lang'];
  out: (text: string) => void | Promise<void>;
  err: (text: string) => void;
  color: boolean;
  width: number | null;
}

export const DUMP_USAGE = (t: Localizer) =>
  t(`Usage:
  mptree dump [PID] [--json]

Prints the process tree of a live mptree run of this user and every thread's Python stack
in each of its processes; the run goes on. PID: the pid of \`mptree run\` or of any process
of the run; without it, the only live run (with several, they are listed). --json: the same
as JSON (the --snapshot shape plus "stacks").`);

function describeRun(info: DumpEndpointInfo): string {
  const runBy = info.launcherPid ?? info.sessionPid;
  return `  ${runBy}${info.rootPid !== null ? ` (${info.rootPid})` : ''}  ${info.script}  ${new Date(info.startedAt).toLocaleTimeString()}`;
}

export async function dumpCommand(argv: string[], io: DumpIo): Promise<number> {
  const { t } = io;
  let pid: number | null = null;
  let json = false;
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '-h' || arg === '--help') {
      await io.out(DUMP_USAGE(t) + '\n');
      return 0;
    } else if (/^\d+$/.test(arg) && pid === null && Number(arg) > 0) pid = Number(arg);
    else {
      io.err(`mptree: ${t('mptree dump takes a PID and --json, not {0}', JSON.stringify(arg))}\n${DUMP_USAGE(t)}\n`);
      return 2;
    }
  }
  let directory: string;
  try {
    directory = dumpDirectory();
  } catch (error) {
    io.err(`mptree: ${errorText(error, t)}\n`);
    return 1;
  }
  const live = liveEndpoints(directory);
  const request: DumpRequest = { pid, format: json ? 'json' : 'text', lang: io.lang, color: io.color && !json, width: io.width };
  const ask = (info: DumpEndpointInfo) => askEndpoint(directory, info, request, ANSWER_TIMEOUT_MS);
  let outcome: DumpOutcome | null = null;
  if (pid === null) {
    if (live.length > 1) {
      io.err(`mptree: ${t('{0} live mptree runs of this user: say which, by the pid of `mptree run` (or of any of its processes):', live.length)}\n${live.map(describeRun).join('\n')}\n`);
      return 2;
    }
    if (live.length === 1) outcome = await ask(live[0]);
    if (!outcome || outcome.kind === 'gone') {
      io.err(`mptree: ${t('no live mptree run of this user')}\n`);
      return 1;
    }
  } else {
    // The run whose launcher or root it is, else whichever run says it is one of its processes.
    const owner = live.find((info) => info.launcherPid === pid || info.rootPid === pid);
    const outcomes = owner ? [await ask(owner)] : await Promise.all(live.map(ask));
    outcome = outcomes.find((o) => o.kind === 'answer') ?? outcomes.find((o) => o.kind === 'no-answer') ?? null;
    if (!outcome) {
      io.err(`mptree: ${t('pid {0} is not a process of a live mptree run of this user', pid)}\n`);
      return 1;
    }
  }
  if (outcome.kind !== 'answer') {
    io.err(`mptree: ${t('the run did not answer within {0} s', ANSWER_TIMEOUT_MS / 1000)}\n`);
    return 1;
  }
  await io.out(outcome.body);
  return 0;
}
