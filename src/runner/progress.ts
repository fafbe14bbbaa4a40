/**
 * Progress of a run on stderr: on a terminal a live bar (cli-progress) with cells done/total,
 * elapsed time and the running cell; otherwise (CI, Airflow logs) one plain line per event.
 * Both print the Spark jobs of the kernel's progress display (spark-job-progress.ts): a job when
 * it appears, when its status changes (its final line always) and every few seconds while it runs.
 * The line formatting is pure and exported for tests.
 */
import cliProgress from 'cli-progress';
import type { CellEvent, CellStatus } from './notebook-executor.js';
import { SparkJobLog, type SparkJobState } from './spark-job-progress.js';

export interface Progress {
  runStarted(info: { notebook: string; kernel: string; total: number }): void;
  cellStarted(event: CellEvent): void;
  cellFinished(event: CellEvent & { status: CellStatus; elapsedMs: number }): void;
  /** The kernel's Spark job progress display appeared or changed. */
  sparkJobs(jobs: readonly SparkJobState[]): void;
  /** A message line (kept above the bar on a terminal). */
  log(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force the mode; default: a bar when the stream is a TTY. */
  tty?: boolean;
  now?: () => number;
  prefix?: string;
}

const SUMMARY_CHARS = 50;

/** The first non-blank line of a cell, shortened for a status line. */
export function cellSummary(source: string): string {
  const line = source.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  return line.length > SUMMARY_CHARS ? `${line.slice(0, SUMMARY_CHARS - 1)}…` : line;
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${String(s).padStart(2, '0')}s` : `${m}m${String(s).padStart(2, '0')}s`;
}

/** `[3/7] cell 6 started: print("hi")` */
export function startedLine(e: CellEvent): string {
  return `[${e.number}/${e.total}] cell ${e.cellIndex + 1} started: ${cellSummary(e.source)}`;
}

/** `[3/7] cell 6 ok in 0.4 s (2.1 s elapsed)` */
export function finishedLine(e: CellEvent & { status: CellStatus; elapsedMs: number }, runElapsedMs: number): string {
  return `[${e.number}/${e.total}] cell ${e.cellIndex + 1} ${e.status} in ${formatDuration(e.elapsedMs)} (${formatDuration(runElapsedMs)} elapsed)`;
}

class PlainProgress implements Progress {
  private started = 0;
  private readonly jobs: SparkJobLog;
  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly now: () => number,
    private readonly prefix: string,
  ) {
    this.jobs = new SparkJobLog({ now });
  }

  runStarted(info: { notebook: string; kernel: string; total: number }): void {
    this.started = this.now();
    this.log(`running ${info.notebook} on kernel ${info.kernel}: ${info.total} code cell${info.total === 1 ? '' : 's'}`);
  }
  cellStarted(e: CellEvent): void {
    this.log(startedLine(e));
  }
  cellFinished(e: CellEvent & { status: CellStatus; elapsedMs: number }): void {
    this.log(finishedLine(e, this.now() - this.started));
  }
  sparkJobs(jobs: readonly SparkJobState[]): void {
    for (const line of this.jobs.changed(jobs)) this.log(line);
  }
  log(line: string): void {
    this.stream.write(`${this.prefix}${line}\n`);
  }
  stop(): void {}
}

class BarProgress implements Progress {
  private readonly multi: cliProgress.MultiBar;
  private bar: cliProgress.SingleBar | undefined;
  private stopped = false;
  private cell = 'starting';
  private readonly jobs: SparkJobLog;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly prefix: string,
    now: () => number,
  ) {
    this.jobs = new SparkJobLog({ now });
    this.multi = new cliProgress.MultiBar(
      {
        stream,
        format: ' {bar} {value}/{total} cells | {duration_formatted} | {current}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  runStarted(info: { notebook: string; kernel: string; total: number }): void {
    this.log(`running ${info.notebook} on kernel ${info.kernel}`);
    this.bar = this.multi.create(info.total, 0, { current: 'starting' });
  }
  cellStarted(e: CellEvent): void {
    this.cell = `cell ${e.cellIndex + 1}: ${cellSummary(e.source)}`;
    this.bar?.update(e.number - 1, { current: this.cell });
  }
  cellFinished(e: CellEvent & { status: CellStatus; elapsedMs: number }): void {
    if (e.status !== 'ok') this.log(`cell ${e.cellIndex + 1} ${e.status} after ${formatDuration(e.elapsedMs)}`);
    this.bar?.update(e.status === 'ok' ? e.number : e.number - 1, { current: e.status === 'ok' ? 'done' : e.status });
  }
  sparkJobs(jobs: readonly SparkJobState[]): void {
    for (const line of this.jobs.changed(jobs)) this.log(line);
    const running = jobs.filter((j) => j.status === 'RUNNING').at(-1);
    if (running) this.bar?.update({ current: `${this.cell} | ${running.summary}` });
  }
  log(line: string): void {
    if (this.multi.isActive) this.multi.log(`${this.prefix}${line}\n`);
    else this.stream.write(`${this.prefix}${line}\n`);
  }
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // MultiBar.log only buffers until the next redraw (every 1/fps s): draw once more so lines
    // logged just before the end (a failed cell, a job's final state) are not lost.
    if (this.multi.isActive) this.multi.update();
    this.multi.stop();
  }
}

export function createProgress(options: ProgressOptions): Progress {
  const tty = options.tty ?? options.stream.isTTY === true;
  const prefix = options.prefix ?? 'sparkgate run: ';
  const now = options.now ?? Date.now;
  return tty ? new BarProgress(options.stream, prefix, now) : new PlainProgress(options.stream, now, prefix);
}
