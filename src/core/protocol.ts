// The wire format between the Python runtime and the session (docs/protocol.md).
// Everything received is untrusted data: JSON.parse only, then field-by-field checks, and a
// typed copy that holds only the fields we know (never the parsed object itself).
import { COLLECTORS, type CollectedBy } from './collectedBy';
import type { HelperRole, LockKind, PoolKind, QueueKind, SiteInfo, WaitObject, WaitObjectKind } from './types';

export type { LockKind, SiteInfo, WaitObject, WaitObjectKind } from './types';

export const PROTOCOL_VERSION = 1;
export const MAX_LINE_BYTES = 1024 * 1024;

export type RuntimeProcessKind = 'python' | 'process' | 'pool-worker' | 'helper';

export interface HelloMessage {
  v: 1;
  type: 'hello';
  token: string;
  runId: string;
  pid: number;
  ppid: number | null;
  parentPid: number | null;
  name: string;
  daemon: boolean;
  kind: RuntimeProcessKind;
  role: HelperRole | null;
  startMethod: string | null;
  target: string | null;
  argv: string[] | null;
  python: string | null;
  created: number | null;
  t: number;
}

export interface ProcessStartedMessage {
  v: 1;
  type: 'process.started';
  pid: number;
  parentPid: number;
  name: string;
  daemon: boolean;
  kind: RuntimeProcessKind;
  role: HelperRole | null;
  startMethod: string | null;
  target: string | null;
  poolId: string | null;
  /** "file:line" in the user's code where start() was called, when the runtime found it. */
  site?: string | null;
  t: number;
}

export interface ProcessExitedMessage {
  v: 1;
  type: 'process.exited';
  pid: number;
  exitCode: number;
  t: number;
}

/** The process's own code is done: the interpreter began its exit (atexit handlers run). */
export interface ProcessAtexitMessage {
  v: 1;
  type: 'process.atexit';
  pid: number;
  t: number;
}

export interface ProcessExitingMessage {
  v: 1;
  type: 'process.exiting';
  pid: number;
  exitCode: number;
  /** Its own getrusage at its end: user + system CPU seconds (absent where it has none, Windows). */
  cpuSeconds?: number;
  /** Its own peak resident memory in bytes (ru_maxrss). */
  peakRssBytes?: number;
  t: number;
}

/** What a process cost, at its end: from itself (interpreter exit) or its parent (a zombie's CPU time). */
export interface ProcessUsageMessage {
  v: 1;
  type: 'process.usage';
  pid: number;
  cpuSeconds?: number;
  peakRssBytes?: number;
  source: 'self' | 'parent';
  t: number;
}

export interface ProcessReapedMessage {
  v: 1;
  type: 'process.reaped';
  pid: number;
  joined: boolean;
  /** Who collected it (absent from older runtimes): see collectedBy.ts. */
  by?: CollectedBy;
  t: number;
}

export interface QueueCreatedMessage {
  v: 1;
  type: 'queue.created';
  id: string;
  kind: QueueKind;
  ownerPid: number;
  maxsize: number;
  site: string | null;
  t: number;
}

/** `[id, puts, gets, tasksDone]` deltas. */
export type QueueCountEntry = [string, number, number, number];

export interface QueueCountsMessage {
  v: 1;
  type: 'queue.counts';
  counts: QueueCountEntry[];
  t: number;
}

/** `[id, depth]`: a queue's depth read from the queue itself (its semaphore) at `t`. */
export type QueueDepthEntry = [string, number];

export interface QueueDepthMessage {
  v: 1;
  type: 'queue.depth';
  depths: QueueDepthEntry[];
  t: number;
}

export interface PoolCreatedMessage {
  v: 1;
  type: 'pool.created';
  id: string;
  kind: PoolKind;
  ownerPid: number;
  size: number;
  site: string | null;
  t: number;
}

export interface PoolWorkersMessage {
  v: 1;
  type: 'pool.workers';
  id: string;
  pids: number[];
  t: number;
}

/** `[id, submitted, completed]` deltas. */
export type PoolCountEntry = [string, number, number];

