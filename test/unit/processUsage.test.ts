import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CimLister, CIM_QUERY, defaultLister, defaultUsageReader, ProcLister } from '../../src/core/osScan';
import { auxvClock, parseProcStatUsage, procClock, PS_USAGE_ARGS, ProcUsageReader, psTimeSeconds, PsUsageReader, UsageMeter, type ProcClock } from '../../src/core/processUsage';
import { firstLine } from './cliProcess';

const recorded = (...name: string[]) => path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'os', ...name);
// The machine the /proc files were recorded on (test/fixtures/os/proc-linux/README.md).
const recordedClock: ProcClock = { ticksPerSecond: 100, pageBytes: 4096, bootMs: 1796639871_000 };
const MiB = 2 ** 20;

describe('process usage on recorded output', () => {
  it('Linux /proc: CPU from utime+stime, rss from pages, start time from boot; a zombie has no memory, a gone pid no reading', async () => {
    const reader = new ProcUsageReader(recordedClock, recorded('proc-linux', 'scan1'));
    const readings = await reader.read([28863, 28864, 28865, 28866, 31999]);
    assert.deepEqual([...readings.keys()].sort(), [28863, 28864, 28865, 28866], 'the pid that is gone is left out');
    assert.deepEqual(readings.get(28863), { pid: 28863, cpuSeconds: 0.91, rssBytes: 3360 * 4096, startMs: 1796639871_000 + 2270400 });
    assert.equal(readings.get(28864)!.rssBytes, 16156 * 4096, 'the holder of 50 MiB');
    assert.ok(readings.get(28864)!.rssBytes! > 50 * MiB);
    assert.deepEqual(readings.get(28866), { pid: 28866, cpuSeconds: 0, rssBytes: null, startMs: 1796639871_000 + 2270410 });
  });

  it('CPU % of one core between two scans; a reused pid (later start) gets no rate, a vanished one no figure', async () => {
    const meter = new UsageMeter();
    const first = meter.update(await new ProcUsageReader(recordedClock, recorded('proc-linux', 'scan1')).read([28863, 28864, 28865]), 10_000);
    assert.equal(first.get(28863)!.cpuPercent, null, 'one reading is no rate');
    const second = meter.update(await new ProcUsageReader(recordedClock, recorded('proc-linux', 'scan2')).read([28863, 28864, 28865]), 11_000);
    assert.ok(Math.abs(second.get(28863)!.cpuPercent! - 91) < 1e-9, `burner at 91 %: ${second.get(28863)!.cpuPercent}`);
    assert.equal(second.has(28864), false);
    // 28865 now starts 19.59 s later and its comm has spaces and parentheses: another process.
    assert.equal(second.get(28865)!.cpuPercent, null);
    assert.equal(second.get(28865)!.rssBytes, 411 * 4096);
    const third = meter.update(await new ProcUsageReader(recordedClock, recorded('proc-linux', 'scan2')).read([28865]), 12_000);
    assert.equal(third.get(28865)!.cpuPercent, 0, 'its own two readings give it a rate');
  });

  it('CPU time going backwards for one pid is not a rate', () => {
    const meter = new UsageMeter();
    meter.update(new Map([[5, { pid: 5, cpuSeconds: 4, rssBytes: 1, startMs: null }]]), 0);
    const next = meter.update(new Map([[5, { pid: 5, cpuSeconds: 1, rssBytes: 1, startMs: null }]]), 1000);
    assert.equal(next.get(5)!.cpuPercent, null);
  });

  it('a /proc text that is not a stat line, or an unreadable entry, is no reading', async () => {
    assert.equal(parseProcStatUsage('', recordedClock), null);
    assert.equal(parseProcStatUsage('12 (x) S 1 2', recordedClock), null);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptree-proc-'));
    try {
      // A directory where the file should be: the read fails as it does for a hidden process.
      fs.mkdirSync(path.join(dir, '77', 'stat'), { recursive: true });
      assert.equal((await new ProcUsageReader(recordedClock, dir).read([77])).size, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('macOS (BSD ps): %cpu until there is a rate, rss in KiB, m:ss.cc times, a zombie without memory', async () => {
    const calls: string[][] = [];
    const reader = new PsUsageReader(async (file, args) => {
      calls.push([file, ...args]);
      return fs.readFileSync(recorded('ps-usage-darwin.txt'), 'utf8');
    }, true);
    const readings = await reader.read([20720, 20778, 20779, 20790]);
    assert.deepEqual(calls, [['ps', ...PS_USAGE_ARGS, '-p', '20720,20778,20779,20790']]);
    assert.deepEqual(readings.get(20778), { pid: 20778, cpuSeconds: 3.01, rssBytes: 217344 * 1024, startMs: new Date(2026, 11, 7, 11, 12, 15).getTime(), osCpuPercent: 98.7 });
    assert.equal(readings.get(20779)!.rssBytes, 321536 * 1024);
    assert.equal(readings.get(20790)!.rssBytes, null);
    assert.equal(readings.get(20790)!.osCpuPercent, null);
    const live = new UsageMeter().update(readings, 0);
    assert.equal(live.get(20778)!.cpuPercent, 98.7, "ps's own average before a second reading");
    // A ps that fails outright (every pid gone, say) is no readings, not an error.
    assert.equal((await new PsUsageReader(async () => Promise.reject(new Error('exit 1')), true).read([1])).size, 0);
  });

  it("ps times in both ps dialects", () => {
    assert.equal(psTimeSeconds('0:03.01'), 3.01);
    assert.equal(psTimeSeconds('123:45.50'), 123 * 60 + 45.5);
    assert.equal(psTimeSeconds('00:00:03'), 3);
    assert.equal(psTimeSeconds('1-02:03:04'), 86400 + 2 * 3600 + 3 * 60 + 4);
    assert.equal(psTimeSeconds('-'), null);
  });

  it('Windows (CIM): the listing carries the figures, one PowerShell start per scan; a process of another user stays unknown', async () => {
    const calls: string[][] = [];
    const lister = new CimLister(async (file, args) => {
      calls.push([file, ...args]);
      return fs.readFileSync(recorded('cim-usage-windows.json'), 'utf8');
    });
    assert.match(CIM_QUERY, /UserModeTime,KernelModeTime,WorkingSetSize/);
    assert.deepEqual((await lister.list(7212)).map((p) => p.pid), [8120]);
    const readings = await lister.read([7212, 8120, 5400, 9999]);
    assert.equal(calls.length, 1, 'the usage came with the listing');
    assert.deepEqual(readings.get(8120), { pid: 8120, cpuSeconds: 3, rssBytes: 222298112, startMs: 1733471001000 });
    assert.equal(readings.get(7212)!.rssBytes, 24576000, 'a UInt64 written as a string');
    assert.ok(Math.abs(readings.get(7212)!.cpuSeconds! - 0.3125) < 1e-9);
    assert.deepEqual(readings.get(5400), { pid: 5400, cpuSeconds: null, rssBytes: null, startMs: 1733400000000 });
    assert.equal(readings.has(9999), false);
    // Without a fresh listing the reader asks itself.
    await lister.read([8120]);
    assert.equal(calls.length, 2);
  });

  it("the clock from an auxiliary vector: page size and ticks as sysconf gives them; a vector without them, or read at the wrong word size, is none", () => {
    const vector = (words: number[], size: 4 | 8) => {
      const buffer = Buffer.alloc(words.length * size);
      words.forEach((w, i) => (size === 8 ? buffer.writeBigUInt64LE(BigInt(w), i * 8) : buffer.writeUInt32LE(w, i * 4)));
      return buffer;
    };
    // AT_PHDR 3, AT_PAGESZ 6, AT_CLKTCK 17, AT_NULL 0 (and what follows it is not read).
    const words = [3, 0x400040, 6, 16384, 17, 250, 0, 0, 6, 4096];
    assert.deepEqual(auxvClock(vector(words, 8), 8), { ticksPerSecond: 250, pageBytes: 16384 });
    assert.deepEqual(auxvClock(vector(words, 4), 4), { ticksPerSecond: 250, pageBytes: 16384 });
    assert.equal(auxvClock(vector([3, 1, 17, 100, 0, 0], 8), 8), null, 'no page size');
    assert.equal(auxvClock(vector([6, 4096, 0, 0], 8), 8), null, 'no clock ticks');
    assert.equal(auxvClock(vector(words, 8), 4), null, 'a 64-bit vector read as 32-bit words');
  });

  it('this machine\'s clock (from /proc/self/auxv on Linux) is what getconf says', { skip: process.platform !== 'linux' && 'Linux' }, () => {
    const getconf = (name: string) => Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    const clock = procClock();
    assert.equal(clock.ticksPerSecond, getconf('CLK_TCK'));
    assert.equal(clock.pageBytes, getconf('PAGESIZE'));
  });

  it('each platform gets its reader', () => {
    const cim = defaultLister('win32');
    assert.equal(defaultUsageReader(cim, 'win32'), cim);
    assert.equal(defaultUsageReader(defaultLister('darwin'), 'darwin').name, 'ps');
    if (ProcLister.isSupported()) assert.equal(defaultUsageReader(defaultLister('linux'), 'linux').name, 'proc');
  });
});

describe('process usage of real processes', { skip: process.platform === 'win32' && 'POSIX' }, () => {
  it('/proc and ps agree: a burner uses CPU, a sleeper none, a holder of 80 MiB is resident', async () => {
    const parent = spawn('python3', [
      '-c',
      [
        'import subprocess, sys, time',
        "burn = subprocess.Popen([sys.executable, '-c', 'while True: pass'])",
        "sleep = subprocess.Popen(['sleep', '60'])",
        "hold = subprocess.Popen([sys.executable, '-c', 'import sys, time\\nb = bytearray(80 * 2**20)\\nfor i in range(0, len(b), 4096): b[i] = 1\\nprint(flush=True)\\ntime.sleep(60)'], stdout=subprocess.PIPE)",
        'hold.stdout.readline()',
        'print(burn.pid, sleep.pid, hold.pid, flush=True)',
        'time.sleep(60)',
      ].join('\n'),
    ]);
    const pids: number[] = [];
    try {
      const [burner, sleeper, holder] = (await firstLine(parent.stdout)).trim().split(' ').map(Number);
      pids.push(burner, sleeper, holder);
      const readers = [new PsUsageReader(), ...(ProcLister.isSupported() ? [new ProcUsageReader()] : [])];
      for (const reader of readers) {
        const meter = new UsageMeter();
        meter.update(await reader.read(pids), Date.now());
        // Wait until the burner has had some CPU (a loaded machine gives it less than a core).
        let figures = meter.update(await reader.read(pids), Date.now());
        const before = figures.get(burner)!.cpuSeconds!;
        for (const deadline = Date.now() + 20_000; figures.get(burner)!.cpuSeconds! < before + 0.3 && Date.now() < deadline; ) {
          await new Promise((r) => setTimeout(r, 200));
          figures = meter.update(await reader.read(pids), Date.now());
        }
        assert.ok(figures.get(burner)!.cpuSeconds! >= before + 0.3, `${reader.name}: burner CPU ${JSON.stringify(figures.get(burner))}`);
        assert.ok(figures.get(burner)!.cpuPercent! > 0, `${reader.name}: burner rate`);
        assert.ok(figures.get(sleeper)!.cpuSeconds! < 0.1, `${reader.name}: sleeper CPU`);
        assert.ok(figures.get(sleeper)!.cpuPercent! < 5, `${reader.name}: sleeper rate`);
        assert.ok(figures.get(holder)!.rssBytes! >= 80 * MiB, `${reader.name}: holder rss ${figures.get(holder)!.rssBytes}`);
        assert.ok(figures.get(sleeper)!.rssBytes! < 20 * MiB);
        assert.ok(Math.abs(figures.get(holder)!.startMs! - Date.now()) < 120_000, `${reader.name}: start time ${figures.get(holder)!.startMs}`);
      }
    } finally {
      parent.kill('SIGKILL');
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });
});
