import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CIM_QUERY, CimLister, defaultLister, liveness, parseCimProcesses, ProcLister, PsTreeLister, psRowToProcess, type OsProcess } from '../../src/core/osScan';
import { firstLine } from './cliProcess';

const recorded = (name: string) => path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'os', name);
const byPid = (list: OsProcess[]) => [...list].sort((a, b) => a.pid - b.pid);

const posix = process.platform !== 'win32';

describe('OS process listers', { skip: !posix && 'POSIX ps' }, () => {
  it('both list the same descendants, zombies marked, and liveness tells them apart', async () => {
    // A parent with a sleep, a shell running a sleep, and a child that exits at once and
    // stays a zombie (Popen does not reap it until asked).
    let children: number[] = [];
    const parent = spawn('python3', [
      '-c',
      [
        'import os, subprocess, sys, time',
        "a = subprocess.Popen(['sleep', '60'])",
        "b = subprocess.Popen(['sh', '-c', 'sleep 60'])",
        "z = subprocess.Popen(['true'])",
        "print(a.pid, b.pid, z.pid, flush=True)",
        'time.sleep(60)',
      ].join('\n'),
    ]);
    try {
      const line = await firstLine(parent.stdout);
      const [a, b, z] = line.trim().split(' ').map(Number);
      children = [a, b];
      // ps-tree reads `ps` in one pass in pid order: a child whose pid is lower than its
      // parent's (the pid counter wrapped in between; pid_max can be 32768) is invisible to it,
      // a documented limit of the default lister (osScan.ts). Only then is it left out here.
      const wrapped = [a, b, z].some((pid) => pid < parent.pid!);
      // Wait (bounded) until `true` has become a zombie and both listers see the same set:
      // on a loaded machine a fixed sleep races process start-up. The assertions below still
      // decide the outcome; a lister that never agrees fails them after the deadline.
      const listers = [...(wrapped ? [] : [new PsTreeLister()]), ...(ProcLister.isSupported() ? [new ProcLister()] : [])];
      assert.ok(listers.length > 0, 'no lister to check');
      const settled = (lists: Awaited<ReturnType<PsTreeLister['list']>>[]) =>
        lists.every((list) => list.find((p) => p.pid === z)?.zombie === true && list.some((p) => p.pid === b)) &&
        new Set(lists.map((list) => list.map((p) => p.pid).sort().join(','))).size === 1;
      let results = await Promise.all(listers.map((l) => l.list(parent.pid!)));
      for (const deadline = Date.now() + 15_000; !settled(results) && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 100));
        results = await Promise.all(listers.map((l) => l.list(parent.pid!)));
      }
      for (const [i, list] of results.entries()) {
        const pids = new Set(list.map((p) => p.pid));
        assert.ok(pids.has(a) && pids.has(b) && pids.has(z), `${listers[i].name}: expected ${a} ${b} ${z} (parent ${parent.pid}) in ${JSON.stringify(list)}`);
        assert.equal(list.find((p) => p.pid === a)!.ppid, parent.pid);
        assert.equal(list.find((p) => p.pid === z)!.zombie, true, `${listers[i].name} marks the zombie`);
        assert.equal(list.find((p) => p.pid === a)!.zombie, false);
        assert.ok(list.every((p) => p.pid !== parent.pid), 'the root itself is not listed');
      }
      if (results.length === 2) assert.deepEqual(results[0].map((p) => p.pid).sort(), results[1].map((p) => p.pid).sort());
      assert.equal(liveness(a), 'alive');
      if (process.platform === 'linux') assert.equal(liveness(z), 'zombie');
    } finally {
      parent.kill('SIGKILL');
      for (const pid of children) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    await new Promise((r) => parent.once('close', r));
    assert.equal(liveness(parent.pid!), 'gone');
  });
});

