/**
 * Driver logs: what each session's driver process (the kernel: ipykernel and its PySpark JVM, or
 * an adapter and its spark-shell) writes to stdout and stderr, kept on disk per session in
 * `<stateDir>/logs/drivers/<sessionId>.log`: a BoundedLogFile (the ring executor logs use too),
 * bounded by `driverLogMaxBytes`.
 *
 * - Output is kept by whole lines, stdout and stderr each split on their own, so a line of one is
 *   never cut by the other; a last line without a newline is written when the run ends.
 * - A kernel's every run appends to the same log; a restart is marked by a line, and so is the
 *   session's end, which also starts its retention (`logRetentionSeconds`, counted from the file's
 *   last write): the log outlives the session and the gateway (stateDir is a volume in a pod). It
 *   is swept at start and then periodically, never while the session runs.
 * - Readers get the log (or its last N lines) and, when following, new lines until the session
 *   ends or they go away (their AbortSignal).
 */
import { existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { LineSplitter } from '../k8s/log-cursor.js';
import type { Logger } from '../logger.js';
import type { SessionRecord, SessionRegistry } from '../sessions/session-registry.js';
import { BoundedLogFile } from './bounded-log-file.js';

export type OutputStream = 'stdout' | 'stderr';
export type OutputWriter = (stream: OutputStream, text: string) => void;

export interface DriverLogStoreOptions {
  /** `<stateDir>/logs/drivers` (DriverLogStore.dirIn). */
  dir: string;
  maxBytes: number;
  retentionMs: number;
  /**
   * Whether the session's driver may still write: a kernel the gateway holds (a dead one too, it
   * can be restarted) or a pooled one. Its log is never swept; one whose session is gone without
   * an `ended` event (a pooled kernel that was never claimed) is closed by the sweep.
   */
  exists: (sessionId: string) => boolean;
  /** Where session ends come from (`ended`): followers finish, retention starts. */
  registry?: Pick<SessionRegistry, 'on' | 'off'>;
  logger: Logger;
  now?: () => number;
  /** How often old logs are swept; default a quarter of the retention, between 1 minute and 1 hour. */
  sweepIntervalMs?: number;
}

export interface DriverLogReadOptions {
  /** Only the last N lines of what is there (then, following, everything new). */
  tail?: number | undefined;
  follow: boolean;
  signal: AbortSignal;
}

/** A session whose driver runs on this gateway: its log, and the current run's line splitters. */
interface LiveLog {
  file: BoundedLogFile;
  splitters: Record<OutputStream, LineSplitter> | undefined;
  failed: boolean;
}

/** Session ids are UUIDs (kernels, terminals); nothing else names a file. */
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SUFFIX = '.log';
/** A compaction's temporary file older than this is a leftover of a gateway that died mid-write. */
const STALE_TMP_MS = 60_000;

export class DriverLogStore {
  private readonly live = new Map<string, LiveLog>();
  private readonly readers = new Map<string, number>();
  /** Sessions whose last lines are being written. */
  private readonly ending = new Map<string, Promise<void>>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private readonly onEnded = (record: SessionRecord): void => void this.sessionEnded(record.id);

  constructor(private readonly options: DriverLogStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  static dirIn(stateDir: string): string {
    return path.join(stateDir, 'logs', 'drivers');
  }

  /** Creates the directory, sweeps what earlier gateways left past retention, listens for session ends. */
  start(): void {
    if (this.started) return;
    this.started = true;
    mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    this.sweep();
    const every = this.options.sweepIntervalMs ?? Math.min(3_600_000, Math.max(60_000, Math.floor(this.options.retentionMs / 4)));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
    this.options.registry?.on('ended', this.onEnded);
  }

  /** Stops sweeping and ends every follower (what was written stays). Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.options.registry?.off('ended', this.onEnded);
    const logs = [...this.live];
    this.live.clear();
    // Each file's queue runs the last lines before the detach: followers get them, then end.
    for (const [id, log] of logs) this.finishRun(id, log);
    await Promise.allSettled(logs.map(([, log]) => log.file.detachWriter()));
  }

  pathOf(sessionId: string): string {
    if (!SESSION_ID.test(sessionId)) throw new RangeError(`not a session id: ${JSON.stringify(sessionId.slice(0, 80))}`);
    return path.join(this.options.dir, `${sessionId}${SUFFIX}`);
  }

  /** Whether the session has a driver log on disk. */
  has(sessionId: string): boolean {
    return existsSync(this.pathOf(sessionId));
  }

  /** Readers of the session's log right now (following or not). */
  readerCount(sessionId: string): number {
    return this.readers.get(sessionId) ?? 0;
  }

  /**
   * A (re)start of the session's driver process: returns where its output goes. A second run of
   * the same session (a restart) is marked in the log.
   */
  open(sessionId: string): OutputWriter {
    let log = this.live.get(sessionId);
    if (log) {
      this.finishRun(sessionId, log);
      this.append(sessionId, log, `[sparkgate: kernel process restarted at ${this.stamp()}]\n`);
    } else {
      log = { file: new BoundedLogFile({ path: this.pathOf(sessionId), maxBytes: this.options.maxBytes }), splitters: undefined, failed: false };
      this.live.set(sessionId, log);
      if (!this.stopped) log.file.attachWriter();
    }
    const run = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    log.splitters = run;
    const current = log;
    return (stream, text) => {
      const lines = run[stream].push(text);
      if (lines.length > 0) this.append(sessionId, current, lines.map((l) => `${l}\n`).join(''));
    };
  }

  /** The session is over: its last partial lines and a closing line are written, followers end, retention starts. */
  sessionEnded(sessionId: string): Promise<void> {
    const log = this.live.get(sessionId);
    if (!log) return this.ending.get(sessionId) ?? Promise.resolve();
    this.live.delete(sessionId);
    this.finishRun(sessionId, log);
    this.append(sessionId, log, `[sparkgate: session ended at ${this.stamp()}]\n`);
    const done = log.file.detachWriter().finally(() => this.ending.delete(sessionId));
    this.ending.set(sessionId, done);
    return done;
  }

  /**
   * The log as text (whole lines): all of it or its last `tail` lines, then (`follow`, while the
   * session runs) new lines until it ends or `signal` aborts. Empty when the session has no log.
   * Nothing is opened until the first chunk is asked for.
   */
  read(sessionId: string, options: DriverLogReadOptions): AsyncIterable<string> {
    const file = this.live.get(sessionId)?.file ?? new BoundedLogFile({ path: this.pathOf(sessionId), maxBytes: this.options.maxBytes });
    const readers = this.readers;
    return {
      async *[Symbol.asyncIterator]() {
        readers.set(sessionId, (readers.get(sessionId) ?? 0) + 1);
        try {
          yield* file.read(options);
        } finally {
          const left = (readers.get(sessionId) ?? 1) - 1;
          if (left > 0) readers.set(sessionId, left);
          else readers.delete(sessionId);
        }
      },
    };
  }

  /** Removes logs of sessions that are not running and were last written more than the retention ago. */
  sweep(): number {
    for (const id of [...this.live.keys()]) if (!this.options.exists(id)) void this.sessionEnded(id);
    let names: string[];
    try {
      names = readdirSync(this.options.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const tmp = name.endsWith(`${SUFFIX}.tmp`);
      if (!name.endsWith(SUFFIX) && !tmp) continue;
      const id = name.slice(0, name.indexOf(SUFFIX));
      if (this.live.has(id) || this.ending.has(id) || this.options.exists(id)) continue;
      const file = path.join(this.options.dir, name);
      try {
        const age = this.now() - statSync(file).mtimeMs;
        if (age < (tmp ? STALE_TMP_MS : this.options.retentionMs)) continue;
        unlinkSync(file);
        if (!tmp) removed++;
      } catch {
        // gone meanwhile
      }
    }
    if (removed > 0) this.options.logger.info({ removed }, 'removed driver logs past their retention');
    return removed;
  }

  /** The run's unfinished last lines, written as they are. */
  private finishRun(sessionId: string, log: LiveLog): void {
    const splitters = log.splitters;
    log.splitters = undefined;
    const rest = splitters ? [splitters.stdout.flush(), splitters.stderr.flush()].filter((l) => l !== undefined) : [];
    if (rest.length > 0) this.append(sessionId, log, rest.map((l) => `${l}\n`).join(''));
  }

  private append(sessionId: string, log: LiveLog, text: string): void {
    log.file.append(text).catch((err: unknown) => {
      // A full or read-only disk: said once per session; the kernel runs on regardless.
      if (log.failed) return;
      log.failed = true;
      this.options.logger.warn({ session_id: sessionId, err: (err as Error).message }, 'cannot write the driver log');
    });
  }

  private stamp(): string {
    return new Date(this.now()).toISOString();
  }
}