export interface PoolCountsMessage {
  v: 1;
  type: 'pool.counts';
  counts: PoolCountEntry[];
  t: number;
}

export type PoolStateName = 'closed' | 'terminated' | 'joined' | 'shutdown';

export interface PoolStateMessage {
  v: 1;
  type: 'pool.state';
  id: string;
  state: PoolStateName;
  t: number;
}

export interface ControlResultMessage {
  v: 1;
  type: 'control.result';
  id: number;
  ok: boolean;
  exitCode: number | null;
  error: string | null;
  timedOut: boolean;
  t: number;
}

export interface LockCreatedMessage {
  v: 1;
  type: 'lock.created';
  id: string;
  kind: LockKind;
  ownerPid: number;
  site: SiteInfo | null;
  /** The variable name at the creating line, when the runtime found it cheaply. */
  label: string | null;
  t: number;
}

export interface WaitBeginMessage {
  v: 1;
  type: 'wait.begin';
  pid: number;
  threadId: number;
  thread: string;
  call: string;
  object: WaitObject;
  /** Seconds, or null for a wait without a timeout. */
  timeout: number | null;
  site: SiteInfo | null;
  /** When the call began (not when it was reported). */
  since: number;
  /** The program's live threads in that process (not the runtime's nor multiprocessing's helpers), when sent. */
  threads: number | null;
  t: number;
}

export interface WaitEndMessage {
  v: 1;
  type: 'wait.end';
  pid: number;
  threadId: number;
  t: number;
}

export interface LockHeldMessage {
  v: 1;
  type: 'lock.held';
  id: string;
  pid: number;
  threadId: number;
  thread: string;
  site: SiteInfo | null;
  since: number;
  t: number;
}

export interface LockReleasedMessage {
  v: 1;
  type: 'lock.released';
  id: string;
  pid: number;
  threadId: number;
  t: number;
}

export interface TaskBeginMessage {
  v: 1;
  type: 'task.begin';
  pid: number;
  poolId: string;
  /** Function and arguments, cut to ~60 characters: `crunch(7)`. */
  call: string;
  since: number;
  t: number;
}

export interface TaskEndMessage {
  v: 1;
  type: 'task.end';
  pid: number;
  poolId: string;
  t: number;
}

/** `[poolId, workerPid, tasksDoneDelta, cpuSecondsTotal | null]`. */
export type WorkerCountEntry = [string, number, number, number | null];

export interface WorkerCountsMessage {
  v: 1;
  type: 'worker.counts';
  counts: WorkerCountEntry[];
  t: number;
}

/** One frame of a Python stack (stacks answers). */
export interface StackFrame {
  file: string;
  line: number;
  function: string;
}

/** One thread of a process and its Python stack, innermost frame last. */
export interface ThreadStack {
  threadId: number;
  name: string;
  daemon: boolean;
  /** A thread of the runtime itself (the UI hides these by default). */
  runtime: boolean;
  frames: StackFrame[];
  /** Outermost frames left out of a very deep stack (0 when none). */
  omitted: number;
}

/** The answer to a stacks.request: every thread of the process as it is now. */
export interface StacksMessage {
  v: 1;
  type: 'stacks';
  id: number;
  pid: number;
  threads: ThreadStack[];
  t: number;
}

export type RuntimeMessage =
  | HelloMessage
  | ProcessStartedMessage
  | ProcessExitedMessage
  | ProcessExitingMessage
  | ProcessAtexitMessage
  | ProcessUsageMessage
  | ProcessReapedMessage
  | QueueCreatedMessage
  | QueueCountsMessage
  | QueueDepthMessage
  | PoolCreatedMessage
  | PoolWorkersMessage
  | PoolCountsMessage
  | PoolStateMessage
  | ControlResultMessage
  | StacksMessage
  | LockCreatedMessage
  | WaitBeginMessage
  | WaitEndMessage
  | LockHeldMessage
  | LockReleasedMessage
  | TaskBeginMessage
  | TaskEndMessage
  | WorkerCountsMessage;

export type RuntimeMessageType = RuntimeMessage['type'];

export type ControlOp = 'join' | 'terminate' | 'kill';

