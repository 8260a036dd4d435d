// What the tree reads from a run: its RunInfo and the model's queries. The RunModel of the
// core satisfies ModelView structurally; the tree never writes to either.

import type { LockInfo, ModelChange, PoolInfo, ProcessInfo, QueueInfo, RunInfo, WaitInfo } from '../../core/types';
import type { Event } from '../../core/event';

export interface ModelView {
  children(parentKey: string | null): ProcessInfo[];
  queuesOf(processKey: string): QueueInfo[];
  poolsOf(processKey: string): PoolInfo[];
  get(key: string): ProcessInfo | undefined;
  /** Every process the model still holds, exited ones included. */
  processes(): ProcessInfo[];
  processByPid(pid: number): ProcessInfo | undefined;
  /** Running or zombie processes. */
  liveProcesses(): ProcessInfo[];
  /** Every thread's wait of a process now (a live run's model; an imported run has only each process's wait). */
  waitsOf?(processKey: string): WaitInfo[];
  lock?(id: string): LockInfo | undefined;
}

export interface RunView {
  readonly info: RunInfo;
  readonly model: ModelView;
}

export interface RunViewSource {
  readonly runs: readonly RunView[];
  /** A run was added or removed, or its RunInfo changed. */
  readonly onDidChangeRuns: Event<RunView | undefined>;
  readonly onDidChangeModel: Event<{ run: RunView; change: ModelChange }>;
}