// Each platform's raw listing, parsed by the code that parses it in use. ps-tree spawns `ps`
// from PATH, so a `ps` that prints a recorded listing puts the real lister to work on it.
describe('OS listers on recorded output', { skip: !posix && 'a shell script as ps' }, () => {
  async function psTreeOn(listing: string, rootPid: number): Promise<OsProcess[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-fake-ps-'));
    const savedPath = process.env.PATH;
    try {
      fs.writeFileSync(path.join(dir, 'ps'), `#!/bin/sh\ncat '${listing}'\n`, { mode: 0o755 });
      process.env.PATH = `${dir}${path.delimiter}${savedPath}`;
      return await new PsTreeLister().list(rootPid);
    } finally {
      process.env.PATH = savedPath;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('Linux (procps): COMMAND header, short names, zombies by state', async () => {
    // Recorded on this project's Debian machine: python3 20720 with a zombie child, a sleep,
    // and a python3 child running a sleep.
    assert.deepEqual(byPid(await psTreeOn(recorded('ps-linux.txt'), 20720)), [
      { pid: 20775, ppid: 20720, command: 'python3', stat: 'Z', zombie: true },
      { pid: 20778, ppid: 20720, command: 'sleep', stat: 'S', zombie: false },
      { pid: 20779, ppid: 20720, command: 'python3', stat: 'S', zombie: false },
      { pid: 20788, ppid: 20779, command: 'sleep', stat: 'S', zombie: false },
      { pid: 20810, ppid: 20720, command: 'ps', stat: 'R', zombie: false },
    ]);
  });

  it('macOS (BSD ps): COMM header, full paths with spaces, zombies as <defunct> or (name)', async () => {
    const python = '/Library/Frameworks/Python.framework/Versions/3.12/Resources/Python.app/Contents/MacOS/Python';
    assert.deepEqual(byPid(await psTreeOn(recorded('ps-darwin.txt'), 20720)), [
      { pid: 20775, ppid: 20720, command: '', stat: 'Z+', zombie: true },
      { pid: 20778, ppid: 20720, command: '/bin/sleep', stat: 'S+', zombie: false },
      { pid: 20779, ppid: 20720, command: python, stat: 'S+', zombie: false },
      { pid: 20788, ppid: 20779, command: '/bin/sleep', stat: 'S+', zombie: false },
      { pid: 20790, ppid: 20779, command: 'Python', stat: 'Z+', zombie: true },
    ]);
    // A command with spaces stays whole: COMM is the last column.
    const electron = await psTreeOn(recorded('ps-darwin.txt'), 611);
    assert.ok(electron.some((p) => p.command === '/Applications/Visual Studio Code.app/Contents/MacOS/Electron'));
  });

  it('ps rows that are not processes are dropped', () => {
    assert.equal(psRowToProcess({ PPID: '', PID: '' }), null);
    assert.equal(psRowToProcess({ PPID: 'x', PID: '12', STAT: 'S', COMMAND: 'a' }), null);
    assert.deepEqual(psRowToProcess({ PPID: '1', PID: '12', STAT: 'Z', COMMAND: 'watch <defunct>' }), { pid: 12, ppid: 1, command: 'watch', stat: 'Z', zombie: true });
  });

  it('Windows (CIM through PowerShell): full command lines, reused parent pids left out', async () => {
    const calls: string[][] = [];
    const lister = new CimLister(async (file, args) => {
      calls.push([file, ...args]);
      return fs.readFileSync(recorded('cim-windows.json'), 'utf8');
    });
    const python = '"C:\\Users\\lin\\AppData\\Local\\Programs\\Python\\Python312\\python.exe"';
    assert.deepEqual(byPid(await lister.list(7212)), [
      { pid: 8120, ppid: 7212, command: `${python} -c "from multiprocessing.spawn import spawn_main; spawn_main(parent_pid=7212, pipe_handle=388)" --multiprocessing-fork`, stat: '', zombie: false },
      { pid: 8124, ppid: 7212, command: `${python} -c "from multiprocessing.spawn import spawn_main; spawn_main(parent_pid=7212, pipe_handle=396)" --multiprocessing-fork`, stat: '', zombie: false },
      // svchost 5400 names 8124 as its parent but is older than it: a reused pid, not a child.
      { pid: 9001, ppid: 8120, command: 'ping -n 30 127.0.0.1', stat: '', zombie: false },
    ]);
    assert.deepEqual(calls, [['powershell.exe', '-NoProfile', '-NonInteractive', '-Command', CIM_QUERY]]);
    assert.doesNotMatch(CIM_QUERY, /wmic/i);
  });

  it('Windows: one process is a lone object, PowerShell 7 writes ISO dates, no command line falls back to the name', () => {
    const one = JSON.stringify({ ProcessId: 30, ParentProcessId: 20, Name: 'python.exe', CommandLine: null, CreationDate: '2026-12-06T10:00:01.5+01:00' });
    assert.deepEqual(parseCimProcesses(one, 20), [{ pid: 30, ppid: 20, command: 'python.exe', stat: '', zombie: false }]);
    const older = JSON.stringify([
      { ProcessId: 20, ParentProcessId: 1, Name: 'python.exe', CreationDate: '2026-12-06T10:00:02+01:00' },
      { ProcessId: 30, ParentProcessId: 20, Name: 'python.exe', CreationDate: '2026-12-06T10:00:01+01:00' },
    ]);
    assert.deepEqual(parseCimProcesses(older, 20), []);
    assert.deepEqual(parseCimProcesses('', 20), []);
    assert.throws(() => parseCimProcesses('Get-CimInstance : Access denied', 20), SyntaxError);
  });

  it('each platform gets its lister', () => {
    assert.equal(defaultLister('win32').name, 'cim');
    // /proc where it is there (this test may run on a Linux without it, or elsewhere).
    assert.equal(defaultLister('linux').name, fs.existsSync('/proc/self/stat') ? 'proc' : 'ps-tree');
    assert.equal(defaultLister('darwin').name, 'ps-tree');
  });
});
