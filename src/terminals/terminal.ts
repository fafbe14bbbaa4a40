/**
 * One terminal: a REPL on a pty, its recent output, and the websockets watching it.
 *
 *   running ──kill()──▶ terminating ──process gone──▶ ended
 *      └──────────────── process exited ────────────────▲
 *
 * Output goes to every client and to the scrollback (replayed to a client that connects later).
 * Flow control: when any client has more than `highWaterBytes` unsent, the pty is paused, so the
 * REPL blocks on its own writes instead of the gateway buffering without bound; it resumes once
 * every client is under `lowWaterBytes`. A client that stays over the mark for `stallTimeoutMs`
 * is cut off (1013, it may reconnect and gets the scrollback) so it cannot freeze the others.
 */
import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../logger.js';
import type { PtyProcess, PtySpawn, PtySpawnOptions } from './pty-process.js';
import { Scrollback } from './scrollback.js';
import { encodeDisconnect, encodeSetup, encodeStdout, type ExitStatus } from './terminado-codec.js';

export type TerminalKind = 'python' | 'pyspark' | 'spark-sql' | 'spark-shell' | 'attached';
export type TerminalState = 'running' | 'terminating' | 'ended';
export type TerminalEndReason = 'exited' | 'shutdown' | 'culled' | 'detached' | 'kernel_ended' | 'gateway_stop';

type TerminalEvent = { type: 'kill' } | { type: 'gone' };

export function transition(state: TerminalState, event: TerminalEvent): TerminalState {
  switch (state) {
    case 'running':
      return event.type === 'kill' ? 'terminating' : 'ended';
    case 'terminating':
      return event.type === 'gone' ? 'ended' : state;
    case 'ended':
      return state;
    default: {
      const never: never = state;
      return never;
    }
  }
}

/** A websocket as the Terminal sees it. */
export interface TerminalClient {
  /** Output sent but not yet taken by the peer (ws `bufferedAmount`). */
  readonly bufferedBytes: number;
  /** `onFlushed` runs once the frame left the gateway (or the socket failed). */
  send(frame: string, onFlushed: () => void): void;
  close(code: number, reason: string): void;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface TerminalLimits {
  scrollbackBytes: number;
  highWaterBytes: number;
  lowWaterBytes: number;
  stallTimeoutMs: number;
  /** SIGHUP, then SIGKILL to the group after this long. */
  killTimeoutMs: number;
}

export interface TerminalInit {
  name: string;
  kind: TerminalKind;
  /** The kernel an attached terminal shares a namespace with. */
  kernelId?: string | undefined;
  /** The Spark session this terminal owns (pyspark/spark-sql/spark-shell). */
  sessionId?: string | undefined;
  launch: Omit<PtySpawnOptions, 'rows' | 'cols'>;
  rows?: number;
  cols?: number;
}

export interface TerminalDeps {
  spawn: PtySpawn;
  logger: Logger;
  limits: TerminalLimits;
  now: () => number;
  timers: Timers;
}

type TerminalEvents = { ended: [ExitStatus, TerminalEndReason] };

export class Terminal extends EventEmitter<TerminalEvents> {
  readonly name: string;
  readonly kind: TerminalKind;
  readonly kernelId: string | undefined;
  readonly sessionId: string | undefined;
  readonly createdAt: number;
  private stateValue: TerminalState = 'running';
  private readonly pty: PtyProcess;
  private readonly decoder = new StringDecoder('utf8');
  private readonly scrollback: Scrollback;
  private readonly clients = new Map<TerminalClient, { rows: number; cols: number } | undefined>();
  private size: { rows: number; cols: number };
  private lastActivityMs: number;
  private detachedAt: number | undefined;
  private paused = false;
  private stallTimer: unknown;
  private killTimers: unknown[] = [];
  private endReason: TerminalEndReason = 'exited';
  private readonly endedPromise: Promise<void>;
  private resolveEnded!: () => void;
  private readonly log: Logger;

  constructor(init: TerminalInit, private readonly deps: TerminalDeps) {
    super();
    this.name = init.name;
    this.kind = init.kind;
    this.kernelId = init.kernelId;
    this.sessionId = init.sessionId;
    this.createdAt = deps.now();
    this.lastActivityMs = this.createdAt;
    this.detachedAt = this.createdAt;
    this.size = { rows: init.rows ?? 24, cols: init.cols ?? 80 };
    this.scrollback = new Scrollback(deps.limits.scrollbackBytes);
    this.log = deps.logger.child({ terminal: this.name, kind: this.kind });
    this.endedPromise = new Promise((resolve) => (this.resolveEnded = resolve));
    this.pty = deps.spawn({ ...init.launch, ...this.size });
    this.pty.onData((chunk) => this.onOutput(this.decoder.write(chunk)));
    this.pty.onExit((status) => this.onExit(status));
    this.log.info({ pid: this.pty.pid, argv0: init.launch.file }, 'terminal started');
  }

  get state(): TerminalState {
    return this.stateValue;
  }

  get pid(): number {
    return this.pty.pid;
  }

  get connections(): number {
    return this.clients.size;
  }

  get lastActivity(): number {
    return this.lastActivityMs;
  }

  /** When the last client left (or the terminal started without one); undefined while watched. */
  get detachedSince(): number | undefined {
    return this.detachedAt;
  }

  get rows(): number {
    return this.size.rows;
  }

  get cols(): number {
    return this.size.cols;
  }

  get outputPaused(): boolean {
    return this.paused;
  }

  get stdinBacklogBytes(): number {
    return this.pty.pendingWriteBytes;
  }

  /** Resolves when the process is gone and every client was told. */
  get ended(): Promise<void> {
    return this.endedPromise;
  }

  // ---- clients ----

