// mptree: Show Timeline. From a tree node: that node's run; from the palette: the only run,
// or a pick among the live, finished and opened runs (live first).
import * as vscode from 'vscode';
import type { Services } from '../services';
import type { TimelinePanel } from '../timeline/timelinePanel';
import { pickRun, runOf } from './pickRun';

export async function showTimeline(services: Services, node?: unknown): Promise<TimelinePanel | undefined> {
  const run = runOf(services, node) ?? (await pickRun(services, vscode.l10n.t('Show the timeline of which run?')));
  return run ? services.timelines.open(run) : undefined;
}
