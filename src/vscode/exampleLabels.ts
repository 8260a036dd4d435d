// What the Open Example pick shows for each shipped example: a label and one line of what it
// shows, in the user's language. A Record over the catalog's ids: an example added to
// src/core/examples.ts without its words here is a type error.

import * as vscode from 'vscode';
import type { ExampleId } from '../core/examples';

export interface ExampleWords {
  readonly label: string;
  readonly detail: string;
}

// Functions, not values: vscode.l10n.t must run after the extension's bundle is loaded.
const words: Record<ExampleId, () => ExampleWords> = {
  process_args: () => ({
    label: vscode.l10n.t('Process with args and kwargs'),
    detail: vscode.l10n.t('Two children run one function with different arguments, and are joined.'),
  }),
  process_subclass: () => ({
    label: vscode.l10n.t('A Process subclass overriding run()'),
    detail: vscode.l10n.t('start() runs your run() in the child; the names come from __init__.'),
  }),
  start_join_terminate: () => ({
    label: vscode.l10n.t('start, is_alive, join, terminate'),
    detail: vscode.l10n.t('join(timeout) returns while a child runs; terminate() ends it with SIGTERM.'),
  }),
  daemon: () => ({
    label: vscode.l10n.t('Daemon and non-daemon processes'),
    detail: vscode.l10n.t('The daemon is killed when the main code ends; the non-daemon is waited for.'),
  }),
  zombie: () => ({
    label: vscode.l10n.t('A zombie and its join'),
    detail: vscode.l10n.t('A child exits but is not joined for six seconds: find it and join it.'),
  }),
  pool: () => ({
    label: vscode.l10n.t('Pool: apply, apply_async, map, map_async'),
    detail: vscode.l10n.t('Three workers, pending tasks going down, callback and error_callback.'),
  }),
  queue_timeouts: () => ({
    label: vscode.l10n.t('Queue with maxsize, put/get timeouts'),
    detail: vscode.l10n.t('A bounded queue fills, a producer blocks; queue.Full and queue.Empty.'),
  }),
  pipe: () => ({
    label: vscode.l10n.t('Pipe'),
    detail: vscode.l10n.t('A child answers messages sent through a Pipe until it receives None.'),
  }),
  lock: () => ({
    label: vscode.l10n.t('Lock'),
    detail: vscode.l10n.t('Three processes take turns printing whole lines.'),
  }),
  value_array: () => ({
    label: vscode.l10n.t('Value and Array (shared memory)'),
    detail: vscode.l10n.t('Four processes add to one shared counter under its lock.'),
  }),
  manager: () => ({
    label: vscode.l10n.t('Manager: dict, list, queue'),
    detail: vscode.l10n.t('Shared objects in a server process; the manager shows as a helper.'),
  }),
  pitfall_queue_full: () => ({
    label: vscode.l10n.t('Pitfall: a producer stuck on a full queue'),
    detail: vscode.l10n.t('Nobody reads a bounded queue: its producer blocks in put().'),
  }),
  pitfall_queue_empty: () => ({
    label: vscode.l10n.t('Pitfall: a consumer waiting on an empty queue'),
    detail: vscode.l10n.t('The producer has gone without an end marker; get() waits.'),
  }),
  pitfall_non_daemon_exit: () => ({
    label: vscode.l10n.t('Pitfall: the program does not exit'),
    detail: vscode.l10n.t('The main code is done, but a non-daemon child still runs.'),
  }),
  pitfall_pool_not_closed: () => ({
    label: vscode.l10n.t('Pitfall: a pool never closed'),
    detail: vscode.l10n.t('Neither close() nor join(): queued tasks would be lost at exit.'),
  }),
  pitfall_missing_main_guard: () => ({
    label: vscode.l10n.t('Pitfall: no __main__ guard under spawn'),
    detail: vscode.l10n.t('The child imports the file again and dies with exit code 1.'),
  }),
};

export function exampleWords(id: ExampleId): ExampleWords {
  return words[id]();
}
