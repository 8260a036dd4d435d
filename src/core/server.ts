// The per-run socket server that every Python process of a run reports to.
// Two transports, one protocol (docs/protocol.md):
// - unix (Linux, macOS): the socket lives in a fresh 0700 directory, so only this user can
//   connect at all;
// - tcp (Windows, whose Python has no AF_UNIX, or MPTREE_TRANSPORT=tcp anywhere): a port on
//   127.0.0.1 only, which any local user can reach, so there the token is the whole defence.
// Either way each connection must open with a hello carrying the run's random token, so a
// process of another run (or anything else that finds the address) cannot feed this run's model.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomHex } from './randomHex';
import {
  LineDecoder,
  MAX_LINE_BYTES,
  PROTOCOL_VERSION,
  encodeControl,
  parseMessage,
  type ControlOp,
  type ControlResultMessage,
  type QueueResampleRequest,
  type RuntimeMessage,
  type StacksMessage,
} from './protocol';
import type { Disposable, LogLevel, Logger } from './types';
import { LocalizedError, phrase } from './l10n';

export interface ReceivedMessage {
  message: RuntimeMessage;
  /** Pid named by the hello of the connection it came on. */
  from: number;
}

export type Transport = 'unix' | 'tcp';

/** The transport a run uses when its caller does not choose: MPTREE_TRANSPORT, else the platform's. */
export function defaultTransport(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Transport {
  const forced = env.MPTREE_TRANSPORT;
  if (forced === 'tcp' || forced === 'unix') return forced;
  return platform === 'win32' ? 'tcp' : 'unix';
}

/** Where net.connect must go for an address the server advertises (MPTREE_SOCKET's value). */
export function connectOptions(address: string): net.NetConnectOpts {
  const tcp = /^tcp:(.*):(\d+)$/.exec(address);
  return tcp ? { host: tcp[1], port: Number(tcp[2]) } : { path: address };
}

export interface RuntimeServerOptions {
  runId: string;
  /** defaultTransport() when absent. */
  transport?: Transport;
  logger: Logger;
  /** One call per data chunk of one connection, with every valid message in it. */
  onBatch: (batch: ReceivedMessage[]) => void;
  /** After a connection closed (its data all read): the end of a run waits for the last one. */
  onConnectionClosed?: () => void;
  /** Where the private directory is made; os.tmpdir() by default. */
  tmpDir?: string;
  maxLineBytes?: number;
  /** How long a connection may stay silent before its hello; 10 s by default. */
  helloTimeoutMs?: number;
  /** Extra time granted to a control answer on top of the operation's own timeout. */
  controlSlackMs?: number;
  /** How often suppressed repeats of a logged error are summarised. */
  logSummaryIntervalMs?: number;
}

/** Logs the first error of each kind at once and later only a count of the repeats. */
export class RateLimitedLog implements Disposable {
  static readonly MAX_KINDS = 100;
  private readonly suppressed = new Map<string, { level: LogLevel; message: string; count: number }>();
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  report(kind: string, level: LogLevel, message: string): void {
    // Kinds are meant to come from a fixed set, but a hostile peer must not be able to make
    // every line a new kind: past the cap, all new kinds share one bucket.
    if (!this.seen.has(kind) && this.seen.size >= RateLimitedLog.MAX_KINDS) kind = '(other)';
    if (!this.seen.has(kind)) {
      this.seen.add(kind);
      this.logger.log(level, message);
      return;
    }
    const entry = this.suppressed.get(kind);
    if (entry) entry.count++;
    else this.suppressed.set(kind, { level, message, count: 1 });
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      // A pending summary must not keep the CLI alive.
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const { level, message, count } of this.suppressed.values()) {
      this.logger.log(level, `${message} (repeated ${count} more time${count === 1 ? '' : 's'})`);
    }
    this.suppressed.clear();
  }

  dispose(): void {
    this.flush();
  }
}

interface PendingControl {
  resolve(result: ControlResultMessage): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  connection: Connection;
}

interface PendingStacks {
  resolve(answer: StacksMessage): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  connection: Connection;
}

