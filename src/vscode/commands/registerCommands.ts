// The one place that binds command ids to handlers. Every handler receives the services and
// whatever VS Code passes: (node, selectedNodes) from the tree, (uri, uris) from the
// explorer, nothing from the palette.

import * as vscode from 'vscode';
import { errorText } from '../../core/l10n';
import { CommandId } from '../commandIds';
import type { Services } from '../services';
import { showErrorWithLog } from '../showError';
import { clearExited } from './clearExited';
import { closeOpenedRun } from './closeOpenedRun';
import { copyPid } from './copyPid';
import { debugFile } from './debugFile';
import { exportRunCommand } from './exportRun';
import { joinProcess } from './joinProcess';
import { killProcess } from './killProcess';
import { openExample } from './openExample';
import { openRun } from './openRun';
import { runActiveFile } from './runActiveFile';
import { runFile } from './runFile';
import { showStacks } from './showStacks';
import { showTimeline } from './showTimeline';
import { stopRun } from './stopRun';
import { terminateProcess } from './terminateProcess';
import { terminateTree } from './terminateTree';

type Handler = (services: Services, first?: unknown, second?: unknown) => unknown;

// A Record over the enum: adding a CommandId without a handler is a type error.
const handlers: Record<CommandId, Handler> = {
  [CommandId.RunFile]: runFile,
  [CommandId.RunActiveFile]: runActiveFile,
  [CommandId.DebugFile]: debugFile,
  [CommandId.Terminate]: terminateProcess,
  [CommandId.Kill]: killProcess,
  [CommandId.Join]: joinProcess,
  [CommandId.TerminateTree]: terminateTree,
  [CommandId.StopRun]: stopRun,
  [CommandId.CopyPid]: copyPid,
  [CommandId.ClearExited]: clearExited,
  [CommandId.OpenExample]: openExample,
  [CommandId.ShowTimeline]: showTimeline,
  [CommandId.ExportRun]: exportRunCommand,
  [CommandId.OpenRun]: openRun,
  [CommandId.CloseOpenedRun]: closeOpenedRun,
  [CommandId.ShowStacks]: showStacks,
};

export function registerCommands(services: Services): vscode.Disposable[] {
  return (Object.keys(handlers) as Array<keyof typeof handlers>).map((id) =>
    vscode.commands.registerCommand(id, async (first?: unknown, second?: unknown) => {
      try {
        return await handlers[id](services, first, second);
      } catch (error) {
        // A failed command must say so; an unhandled rejection shows nothing useful.
        services.log.error(`${id}: ${(error as Error)?.message ?? String(error)}`);
        showErrorWithLog(services.log, errorText(error, vscode.l10n.t));
        return undefined;
      }
    }),
  );
}
