// A minimal typed event emitter with the same shape as vscode.EventEmitter, so the VS Code layer
// can pass `emitter.event` straight to APIs that expect a vscode.Event without the core
// importing vscode.
import type { Disposable, Listener } from './types';

export type Event<T> = (listener: Listener<T>) => Disposable;

export class Emitter<T> implements Disposable {
  private listeners: Set<Listener<T>> | undefined = new Set();

  readonly event: Event<T> = (listener) => {
    // Wrap so that subscribing the same function twice yields two independent subscriptions.
    const entry: Listener<T> = (value) => listener(value);
    this.listeners?.add(entry);
    return { dispose: () => this.listeners?.delete(entry) };
  };

  fire(value: T): void {
    if (!this.listeners) return;
    let firstError: unknown;
    // Iterate over a copy: a listener may unsubscribe itself or others while we fire.
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        // One faulty listener must not starve the others (the tree view and the CLI renderer
        // listen to the same model); the first error surfaces after everyone was called.
        firstError ??= error;
      }
    }
    if (firstError !== undefined) throw firstError;
  }

  get listenerCount(): number {
    return this.listeners?.size ?? 0;
  }

  dispose(): void {
    this.listeners = undefined;
  }
}

/** Disposes a list of disposables once; anything added after disposal is disposed at once. */
export class DisposableStore implements Disposable {
  private items: Disposable[] | undefined = [];

  add<D extends Disposable>(item: D): D {
    if (this.items) this.items.push(item);
    else item.dispose();
    return item;
  }

  dispose(): void {
    const items = this.items;
    this.items = undefined;
    // Reverse order: later resources may depend on earlier ones.
    for (const item of (items ?? []).reverse()) {
      try {
        item.dispose();
      } catch {
        // Disposal is best effort: a failing item must not leak the rest.
      }
    }
  }
}
