// What a timeline panel is fed from: a live run (its history, recorded as it goes) or a run
// opened from a file (its recorded events, with the file's keys renamed to the opened run's).
import * as path from 'node:path';
import type { HistoryEvent, RunHistory } from '../../core/history';
import type { HintsController } from '../hints/hintsController';
import type { ImportedRun } from '../openedRuns/importedRuns';
import type { Run } from '../runs';
import type { TimelineSource } from './timelinePanel';

export function liveSource(run: Run, history: RunHistory, hints: HintsController): TimelineSource {
  return {
    id: run.runId,
    runInfo: () => ({ title: path.basename(run.info.script), startedAt: run.info.startedAt, endedAt: run.info.endedAt, live: run.isLive, readOnly: false }),
    events: () => history.events,
    queues: () => run.model.queues(),
    pools: () => run.model.pools(),
    onEvents: (listener) => history.onDidRecord(listener),
    onRunChange: (listener) => run.session.onDidChangeRun(() => listener()),
    hints: () => hints.textByKey(run.runId),
  };
}

export function openedSource(run: ImportedRun, hints: HintsController): TimelineSource {
  // The file's keys, renamed to this run's, so a click reveals the node of the Opened Runs view.
  const events: HistoryEvent[] = run.data.events.map((e) =>
    e.type === 'process'
      ? {
          ...e,
          key: run.keyOf(e.key),
          patch: {
            ...e.patch,
            ...(e.patch.key !== undefined ? { key: run.keyOf(e.patch.key) } : {}),
            ...(e.patch.parentKey ? { parentKey: run.keyOf(e.patch.parentKey) } : {}),
          },
        }
      : e,
  );
  return {
    id: run.info.runId,
    runInfo: () => ({ title: run.title, startedAt: run.info.startedAt, endedAt: run.info.endedAt, live: false, readOnly: true }),
    events: () => events,
    queues: () => run.model.queues(),
    pools: () => run.model.pools(),
    hints: () => hints.textByKey(run.info.runId),
  };
}