export interface ControlRequest {
  v: 1;
  type: 'control';
  id: number;
  op: ControlOp;
  pid: number;
  timeout?: number;
}

/**
 * Session → runtime: another process reported a depth of these queues that moved what the
 * session shows; the receiver reads them now and sends its reading even if it did not change
 * (readings are otherwise sent only on change, so a reader's unchanged truth would go unsaid).
 */
export interface QueueResampleRequest {
  v: 1;
  type: 'queue.resample';
  ids: string[];
}

/** Session → runtime: every thread's stack now, answered by a `stacks` line with the same id. */
export interface StacksRequest {
  v: 1;
  type: 'stacks.request';
  id: number;
}

/** What the session sends on a runtime connection: one JSON line each. */
export type SessionMessage = ControlRequest | QueueResampleRequest | StacksRequest;

export function encodeControl(request: SessionMessage): string {
  return JSON.stringify(request) + '\n';
}

// ---------------------------------------------------------------------------------------------
// Framing

export interface LineDecoderOptions {
  maxLineBytes?: number;
  /** Called once per dropped oversized line (not once per chunk of it). */
  onOversized?: (bytes: number) => void;
}

/**
 * Splits a byte stream into lines. Lines are decoded only when complete, so a multi-byte
 * UTF-8 character split across chunks is reassembled for free (0x0A never occurs inside a
 * multi-byte sequence). Memory is bounded: at most maxLineBytes of a partial line is held;
 * past that the line is dropped until its newline.
 */
export class LineDecoder {
  private readonly maxLineBytes: number;
  private readonly onOversized: ((bytes: number) => void) | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside an oversized line: skip bytes up to the next newline. */
  private discarding = false;
  private discardedBytes = 0;

  constructor(options: LineDecoderOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.onOversized = options.onOversized;
  }

  /** Bytes held for an incomplete line (for tests of the memory bound). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      const piece = chunk.subarray(start, end);
      if (this.discarding) {
        this.discardedBytes += piece.length;
      } else if (this.pendingBytes + piece.length > this.maxLineBytes) {
        // Drop what we hold and everything up to the next newline; report once per line.
        this.discarding = true;
        this.discardedBytes = this.pendingBytes + piece.length;
        this.pending = [];
        this.pendingBytes = 0;
      } else if (piece.length > 0) {
        // Copy: the caller may reuse the chunk's memory after push returns.
        this.pending.push(newline === -1 ? Buffer.from(piece) : piece);
        this.pendingBytes += piece.length;
      }
      if (newline === -1) break;
      if (this.discarding) {
        this.discarding = false;
        this.onOversized?.(this.discardedBytes);
        this.discardedBytes = 0;
      } else {
        const bytes = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
        let line = bytes.toString('utf8');
        // Tolerate CRLF from writers on Windows.
        if (line.endsWith('\r')) line = line.slice(0, -1);
        lines.push(line);
      }
      this.pending = [];
      this.pendingBytes = 0;
      start = newline + 1;
    }
    return lines;
  }

  /**
   * End of stream. An unterminated last line is incomplete by the framing rules (the writer
   * died mid-line); it is returned so the caller can decide, but the server ignores it.
   */
  end(): string | null {
    const rest = this.pendingBytes > 0 && !this.discarding ? Buffer.concat(this.pending).toString('utf8') : null;
    this.pending = [];
    this.pendingBytes = 0;
    this.discarding = false;
    return rest;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

export type ParseFailureKind = 'json' | 'not-object' | 'version' | 'unknown-type' | 'field';

export type ParseResult =
  | { ok: true; message: RuntimeMessage }
  | { ok: false; kind: ParseFailureKind; type: string | null; reason: string };

type Check = (value: unknown) => boolean;

const isString: Check = (v) => typeof v === 'string';
const isBool: Check = (v) => typeof v === 'boolean';
const isNumber: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isInt: Check = (v) => Number.isSafeInteger(v);
const isAmount: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isCount: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const isPid: Check = (v) => Number.isSafeInteger(v) && (v as number) > 0;
const oneOf =
  (...values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v);
const orNull =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const arrayOf =
  (check: Check, maxLength = 100_000): Check =>
  (v) =>
    Array.isArray(v) && v.length <= maxLength && v.every(check);
const tuple =
  (...checks: Check[]): Check =>
  (v) =>
    Array.isArray(v) && v.length >= checks.length && checks.every((check, i) => check(v[i]));

const isFrame: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const f = v as Record<string, unknown>;
  return isString(f.file) && isInt(f.line) && isString(f.function);
};
const isThreadStack: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const th = v as Record<string, unknown>;
  return isInt(th.threadId) && isString(th.name) && (th.daemon === undefined || isBool(th.daemon)) && (th.runtime === undefined || isBool(th.runtime)) && (th.omitted === undefined || isCount(th.omitted)) && arrayOf(isFrame, 10_000)(th.frames);
};

