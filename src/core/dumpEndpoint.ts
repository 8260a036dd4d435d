// How `mptree dump` reaches a live run, both ends. Each run's session listens on a dump
// endpoint of its own (a Unix socket, or 127.0.0.1 TCP where the run's transport is TCP) and
// describes it in a file of this user's private 0700 directory: the address, a random token,
// the session's pid. `mptree dump` reads those files, connects, sends the token with its
// request and reads the answer. Only this user can read the files (so only they have the
// token); a request without the right token is closed unanswered, having read at most one
// short line. The file goes with the run; one whose session is gone is ignored and removed.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Disposable } from './types';
import { LocalizedError, phrase } from './l10n';
import type { Transport } from './server';

/** What an endpoint file says about its run (JSON, one file per run). */
export interface DumpEndpointInfo {
  v: 1;
  runId: string;
  /** The session's process: `mptree run`, or the VS Code extension host. */
  sessionPid: number;
  /** `mptree run`'s pid when it launched the program itself; null for a run of VS Code. */
  launcherPid: number | null;
  /** The program's main process, once started. */
  rootPid: number | null;
  script: string;
  cwd: string;
  startedAt: number;
  /** A Unix socket's path in the same directory, or tcp:127.0.0.1:PORT. */
  address: string;
  token: string;
}

/** What `mptree dump` asks for. */
export interface DumpRequest {
  /** A process of the run (`mptree run`'s pid or any of its processes); null: the run itself. */
  pid: number | null;
  format: 'text' | 'json';
  lang: 'en' | 'zh-cn';
  color: boolean;
  width: number | null;
}

/** The session's answer: the text or JSON to print, or "that pid is not one of mine". */
export type DumpAnswer = { ok: true; body: string } | { ok: false; member: false };

const REQUEST_MAX_BYTES = 16 * 1024;
const FILE_MAX_BYTES = 64 * 1024;
/** An answer of a run of thousands of processes with every stack: generous, but bounded. */
const ANSWER_MAX_BYTES = 256 * 1024 * 1024;
/** How long a connection may take to send its request before it is closed. */
const REQUEST_TIMEOUT_MS = 2000;

/**
 * This user's private directory for endpoint files: $XDG_RUNTIME_DIR/mptree (a per-user
 * tmpfs on Linux), else <tmpdir>/mptree-<uid>. Made 0700 if missing; refused (an error) if
 * it is not a real directory of this user that nobody else can enter.
 */