class Connection {
  readonly decoder: LineDecoder;
  authenticated = false;
  pid: number | null = null;
  closed = false;
  /** A write found the process gone (see write): nothing more is sent, reading goes on. */
  peerGone = false;
  helloTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    maxLineBytes: number | undefined,
    onOversized: (bytes: number) => void,
  ) {
    this.decoder = new LineDecoder({ maxLineBytes, onOversized });
  }

  /**
   * Writes to the process without ever losing what it wrote to us. A failed socket.write()
   * (EPIPE: the process has just exited) makes Node destroy the socket, and with it the
   * lines still unread in its receive buffer: a consumer's last counts, sent a moment
   * before it exited, were lost that way when a queue.resample went out to it. So where
   * the socket has a file descriptor, the bytes are written with a plain write(2): a peer
   * that is gone costs this message only, and reading goes on to end-of-file. Where the
   * kernel takes only part of it (a full buffer) the rest is queued on the socket as usual;
   * Windows' sockets have no descriptor here and keep socket.write().
   */
  write(text: string, onError?: (error: Error) => void): void {
    const fd = (this.socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let data = Buffer.from(text, 'utf8');
    if (typeof fd === 'number' && fd >= 0 && this.socket.writableLength === 0 && !this.peerGone) {
      try {
        const written = fs.writeSync(fd, data);
        if (written === data.length) return;
        data = data.subarray(written);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
          // EPIPE/ECONNRESET: the process is gone; its end-of-file follows the unread data.
          this.peerGone = true;
          onError?.(error as Error);
          return;
        }
      }
    } else if (this.peerGone) {
      onError?.(new LocalizedError(phrase('the process closed its connection')));
      return;
    }
    this.socket.write(data, (error) => {
      if (error) onError?.(error);
    });
  }

  get label(): string {
    return this.pid === null ? `connection #${this.id}` : `connection #${this.id} (pid ${this.pid})`;
  }
}

function makeSocketPath(tmpDir: string | undefined): { directory: string; socketPath: string } {
  const make = (base: string) => {
    const directory = fs.mkdtempSync(path.join(base, 'mptree-'));
    // mkdtemp already uses 0700; chmod anyway so a permissive umask or platform cannot widen it.
    fs.chmodSync(directory, 0o700);
    return { directory, socketPath: path.join(directory, 'mptree.sock') };
  };
  const made = make(tmpDir ?? os.tmpdir());
  // sun_path holds 104 (macOS) to 108 (Linux) bytes; a deep TMPDIR would make bind() fail.
  if (Buffer.byteLength(made.socketPath) <= 100 || tmpDir) return made;
  fs.rmSync(made.directory, { recursive: true, force: true });
  return make('/tmp');
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) return false;
  // Constant time, so the token cannot be guessed byte by byte from response timing: every
  // byte is compared, none ends the loop early (node:crypto's timingSafeEqual does the same,
  // but loading that module costs every run's start ~2.5 ms).
  let difference = 0;
  for (let i = 0; i < x.length; i++) difference |= x[i] ^ y[i];
  return difference === 0;
}

export class RuntimeServer implements Disposable {
  readonly token = randomHex(16);
  private readonly connections = new Set<Connection>();
  /** Latest hello wins: a pid's current connection. */
  private readonly byPid = new Map<number, Connection>();
  private readonly pending = new Map<number, PendingControl>();
  private readonly pendingStacks = new Map<number, PendingStacks>();
  private readonly log: RateLimitedLog;
  private nextConnectionId = 1;
  private nextControlId = 1;
  private disposed = false;