/** A typed copy of a checked thread (isThreadStack): only the fields we know, nothing aliased. */
function copyThread(v: unknown): ThreadStack {
  const th = v as Record<string, unknown>;
  const frames = (th.frames as Array<Record<string, unknown>>).map((f) => ({ file: f.file as string, line: f.line as number, function: f.function as string }));
  return { threadId: th.threadId as number, name: th.name as string, daemon: th.daemon === true, runtime: th.runtime === true, frames, omitted: (th.omitted as number | undefined) ?? 0 };
}

/** Strings from the peer that the tree shows (a call, a name): bounded, so one line cannot bloat every row. */
const isShortString: Check = (v) => typeof v === 'string' && v.length <= 1000;
const isPositiveInt: Check = (v) => Number.isSafeInteger(v) && (v as number) > 0;
const isSite: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return typeof o.file === 'string' && o.file.length <= 4096 && isPositiveInt(o.line) && (o.function === undefined || o.function === null || isShortString(o.function));
};
const isWaitObject: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (!oneOf(...WAIT_OBJECT_KINDS)(o.kind)) return false;
  const optional = (field: string, check: Check) => o[field] === undefined || o[field] === null || check(o[field]);
  if (!optional('id', isShortString) || !optional('pid', isPid) || !optional('address', isShortString)) return false;
  // A join names the process joined: without it the wait is about nothing we can show.
  return o.kind !== 'process' || isPid(o.pid);
};

const RUNTIME_KINDS = ['python', 'process', 'pool-worker', 'helper'] as const;
const ROLES = ['resource-tracker', 'forkserver', 'manager'] as const;
const QUEUE_KINDS = ['Queue', 'JoinableQueue', 'SimpleQueue', 'ManagerQueue', 'ManagerJoinableQueue'] as const;
const POOL_KINDS = ['Pool', 'ProcessPoolExecutor'] as const;
const POOL_STATES = ['closed', 'terminated', 'joined', 'shutdown'] as const;
const LOCK_KINDS = ['Lock', 'RLock', 'Semaphore', 'BoundedSemaphore', 'Condition', 'Event', 'Barrier'] as const;
const WAIT_OBJECT_KINDS = ['queue', 'lock', 'process', 'pool', 'connection', 'future', 'manager', 'other'] as const;

/** required: the field must be present and pass; optional: absent means null (or the default). */
interface FieldSpec {
  check: Check;
  required: boolean;
  /** A typed copy of a checked nested value (sites, wait objects): never the parsed object itself. */
  copy?: (value: unknown) => unknown;
}
const req = (check: Check, copy?: (value: unknown) => unknown): FieldSpec => ({ check, required: true, copy });
const opt = (check: Check, copy?: (value: unknown) => unknown): FieldSpec => ({ check, required: false, copy });

type Raw = Record<string, unknown>;
const copySite = (v: unknown): SiteInfo | null => {
  if (v === null) return null;
  const o = v as Raw;
  return { file: o.file as string, line: o.line as number, function: (o.function as string | null | undefined) ?? null };
};
const copyWaitObject = (v: unknown): WaitObject => {
  const o = v as Raw;
  return { kind: o.kind as WaitObjectKind, id: (o.id as string | null | undefined) ?? null, pid: (o.pid as number | null | undefined) ?? null, address: (o.address as string | null | undefined) ?? null };
};