export function dumpDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  const xdg = env.XDG_RUNTIME_DIR;
  const base = xdg && path.isAbsolute(xdg) && isPrivateDir(xdg, uid) ? path.join(xdg, 'mptree') : path.join(os.tmpdir(), uid === null ? 'mptree-dumps' : `mptree-${uid}`);
  try {
    fs.mkdirSync(base, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (!isPrivateDir(base, uid)) throw new LocalizedError(phrase('{0} is not a private directory of this user (mode 0700): mptree will not use it', base));
  return base;
}

function isPrivateDir(dir: string, uid: number | null): boolean {
  try {
    const stat = fs.lstatSync(dir);
    // Windows has no owner or mode bits here: its temp folder is the user's own.
    if (uid === null) return stat.isDirectory();
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// The session's end

export interface DumpEndpointOptions {
  runId: string;
  transport: Transport;
  describe: () => Omit<DumpEndpointInfo, 'v' | 'runId' | 'sessionPid' | 'address' | 'token'>;
  answer: (request: DumpRequest) => Promise<DumpAnswer>;
  directory?: string;
}

export class DumpEndpoint implements Disposable {
  private readonly token = crypto.randomBytes(16).toString('hex');
  private readonly sockets = new Set<net.Socket>();
  private disposed = false;

  private constructor(
    private readonly options: DumpEndpointOptions,
    private readonly server: net.Server,
    readonly address: string,
    readonly file: string,
    private readonly socketPath: string | null,
  ) {
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', () => undefined);
  }

  /** Listens and writes the endpoint file; stale files of runs that are gone are removed first. */
  static async publish(options: DumpEndpointOptions): Promise<DumpEndpoint> {
    const directory = options.directory ?? dumpDirectory();
    removeStaleEndpoints(directory);
    const socketPath = options.transport === 'unix' ? path.join(directory, `${options.runId}.sock`) : null;
    const server = net.createServer();
    if (socketPath) fs.rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const listening = () => {
        server.off('error', reject);
        resolve();
      };
      // Never a wildcard address: 127.0.0.1 only, and the token is still needed.
      if (socketPath) server.listen(socketPath, listening);
      else server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, listening);
    });
    if (socketPath) fs.chmodSync(socketPath, 0o600);
    const address = socketPath ?? `tcp:127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const endpoint = new DumpEndpoint(options, server, address, path.join(directory, `${options.runId}.json`), socketPath);
    try {
      endpoint.update();
    } catch (error) {
      endpoint.dispose();
      throw error;
    }
    return endpoint;
  }

  /** (Re)writes the endpoint file, atomically: a reader sees the old one or the new one. */
  update(): void {
    if (this.disposed) return;
    const info: DumpEndpointInfo = { v: 1, runId: this.options.runId, sessionPid: process.pid, ...this.options.describe(), address: this.address, token: this.token };
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(info) + '\n', { mode: 0o600 });
    fs.renameSync(temporary, this.file);
  }

  private accept(socket: net.Socket): void {
    if (this.disposed) return void socket.destroy();
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), REQUEST_TIMEOUT_MS);
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline < 0) {
        if (text.length > REQUEST_MAX_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      clearTimeout(timer);
      const request = this.parse(text.slice(0, newline));
      // A forged or foreign request gets nothing: not even an error line.
      if (!request) return void socket.destroy();
      void this.options.answer(request).then(
        (answer) => socket.end(JSON.stringify({ v: 1, ...answer }) + '\n'),
        () => socket.destroy(),
      );
    };
    socket.on('data', onData);
  }

  private parse(line: string): DumpRequest | null {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return null;
    }
    if (typeof raw !== 'object' || raw === null) return null;
    const r = raw as Record<string, unknown>;
    if (r.v !== 1 || r.type !== 'dump' || typeof r.token !== 'string' || !sameToken(r.token, this.token)) return null;
    const pid = Number.isSafeInteger(r.pid) && (r.pid as number) > 0 ? (r.pid as number) : null;
    const width = Number.isSafeInteger(r.width) && (r.width as number) > 0 ? (r.width as number) : null;
    return { pid, format: r.format === 'json' ? 'json' : 'text', lang: r.lang === 'zh-cn' ? 'zh-cn' : 'en', color: r.color === true, width };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Synchronous: a session is disposed at process exit too.
    fs.rmSync(this.file, { force: true });
    if (this.socketPath) fs.rmSync(this.socketPath, { force: true });
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// `mptree dump`'s end

/** An endpoint file read back, checked field by field; null if it is not one. */
function readEndpoint(file: string, uid: number | null): DumpEndpointInfo | null {
  try {
    const stat = fs.lstatSync(file);
    if (!stat.isFile() || stat.size > FILE_MAX_BYTES || (uid !== null && stat.uid !== uid)) return null;
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    const okPid = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
    const pidOrNull = (v: unknown) => v === null || v === undefined || okPid(v);
    if (raw.v !== 1 || typeof raw.runId !== 'string' || !okPid(raw.sessionPid) || !pidOrNull(raw.rootPid) || !pidOrNull(raw.launcherPid)) return null;
    if (typeof raw.address !== 'string' || typeof raw.token !== 'string' || typeof raw.script !== 'string') return null;
    // Only where an endpoint of ours can be: a socket in this directory, or the loopback.
    const tcp = /^tcp:127\.0\.0\.1:\d+$/.test(raw.address);
    if (!tcp && path.dirname(raw.address) !== path.dirname(file)) return null;
    return {
      v: 1,
      runId: raw.runId,
      sessionPid: raw.sessionPid as number,
      launcherPid: (raw.launcherPid as number | null | undefined) ?? null,
      rootPid: (raw.rootPid as number | null | undefined) ?? null,
      script: raw.script,
      cwd: typeof raw.cwd === 'string' ? raw.cwd : '',
      startedAt: typeof raw.startedAt === 'number' ? raw.startedAt : 0,
      address: raw.address,
      token: raw.token,
    };
  } catch {
    return null;
  }
}

function removeEndpointFiles(directory: string, runId: string): void {
  if (!/^[\w-]+$/.test(runId)) return;
  fs.rmSync(path.join(directory, `${runId}.json`), { force: true });
  fs.rmSync(path.join(directory, `${runId}.sock`), { force: true });
}

/** Removes the files of runs whose session process is gone. */
export function removeStaleEndpoints(directory: string): void {
  for (const info of listEndpoints(directory)) if (!isAlive(info.sessionPid)) removeEndpointFiles(directory, info.runId);
}

/** Every endpoint file in the directory (live or not), oldest run first. */
export function listEndpoints(directory: string): DumpEndpointInfo[] {
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  let names: string[];
  try {
    names = fs.readdirSync(directory);
  } catch {
    return [];
  }
  const found: DumpEndpointInfo[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const info = readEndpoint(path.join(directory, name), uid);
    if (info && name === `${info.runId}.json`) found.push(info);
  }
  return found.sort((a, b) => a.startedAt - b.startedAt);
}

/** The endpoints whose session still lives; the files of the others are removed. */
export function liveEndpoints(directory: string): DumpEndpointInfo[] {
  const live: DumpEndpointInfo[] = [];
  for (const info of listEndpoints(directory)) {
    if (isAlive(info.sessionPid)) live.push(info);
    else removeEndpointFiles(directory, info.runId);
  }
  return live;
}

export type DumpOutcome = { kind: 'answer'; body: string } | { kind: 'not-member' } | { kind: 'gone' } | { kind: 'no-answer' };

/**
 * Sends one request to an endpoint and reads its answer. `gone`: nothing listens there any
 * more (the file is stale and is removed); `no-answer`: it did not answer within timeoutMs.
 */
export function askEndpoint(directory: string, info: DumpEndpointInfo, request: DumpRequest, timeoutMs: number): Promise<DumpOutcome> {
  return new Promise((resolve) => {
    const tcp = /^tcp:(127\.0\.0\.1):(\d+)$/.exec(info.address);
    const socket = tcp ? net.connect({ host: tcp[1], port: Number(tcp[2]) }) : net.connect({ path: info.address });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (outcome: DumpOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'no-answer' }), timeoutMs);
    socket.once('connect', () => socket.write(JSON.stringify({ v: 1, type: 'dump', token: info.token, ...request }) + '\n'));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') {
        removeEndpointFiles(directory, info.runId);
        return finish({ kind: 'gone' });
      }
      finish({ kind: 'no-answer' });
    });
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > ANSWER_MAX_BYTES) return finish({ kind: 'no-answer' });
      chunks.push(chunk);
    });
    socket.on('end', () => {
      try {
        const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { ok?: unknown; body?: unknown; member?: unknown };
        if (answer.ok === true && typeof answer.body === 'string') return finish({ kind: 'answer', body: answer.body });
        if (answer.ok === false && answer.member === false) return finish({ kind: 'not-member' });
      } catch {
        // Closed without an answer: below.
      }
      finish({ kind: 'no-answer' });
    });
  });
}
