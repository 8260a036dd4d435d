import type { Run } from '../runs';
import type { Services } from '../services';
import { activePythonFile } from '../pythonFiles';
import { startRun } from '../startRun';
import { runFile } from './runFile';

export async function runActiveFile(services: Services): Promise<Run[]> {
  const file = await activePythonFile();
  if (file === null) return []; // the save of an untitled file was cancelled
  // No Python editor in front: ask which file, rather than fail.
  if (file === undefined) return runFile(services);
  const run = await startRun(services, file);
  return run ? [run] : [];
}