// `t` is optional on the wire in our reading: a message without it is stamped on arrival.
const SCHEMAS: Record<RuntimeMessageType, Record<string, FieldSpec>> = {
  hello: {
    token: req(isString),
    runId: req(isString),
    pid: req(isPid),
    ppid: opt(orNull(isInt)),
    parentPid: opt(orNull(isInt)),
    name: opt(isString),
    daemon: opt(isBool),
    kind: req(oneOf(...RUNTIME_KINDS)),
    role: opt(orNull(oneOf(...ROLES))),
    startMethod: opt(orNull(isString)),
    target: opt(orNull(isString)),
    argv: opt(orNull(arrayOf(isString, 10_000))),
    python: opt(orNull(isString)),
    created: opt(orNull(isNumber)),
    t: opt(isNumber),
  },
  'process.started': {
    pid: req(isPid),
    parentPid: req(isPid),
    name: opt(isString),
    daemon: opt(isBool),
    kind: req(oneOf(...RUNTIME_KINDS)),
    role: opt(orNull(oneOf(...ROLES))),
    startMethod: opt(orNull(isString)),
    target: opt(orNull(isString)),
    poolId: opt(orNull(isString)),
    site: opt(orNull(isString)),
    t: opt(isNumber),
  },
  'process.atexit': { pid: req(isPid), t: opt(isNumber) },
  'process.exited': { pid: req(isPid), exitCode: req(isInt), t: opt(isNumber) },
  'process.exiting': { pid: req(isPid), exitCode: req(isInt), cpuSeconds: opt(isAmount), peakRssBytes: opt(isAmount), t: opt(isNumber) },
  'process.usage': { pid: req(isPid), cpuSeconds: opt(isAmount), peakRssBytes: opt(isAmount), source: req(oneOf('self', 'parent')), t: opt(isNumber) },
  'process.reaped': { pid: req(isPid), joined: opt(isBool), by: opt(oneOf(...COLLECTORS)), t: opt(isNumber) },
  'queue.created': {
    id: req(isString),
    kind: req(oneOf(...QUEUE_KINDS)),
    ownerPid: req(isPid),
    maxsize: opt(isInt),
    site: opt(orNull(isString)),
    t: opt(isNumber),
  },
  'queue.counts': { counts: req(arrayOf(tuple(isString, isCount, isCount, isCount))), t: opt(isNumber) },
  'queue.depth': { depths: req(arrayOf(tuple(isString, isCount))), t: opt(isNumber) },
  'pool.created': {
    id: req(isString),
    kind: req(oneOf(...POOL_KINDS)),
    ownerPid: req(isPid),
    size: opt(isCount),
    site: opt(orNull(isString)),
    t: opt(isNumber),
  },
  'pool.workers': { id: req(isString), pids: req(arrayOf(isPid)), t: opt(isNumber) },
  'pool.counts': { counts: req(arrayOf(tuple(isString, isCount, isCount))), t: opt(isNumber) },
  'pool.state': { id: req(isString), state: req(oneOf(...POOL_STATES)), t: opt(isNumber) },
  'control.result': {
    id: req(isInt),
    ok: req(isBool),
    exitCode: opt(orNull(isInt)),
    error: opt(orNull(isString)),
    timedOut: opt(isBool),
    t: opt(isNumber),
  },
  stacks: { id: req(isInt), pid: req(isPid), threads: req(arrayOf(isThreadStack, 10_000)), t: opt(isNumber) },
  'lock.created': {
    id: req(isShortString),
    kind: req(oneOf(...LOCK_KINDS)),
    ownerPid: req(isPid),
    site: opt(orNull(isSite), copySite),
    label: opt(orNull(isShortString)),
    t: opt(isNumber),
  },
  'wait.begin': {
    pid: req(isPid),
    threadId: req(isInt),
    thread: opt(isShortString),
    call: req(isShortString),
    object: req(isWaitObject, copyWaitObject),
    timeout: opt(orNull(isAmount)),
    site: opt(orNull(isSite), copySite),
    since: req(isNumber),
    threads: opt(orNull(isPositiveInt)),
    t: opt(isNumber),
  },
  'wait.end': { pid: req(isPid), threadId: req(isInt), t: opt(isNumber) },
  'lock.held': {
    id: req(isShortString),
    pid: req(isPid),
    threadId: req(isInt),
    thread: opt(isShortString),
    site: opt(orNull(isSite), copySite),
    since: req(isNumber),
    t: opt(isNumber),
  },
  'lock.released': { id: req(isShortString), pid: req(isPid), threadId: req(isInt), t: opt(isNumber) },
  'task.begin': { pid: req(isPid), poolId: req(isShortString), call: req(isShortString), since: req(isNumber), t: opt(isNumber) },
  'task.end': { pid: req(isPid), poolId: req(isShortString), t: opt(isNumber) },
  'worker.counts': { counts: req(arrayOf(tuple(isString, isPid, isCount, orNull(isAmount)))), t: opt(isNumber) },
};

