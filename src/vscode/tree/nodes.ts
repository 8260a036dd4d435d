// Tree elements. One object per key for the life of the node: VS Code keys its own
// bookkeeping on element identity, so handing it a fresh object with a known id fails
// ("element with id … is already registered") and firing a change for a stale one is a no-op.

import type { PoolInfo, ProcessInfo, QueueInfo } from '../../core/types';
import type { RunView } from './runView';

export class RunNode {
  readonly type = 'run';
  constructor(readonly run: RunView) {}
  get id(): string {
    return `run:${this.run.info.runId}`;
  }
}

export class ProcessNode {
  readonly type = 'process';
  constructor(readonly run: RunView, readonly key: string) {}
  get id(): string {
    return this.key;
  }
  /** The current facts; undefined once the model dropped the process (Clear Exited). */
  get info(): ProcessInfo | undefined {
    return this.run.model.get(this.key);
  }
}

export class QueueNode {
  readonly type = 'queue';
  constructor(readonly run: RunView, readonly key: string, readonly ownerKey: string) {}
  get id(): string {
    return this.key;
  }
  get info(): QueueInfo | undefined {
    return this.run.model.queuesOf(this.ownerKey).find((q) => q.key === this.key);
  }
}

export class PoolNode {
  readonly type = 'pool';
  constructor(readonly run: RunView, readonly key: string, readonly ownerKey: string) {}
  get id(): string {
    return this.key;
  }
  get info(): PoolInfo | undefined {
    return this.run.model.poolsOf(this.ownerKey).find((p) => p.key === this.key);
  }
}

export type TreeNode = RunNode | ProcessNode | QueueNode | PoolNode;

export function isProcessNode(value: unknown): value is ProcessNode {
  return value instanceof ProcessNode;
}
export function isRunNode(value: unknown): value is RunNode {
  return value instanceof RunNode;
}