  private constructor(
    private readonly options: RuntimeServerOptions,
    private readonly server: net.Server,
    /** MPTREE_SOCKET's value: a Unix socket's path, or tcp:127.0.0.1:PORT. */
    readonly address: string,
    /** The private 0700 directory of a Unix socket; null for TCP. */
    readonly directory: string | null,
  ) {
    this.log = new RateLimitedLog(options.logger, options.logSummaryIntervalMs);
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (error) => this.log.report('server', 'error', `mptree socket server: ${error.message}`));
  }

  get runId(): string {
    return this.options.runId;
  }

  get transport(): Transport {
    return this.directory === null ? 'tcp' : 'unix';
  }

  static async start(options: RuntimeServerOptions): Promise<RuntimeServer> {
    const transport = options.transport ?? defaultTransport();
    const { directory, socketPath } = transport === 'unix' ? makeSocketPath(options.tmpDir) : { directory: null, socketPath: null };
    // Nagle would hold a control request back behind an unacknowledged one.
    const server = net.createServer({ noDelay: true });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        const listening = () => {
          server.off('error', reject);
          resolve();
        };
        // Port 0: the kernel picks a free one; 127.0.0.1, never a wildcard address.
        if (socketPath) server.listen(socketPath, listening);
        else server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, listening);
      });
      if (socketPath) fs.chmodSync(socketPath, 0o600);
    } catch (error) {
      server.close();
      if (directory) fs.rmSync(directory, { recursive: true, force: true });
      throw error;
    }
    const address = socketPath ?? `tcp:127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    return new RuntimeServer(options, server, address, directory);
  }

  /** Pids that currently have an authenticated connection. */
  connectedPids(): number[] {
    return [...this.byPid.keys()];
  }

  /** Open connections, authenticated or not: 0 once every process of the run hung up. */
  get connectionCount(): number {
    return this.connections.size;
  }

  hasConnection(pid: number): boolean {
    return this.byPid.has(pid);
  }

  /** Sends a one-way message (no answer expected) to `pid`; false if it has no open connection. */
  notify(pid: number, message: QueueResampleRequest): boolean {
    const connection = this.byPid.get(pid);
    if (!connection || connection.closed) return false;
    // A peer that died meanwhile shows as a socket error, handled (and not logged) in accept.
    connection.write(encodeControl(message));
    return true;
  }

  /**
   * Sends a control request on the connection of `viaPid` (the target's logical parent) and
   * resolves with its control.result. Rejects when there is no such connection, when it
   * closes first, or after the operation's timeout plus a slack for the round trip.
   */
  control(viaPid: number, op: ControlOp, pid: number, timeoutSec?: number): Promise<ControlResultMessage> {
    const connection = this.byPid.get(viaPid);
    if (!connection || connection.closed) {
      return Promise.reject(new LocalizedError(phrase('process {0} has no connection to mptree', viaPid)));
    }
    const id = this.nextControlId++;
    const waitMs = (op === 'join' ? (timeoutSec ?? 0) * 1000 : 0) + (this.options.controlSlackMs ?? 5000);
    return new Promise<ControlResultMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LocalizedError(phrase('process {0} did not answer the {1} request within {2} s', viaPid, op, Math.round(waitMs / 1000))));
      }, waitMs);
      this.pending.set(id, { resolve, reject, timer, connection });
      const request = { v: PROTOCOL_VERSION as 1, type: 'control' as const, id, op, pid, ...(op === 'join' ? { timeout: timeoutSec } : {}) };
      connection.write(encodeControl(request), (error) => this.settle(id, new LocalizedError(phrase('could not reach process {0}: {1}', viaPid, error.message))));
    });
  }

  /**
   * Asks `pid` for every thread's stack (stacks.request) and resolves with its answer, which
   * only that process's own connection can give. Rejects when it has no connection, when the
   * connection closes first, or after timeoutMs (a process stopped, or holding the GIL in C,
   * cannot answer: its runtime's thread never runs).
   */
  stacks(pid: number, timeoutMs: number): Promise<StacksMessage> {
    const connection = this.byPid.get(pid);
    if (!connection || connection.closed) {
      return Promise.reject(new LocalizedError(phrase('process {0} has no connection to mptree', pid)));
    }
    const id = this.nextControlId++;
    return new Promise<StacksMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingStacks.delete(id);
        reject(new LocalizedError(phrase('process {0} did not answer within {1} s', pid, timeoutMs / 1000)));
      }, timeoutMs);
      this.pendingStacks.set(id, { resolve, reject, timer, connection });
      connection.write(encodeControl({ v: PROTOCOL_VERSION as 1, type: 'stacks.request', id }), (error) =>
        this.settleStacks(id, new LocalizedError(phrase('could not reach process {0}: {1}', pid, error.message))),
      );
    });
  }

  private settleStacks(id: number, outcome: StacksMessage | Error, from?: Connection): void {
    const entry = this.pendingStacks.get(id);
    // An answer counts only on the connection that was asked (another process cannot answer for it).
    if (!entry || (from !== undefined && from !== entry.connection)) return;
    this.pendingStacks.delete(id);
    clearTimeout(entry.timer);
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve(outcome);
  }

  private settle(id: number, outcome: ControlResultMessage | Error): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve(outcome);
  }

  private accept(socket: net.Socket): void {
    if (this.disposed) {
      socket.destroy();
      return;
    }
    const connection: Connection = new Connection(this.nextConnectionId++, socket, this.options.maxLineBytes, (bytes) =>
      this.log.report('oversized', 'warn', `mptree: dropped a ${bytes}-byte line from ${connection.label}: longer than the ${this.options.maxLineBytes ?? MAX_LINE_BYTES}-byte limit`),
    );
    this.connections.add(connection);
    connection.helloTimer = setTimeout(() => this.refuse(connection, 'timeout', 'no hello within the time limit'), this.options.helloTimeoutMs ?? 10_000);
    connection.helloTimer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', (error) => {
      // Peers die without a goodbye (SIGKILL): ECONNRESET/EPIPE are normal, not worth a log line.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ECONNRESET' && code !== 'EPIPE') this.log.report(`socket:${code}`, 'warn', `mptree: ${connection.label}: ${error.message}`);
    });
    socket.on('close', () => this.onClose(connection));
  }

  private refuse(connection: Connection, kind: string, reason: string): void {
    if (connection.closed) return;
    // Everything after the bad first line is ignored unread. Rate-limited: a flood of bad
    // connections costs one log line per reason, not one per connection.
    this.log.report(`refused:${kind}`, 'warn', `mptree: refused ${connection.label}: ${reason}`);
    connection.socket.destroy();
    this.onClose(connection);
  }

  private onData(connection: Connection, chunk: Buffer): void {
    if (connection.closed) return;
    const batch: ReceivedMessage[] = [];
    for (const line of connection.decoder.push(chunk)) {
      if (connection.closed) return;
      if (line.length === 0) continue;
      const parsed = parseMessage(line);
      if (!connection.authenticated) {
        if (!parsed.ok) return this.refuse(connection, 'invalid', `first line is not a valid hello (${parsed.reason})`);
        const hello = parsed.message;
        if (hello.type !== 'hello') return this.refuse(connection, 'not-hello', `first message is "${hello.type}", not hello`);
        if (!sameToken(hello.token, this.token)) return this.refuse(connection, 'token', 'wrong token');
        if (hello.runId !== this.options.runId) return this.refuse(connection, 'run', `hello for another run (${JSON.stringify(hello.runId.slice(0, 40))})`);
        connection.authenticated = true;
        clearTimeout(connection.helloTimer);
        this.bind(connection, hello.pid);
        batch.push({ message: hello, from: hello.pid });
        continue;
      }
      if (!parsed.ok) {
        // Field errors are keyed by message type (a fixed set); an unknown or unsupported type
        // is whatever the peer wrote, so all of those share one key.
        const kind = parsed.kind === 'field' ? `field:${parsed.type}` : parsed.kind;
        this.log.report(kind, 'warn', `mptree: ${connection.label}: ${parsed.reason}`);
        continue;
      }
      const message = parsed.message;
      if (message.type === 'control.result') {
        this.settle(message.id, message);
        continue;
      }
      if (message.type === 'stacks') {
        this.settleStacks(message.id, message, connection);
        continue;
      }
      if (message.type === 'hello') {
        if (!sameToken(message.token, this.token) || message.runId !== this.options.runId) {
          this.log.report('hello-mismatch', 'warn', `mptree: ${connection.label}: ignored a repeated hello with a different token or run`);
          continue;
        }
        if (message.pid !== connection.pid) this.bind(connection, message.pid);
      }
      batch.push({ message, from: connection.pid! });
    }
    if (batch.length === 0) return;
    try {
      this.options.onBatch(batch);
    } catch (error) {
      this.log.report('handler', 'error', `mptree: error while applying messages: ${(error as Error)?.stack ?? String(error)}`);
    }
  }

  private bind(connection: Connection, pid: number): void {
    if (connection.pid !== null && this.byPid.get(connection.pid) === connection) this.byPid.delete(connection.pid);
    connection.pid = pid;
    this.byPid.set(pid, connection);
  }

  private onClose(connection: Connection): void {
    if (connection.closed) return;
    connection.closed = true;
    clearTimeout(connection.helloTimer);
    connection.decoder.end();
    this.connections.delete(connection);
    if (connection.pid !== null && this.byPid.get(connection.pid) === connection) this.byPid.delete(connection.pid);
    for (const [id, entry] of this.pending) {
      if (entry.connection === connection) this.settle(id, new LocalizedError(phrase('process {0} disconnected before answering', connection.pid ?? '?')));
    }
    for (const [id, entry] of this.pendingStacks) {
      if (entry.connection === connection) this.settleStacks(id, new LocalizedError(phrase('process {0} disconnected before answering', connection.pid ?? '?')));
    }
    if (!this.disposed) this.options.onConnectionClosed?.();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try {
      this.server.close();
      for (const connection of [...this.connections]) {
        connection.socket.destroy();
        this.onClose(connection);
      }
      for (const id of [...this.pending.keys()]) this.settle(id, new LocalizedError(phrase('the run ended')));
      for (const id of [...this.pendingStacks.keys()]) this.settleStacks(id, new LocalizedError(phrase('the run ended')));
      this.log.dispose();
    } finally {
      // The private directory must not outlive the run, whatever failed above.
      if (this.directory) fs.rmSync(this.directory, { recursive: true, force: true });
    }
  }
}
