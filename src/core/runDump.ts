// A live run's dump, as `mptree dump` prints it: the tree (with whatever the model knows:
// states, queues, pools, hints) and every thread's stack of every live process, in the
// requester's language, or the same as JSON (the snapshot's shape plus `stacks`). Published
// by whoever owns the session (the CLI's `mptree run`, the VS Code layer) on the session's
// dump endpoint, and withdrawn when the run ends.
import { DumpEndpoint, type DumpAnswer, type DumpRequest } from './dumpEndpoint';
import { computeHints, hintLine, snapshotHints } from './hints';
import { bundleLocalizer, english, type Localizer } from './l10n';
import { describeState, renderTree } from './renderTree';
import type { RunSession } from './session';
import { stacksJson, stacksText } from './stacksText';
import type { Disposable } from './types';
// The one zh-cn translation of the core's words (the CLI's too): a dump is read in the
// requester's terminal, whose language may not be the one of the window that runs the program.
import zhCnBundle from '../../l10n/bundle.l10n.zh-cn.json';

let zhCn: Localizer | undefined;
function localizer(lang: DumpRequest['lang']): Localizer {
  if (lang !== 'zh-cn') return english;
  zhCn ??= bundleLocalizer(zhCnBundle);
  return zhCn;
}

/** Whether `pid` is this run's: its launcher (`mptree run`), or any process the model knows. */
export function isRunMember(session: RunSession, pid: number): boolean {
  return pid === session.launcherPid || pid === session.rootPid || session.model.processByPid(pid) !== undefined;
}

/** The dump of the session now: the tree and every live process's stacks (≤ ~1 s to gather). */
export async function dumpRun(session: RunSession, request: DumpRequest): Promise<DumpAnswer> {
  if (request.pid !== null && !isRunMember(session, request.pid)) return { ok: false, member: false };
  const stacks = await session.requestStacks();
  const now = Date.now();
  const hints = computeHints(session.model, session.info, now);
  if (request.format === 'json') {
    const snapshot = { ...session.model.toSnapshot(session.info), hints: snapshotHints(hints), stacks: { takenAt: stacks.takenAt, processes: stacksJson(stacks) } };
    return { ok: true, body: JSON.stringify(snapshot, null, 2) + '\n' };
  }
  const t = localizer(request.lang);
  const parts = [renderTree(session.model, session.info, { color: request.color, width: request.width ?? undefined, t })];
  // A deadlock is said by the tree itself (its ✖ line), once, as `mptree run` prints it.
  for (const hint of hints) if (hint.kind !== 'deadlock') parts.push(hintLine(hint, t));
  const describe = (p: { pid: number; state: 'running' | 'zombie' | 'exited' }) =>
    describeState(session.model.processByPid(p.pid) ?? { state: p.state, exitCode: null, signal: null }, t);
  parts.push('', t('Python stacks'), stacksText(stacks, { t, describe }).text);
  return { ok: true, body: parts.join('\n') + '\n' };
}

/**
 * Publishes the session's dump endpoint until the run ends (or the returned Disposable is
 * disposed); null if this user has no private place for it (said through the session's log).
 */
export async function publishDump(session: RunSession, directory?: string): Promise<Disposable | null> {
  let endpoint: DumpEndpoint;
  try {
    endpoint = await DumpEndpoint.publish({
      runId: session.runId,
      transport: session.transport,
      directory,
      describe: () => ({ launcherPid: session.launcherPid, rootPid: session.rootPid, script: session.info.script, cwd: session.info.cwd, startedAt: session.info.startedAt }),
      answer: (request) => dumpRun(session, request),
    });
  } catch (error) {
    session.reportLog('warn', `mptree: \`mptree dump\` cannot reach this run: ${(error as Error)?.message ?? error}`);
    return null;
  }
  if (session.isEnded) {
    endpoint.dispose();
    return null;
  }
  let rootPid = session.rootPid;
  const subscriptions = [
    session.onDidChangeRun(() => {
      if (session.rootPid === rootPid) return;
      rootPid = session.rootPid;
      try {
        endpoint.update();
      } catch {
        // The file keeps the old root: a dump by the launcher's pid or any other still works.
      }
    }),
    session.onDidEnd(() => dispose()),
  ];
  const dispose = () => {
    for (const s of subscriptions) s.dispose();
    endpoint.dispose();
  };
  return { dispose };
}
