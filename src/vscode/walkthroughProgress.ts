// The walkthrough's steps complete on what they teach, seen for real in a run: the first
// time a run starts, a zombie is joined, a daemon is killed with its parent, a bounded queue is
// full, a pool has its workers, a worker stops in the debugger. Each sets its context key
// (WalkthroughKey) once; the walkthrough's completionEvents wait for those keys.

import * as vscode from 'vscode';
import type { Hint } from '../core/hints';
import { WalkthroughKey } from './commandIds';
import type { RunManager } from './runs';

/** What this needs of the hints: which ones a run has, and when they change. */
export interface HintSource {
  readonly onDidChangeHints: vscode.Event<string>;
  hintsOf(runId: string): Hint[];
}

export class WalkthroughProgress implements vscode.Disposable {
  /** Each key set so far, with the run that set it. */
  private readonly done = new Map<WalkthroughKey, string>();
  /** Keys of processes seen as zombies, until joined or the step is done. */
  private readonly zombies = new Set<string>();
  private readonly reachedEmitter = new vscode.EventEmitter<{ key: WalkthroughKey; runId: string }>();
  /** A key was set (for the first time), by that run. */
  readonly onDidReach = this.reachedEmitter.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(runs: RunManager, hints: HintSource) {
    this.subscriptions = [
      this.reachedEmitter,
      runs.onDidChangeRuns((run) => {
        if (run && run.info.rootPid !== null) this.reach(WalkthroughKey.RunStarted, run.info.runId);
      }),
      runs.onDidChangeModel(({ run: view, change }) => {
        // Only the nodes this change touched, and nothing once every key is set.
        if (this.done.size === Object.keys(WalkthroughKey).length) return;
        // The run's whole model (the view's type shows the tree's part only).
        const model = runs.runByKey(view.info.runId)?.model;
        if (!model) return;
        for (const key of change.processes) {
          const p = model.get(key);
          if (!p) continue;
          if (p.state === 'zombie' && !this.done.has(WalkthroughKey.ZombieJoined)) this.zombies.add(key);
          if (p.joined && this.zombies.has(key)) {
            this.zombies.clear();
            this.reach(WalkthroughKey.ZombieJoined, p.runId);
          }
          if (p.paused !== null && p.kind !== 'main') this.reach(WalkthroughKey.WorkerPausedInDebugger, p.runId);
        }
        if (change.queues.length > 0 && !this.done.has(WalkthroughKey.QueueFull)) {
          const touched = new Set(change.queues);
          if (model.queues().some((q) => touched.has(q.key) && q.maxsize > 0 && q.depth >= q.maxsize)) this.reach(WalkthroughKey.QueueFull, view.info.runId);
        }
        if (change.pools.length > 0 && !this.done.has(WalkthroughKey.PoolSeen)) {
          const touched = new Set(change.pools);
          // Its workers all up and tasks given: what the step asks to look at.
          if (model.pools().some((pool) => touched.has(pool.key) && pool.size > 0 && pool.workers.length >= pool.size && pool.submitted > 0)) this.reach(WalkthroughKey.PoolSeen, view.info.runId);
        }
      }),
      // The hint says it: a daemon ended by SIGTERM when its parent's code finished.
      hints.onDidChangeHints((runId) => {
        if (!this.done.has(WalkthroughKey.DaemonKilledWithParent) && hints.hintsOf(runId).some((h) => h.kind === 'daemon-killed-with-parent')) {
          this.reach(WalkthroughKey.DaemonKilledWithParent, runId);
        }
      }),
    ];
  }

  /** The run that first set this key in this window, if any has. */
  reachedBy(key: WalkthroughKey): string | undefined {
    return this.done.get(key);
  }

  /**
   * For the integration tests, which run after other suites' runs have set keys: forget them
   * so that a step's own run is seen setting its key. (The context keys stay true: VS Code
   * keeps a completed step completed anyway.)
   */
  forgetReachedForTests(): void {
    this.done.clear();
    this.zombies.clear();
  }

  private reach(key: WalkthroughKey, runId: string): void {
    if (this.done.has(key)) return;
    this.done.set(key, runId);
    void vscode.commands.executeCommand('setContext', key, true);
    this.reachedEmitter.fire({ key, runId });
  }

  dispose(): void {
    for (const sub of this.subscriptions) sub.dispose();
  }
}
