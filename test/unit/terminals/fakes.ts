/** Fakes we own for the terminal tiers: a pty, a websocket client, a clock with timers. */
import type { PtyProcess, PtySpawn, PtySpawnOptions } from '../../../src/terminals/pty-process.js';
import type { ExitStatus } from '../../../src/terminals/terminado-codec.js';
import type { TerminalClient, Timers } from '../../../src/terminals/terminal.js';
import { createLogger } from '../../../src/logger.js';

export const silentLogger = createLogger({ level: 'silent' });

export class FakePty implements PtyProcess {
  static nextPid = 90_000;
  readonly pid = FakePty.nextPid++;
  readonly written: string[] = [];
  readonly signals: NodeJS.Signals[] = [];
  readonly sizes: { rows: number; cols: number }[] = [];
  paused = false;
  pendingWriteBytes = 0;
  /** Exit on SIGHUP (a REPL does); false to test the SIGKILL path. */
  exitOnHangup = true;
  private dataListener: ((chunk: Buffer) => void) | undefined;
  private exitListener: ((status: ExitStatus) => void) | undefined;

  constructor(readonly options: PtySpawnOptions) {
    this.sizes.push({ rows: options.rows, cols: options.cols });
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListener = listener;
  }
  onExit(listener: (status: ExitStatus) => void): void {
    this.exitListener = listener;
  }
  write(data: string): void {
    this.written.push(data);
  }
  resize(rows: number, cols: number): void {
    this.sizes.push({ rows, cols });
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  signalGroup(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    if (signal === 'SIGHUP' && this.exitOnHangup) queueMicrotask(() => this.exit({ exitCode: null, signal: 1 }));
  }

  /** The REPL prints. */
  emit(data: string | Buffer): void {
    this.dataListener?.(Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'));
  }
  exit(status: ExitStatus = { exitCode: 0, signal: null }): void {
    const listener = this.exitListener;
    this.exitListener = undefined;
    listener?.(status);
  }
}

export function fakeSpawner(): { spawn: PtySpawn; ptys: FakePty[] } {
  const ptys: FakePty[] = [];
  return {
    ptys,
    spawn: (options) => {
      const pty = new FakePty(options);
      ptys.push(pty);
      return pty;
    },
  };
}

export class FakeClient implements TerminalClient {
  readonly frames: string[] = [];
  bufferedBytes = 0;
  closed: { code: number; reason: string } | undefined;
  /** Flush callbacks not run yet (the peer has not read). */
  private pending: (() => void)[] = [];
  /** When true, sent frames stay buffered until drain(). */
  slow = false;

  send(frame: string, onFlushed: () => void): void {
    this.frames.push(frame);
    if (this.slow) {
      this.bufferedBytes += Buffer.byteLength(frame);
      this.pending.push(onFlushed);
    } else {
      onFlushed();
    }
  }
  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }
  /** The peer reads everything. */
  drain(): void {
    this.bufferedBytes = 0;
    for (const cb of this.pending.splice(0)) cb();
  }
  parsed(): unknown[][] {
    return this.frames.map((f) => JSON.parse(f) as unknown[]);
  }
  stdout(): string {
    return this.parsed()
      .filter((f) => f[0] === 'stdout')
      .map((f) => f[1])
      .join('');
  }
}

/** A clock and timers that move only when told. */
export class FakeClock implements Timers {
  now = 1_000_000;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pendingTimers(): number {
    return this.timers.size;
  }
  /** Move time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].fn();
    }
    this.now = end;
  }
}

export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