  /** terminado's open(): `setup`, then the recent output. */
  attach(client: TerminalClient): void {
    if (this.stateValue === 'ended') throw new Error(`terminal ${this.name} has ended`);
    this.clients.set(client, undefined);
    this.detachedAt = undefined;
    client.send(encodeSetup(), () => this.onFlushed());
    const recent = this.scrollback.text();
    if (recent) client.send(encodeStdout(recent), () => this.onFlushed());
    this.checkPressure();
  }

  detach(client: TerminalClient): void {
    if (!this.clients.delete(client)) return;
    if (this.clients.size === 0) this.detachedAt = this.deps.now();
    this.applySmallestSize();
    this.onFlushed();
  }

  input(data: string): void {
    if (this.stateValue !== 'running' || data.length === 0) return;
    this.lastActivityMs = this.deps.now();
    this.pty.write(data);
  }

  /** terminado's resize_to_smallest: the pty gets the smallest size any client asked for. */
  resize(client: TerminalClient, rows: number, cols: number): void {
    if (!this.clients.has(client)) return;
    this.clients.set(client, { rows, cols });
    this.applySmallestSize();
  }

  /** A note from the gateway in the terminal's output (kept in the scrollback too). */
  notice(text: string): void {
    this.onOutput(`\r\n\x1b[2m[sparkgate] ${text}\x1b[0m\r\n`);
  }

  // ---- lifecycle ----

  /** SIGHUP to the process group, SIGKILL after killTimeoutMs; resolves when it has ended. */
  kill(reason: TerminalEndReason): Promise<void> {
    if (this.stateValue !== 'running') return this.endedPromise;
    this.stateValue = transition(this.stateValue, { type: 'kill' });
    this.endReason = reason;
    this.log.info({ reason }, 'terminating terminal');
    // Let the last output drain: node-pty reports the exit only after its reader reached the end.
    this.clearStall();
    if (this.paused) {
      this.paused = false;
      this.pty.resume();
    }
    this.pty.signalGroup('SIGHUP');
    const { timers, limits } = this.deps;
    this.killTimers.push(
      timers.setTimeout(() => {
        this.log.warn('terminal ignored SIGHUP; killing its process group');
        this.pty.signalGroup('SIGKILL');
        // A process stuck in the kernel may never report; do not hold the gateway for it.
        this.killTimers.push(timers.setTimeout(() => this.onExit({ exitCode: null, signal: 9 }), limits.killTimeoutMs));
      }, limits.killTimeoutMs),
    );
    return this.endedPromise;
  }

  private onExit(status: ExitStatus): void {
    if (this.stateValue === 'ended') return;
    this.stateValue = transition(this.stateValue, { type: 'gone' });
    for (const t of this.killTimers) this.deps.timers.clearTimeout(t);
    this.clearStall();
    const tail = this.decoder.end();
    if (tail) this.onOutput(tail);
    // Stragglers the REPL left in its group (a background job, a JVM child).
    this.pty.signalGroup('SIGKILL');
    const frame = encodeDisconnect(status);
    const [code, why] = this.endReason === 'gateway_stop' ? [1001, 'gateway shutting down'] : [1000, 'terminal ended'];
    for (const client of this.clients.keys()) {
      client.send(frame, () => undefined);
      client.close(code, why);
    }
    this.clients.clear();
    this.scrollback.clear();
    this.log.info({ exit_code: status.exitCode, signal: status.signal, reason: this.endReason }, 'terminal ended');
    this.emit('ended', status, this.endReason);
    this.resolveEnded();
  }

  // ---- output and flow control ----

  private onOutput(text: string): void {
    if (!text) return;
    this.lastActivityMs = this.deps.now();
    this.scrollback.push(text);
    if (this.clients.size === 0) return;
    const frame = encodeStdout(text);
    for (const client of this.clients.keys()) client.send(frame, () => this.onFlushed());
    this.checkPressure();
  }

  private checkPressure(): void {
    if (this.paused || this.stateValue !== 'running') return;
    const { highWaterBytes, stallTimeoutMs } = this.deps.limits;
    for (const client of this.clients.keys()) {
      if (client.bufferedBytes > highWaterBytes) {
        this.paused = true;
        this.pty.pause();
        this.stallTimer = this.deps.timers.setTimeout(() => this.onStall(), stallTimeoutMs);
        return;
      }
    }
  }

  private onFlushed(): void {
    if (!this.paused) return;
    const { lowWaterBytes } = this.deps.limits;
    for (const client of this.clients.keys()) if (client.bufferedBytes > lowWaterBytes) return;
    this.clearStall();
    this.paused = false;
    this.pty.resume();
  }

  private onStall(): void {
    this.stallTimer = undefined;
    const { lowWaterBytes } = this.deps.limits;
    for (const [client] of [...this.clients]) {
      if (client.bufferedBytes <= lowWaterBytes) continue;
      this.log.warn({ buffered: client.bufferedBytes }, 'terminal client too slow; closing its websocket');
      client.close(1013, 'client too slow: output backlog over limit; reconnect to resume');
      this.detach(client);
    }
    this.onFlushed();
  }

  private clearStall(): void {
    if (this.stallTimer !== undefined) this.deps.timers.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private applySmallestSize(): void {
    let rows = Infinity;
    let cols = Infinity;
    for (const size of this.clients.values()) {
      if (!size) continue;
      rows = Math.min(rows, size.rows);
      cols = Math.min(cols, size.cols);
    }
    if (rows === Infinity || this.stateValue !== 'running') return;
    if (rows === this.size.rows && cols === this.size.cols) return;
    this.size = { rows, cols };
    try {
      this.pty.resize(rows, cols);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'resize failed');
    }
  }
}