const DEFAULTS: Record<string, unknown> = { name: '', daemon: false, joined: false, timedOut: false, maxsize: 0, size: 0, thread: '' };

export function isKnownType(type: string): type is RuntimeMessageType {
  return Object.prototype.hasOwnProperty.call(SCHEMAS, type);
}

/** Parses one protocol line. Never throws; never evaluates anything. */
export function parseMessage(line: string, now: () => number = Date.now): ParseResult {
  try {
    return parseUnchecked(line, now);
  } catch {
    // Defence in depth: nothing a peer writes may throw out of here (the server calls this
    // from a socket handler, where an exception would take the whole extension host down).
    return { ok: false, kind: 'json', type: null, reason: 'unreadable message' };
  }
}

function parseUnchecked(line: string, now: () => number): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, kind: 'json', type: null, reason: 'not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, kind: 'not-object', type: null, reason: 'not a JSON object' };
  }
  const raw = value as Record<string, unknown>;
  const type = typeof raw.type === 'string' ? raw.type : null;
  if (raw.v !== PROTOCOL_VERSION) {
    // Describe v without stringifying it: it may be a megabyte, or nested deeper than the stack.
    const v = typeof raw.v === 'number' ? String(raw.v) : raw.v === null ? 'null' : Array.isArray(raw.v) ? 'an array' : typeof raw.v;
    return { ok: false, kind: 'version', type: type?.slice(0, 64) ?? null, reason: `unsupported protocol version (${v.slice(0, 32)})` };
  }
  if (type === null) return { ok: false, kind: 'unknown-type', type: null, reason: 'missing "type"' };
  if (!isKnownType(type)) {
    // JSON-quoted: the name is the peer's, and may hold newlines or terminal escapes.
    return { ok: false, kind: 'unknown-type', type: type.slice(0, 64), reason: `unknown message type ${JSON.stringify(type.slice(0, 64))}` };
  }
  const schema = SCHEMAS[type];
  // A fresh object with only the schema's fields: unknown fields (and any __proto__ key)
  // never reach the model.
  const message: Record<string, unknown> = { v: PROTOCOL_VERSION, type };
  for (const [field, spec] of Object.entries(schema)) {
    const has = Object.prototype.hasOwnProperty.call(raw, field) && raw[field] !== undefined;
    if (!has) {
      if (spec.required) return { ok: false, kind: 'field', type, reason: `${type}: missing field "${field}"` };
      message[field] = field === 't' ? now() : field in DEFAULTS ? DEFAULTS[field] : null;
      continue;
    }
    if (!spec.check(raw[field])) {
      return { ok: false, kind: 'field', type, reason: `${type}: field "${field}" has the wrong type` };
    }
    const fieldValue = raw[field];
    if (spec.copy) {
      message[field] = spec.copy(fieldValue);
      continue;
    }
    if (type === 'stacks' && field === 'threads') {
      message[field] = (fieldValue as unknown[]).map(copyThread);
      continue;
    }
    // Copy arrays (one level deep, enough for argv, pids and count tuples) so nothing we
    // keep aliases the parsed value.
    message[field] = Array.isArray(fieldValue) ? fieldValue.map((e) => (Array.isArray(e) ? [...e] : e)) : fieldValue;
  }
  return { ok: true, message: message as unknown as RuntimeMessage };
}
