// Runs opened from exported files: read-only RunViews for a second ProcessTreeProvider (the
// "Opened Runs" view) and for the timeline. Nothing here can act on a process: the processes
// of an imported run are long gone (or belong to another machine).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Emitter } from '../../core/event';
import { modelOf, type ExportedRun, type StaticModel } from '../../core/history';
import type { ModelChange, RunInfo } from '../../core/types';
import type { RunView, RunViewSource } from '../tree/runView';

export class ImportedRun implements RunView {
  readonly info: RunInfo;
  readonly model: StaticModel;

  constructor(
    readonly data: ExportedRun,
    readonly file: string,
  ) {
    // Its own run id: the same file opened twice, or the run still live here, must not collide.
    this.info = { ...data.run, runId: `imported-${++ImportedRun.counter}-${data.run.runId}` };
    // Exported while it ran: it is over as far as this window is concerned (no live clock).
    if (this.info.state === 'starting' || this.info.state === 'running') {
      this.info.state = 'finished';
      this.info.endedAt ??= data.exportedAt;
      this.info.notice = vscode.l10n.t('Exported while the run was still going: this is how it was at that moment.');
    }
    // Keys carry the run id before the first ':'; the tree and the decorations look runs up by it.
    const rekey = (key: string) => `${this.info.runId}${key.slice(key.indexOf(':'))}`;
    this.model = modelOf({
      ...data,
      processes: data.processes.map((p) => ({ ...p, key: rekey(p.key), runId: this.info.runId, parentKey: p.parentKey === null ? null : rekey(p.parentKey) })),
      queues: data.queues.map((q) => ({ ...q, key: rekey(q.key), runId: this.info.runId })),
      pools: data.pools.map((p) => ({ ...p, key: rekey(p.key), runId: this.info.runId })),
    });
  }

  private static counter = 0;

  /** The file's process key → this run's key. */
  keyOf(fileKey: string): string {
    return `${this.info.runId}${fileKey.slice(fileKey.indexOf(':'))}`;
  }

  get title(): string {
    return `${path.basename(this.info.script)} (${path.basename(this.file)})`;
  }
}

export class ImportedRuns implements RunViewSource {
  private readonly list: ImportedRun[] = [];
  private readonly runsEmitter = new Emitter<RunView | undefined>();
  private readonly modelEmitter = new Emitter<{ run: RunView; change: ModelChange }>();
  readonly onDidChangeRuns = this.runsEmitter.event;
  // Never fires: an imported run does not change.
  readonly onDidChangeModel = this.modelEmitter.event;

  get runs(): readonly ImportedRun[] {
    return this.list;
  }

  add(run: ImportedRun): void {
    this.list.push(run);
    this.runsEmitter.fire(run);
  }

  remove(run: ImportedRun): void {
    const i = this.list.indexOf(run);
    if (i < 0) return;
    this.list.splice(i, 1);
    this.runsEmitter.fire(undefined);
  }

  byRunId(runId: string): ImportedRun | undefined {
    return this.list.find((r) => r.info.runId === runId);
  }

  dispose(): void {
    this.runsEmitter.dispose();
    this.modelEmitter.dispose();
  }
}
