/**
 * Spark job progress for the terminal (pure). The Spark kernels show each cell's jobs in one
 * display that they update in place (display_data, then update_display_data with the same
 * display id): kernel/python/sparkgate_kernel/progress.py `render`, a `text/html` bundle wrapped
 * in `<div class="sparkgate-progress">` whose `text/plain` has one line per job:
 *   `Spark job 3: RUNNING, stages 0/1, tasks 5/8 [██████████░░░░░░░░░░] 62%`
 * The saved notebook keeps the display's last state; this module turns the same bundles into
 * log lines for stderr, without repeating a job whose numbers did not change.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html#update-display-data
 */

/** The marker the kernel's progress display carries in its HTML. */
export const SPARK_PROGRESS_HTML_CLASS = 'sparkgate-progress';

export interface SparkJobState {
  jobId: number;
  /** RUNNING, SUCCEEDED, FAILED, UNKNOWN (Spark's JobExecutionStatus). */
  status: string;
  /** The job's line without the bar: `Spark job 3: RUNNING, stages 0/1, tasks 5/8, 62%`. */
  summary: string;
}

const JOB_LINE = /^Spark job (\d+): ([A-Z]+)\b(.*?)(?: \[[\u2588\u2591]*\])?(?: (\d+)%)?$/;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED']);

function text(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join('');
  return typeof value === 'string' ? value : '';
}

/** The jobs on a progress display; undefined when the bundle is not one. */
export function parseSparkProgress(data: Readonly<Record<string, unknown>>): SparkJobState[] | undefined {
  if (!text(data['text/html']).includes(`class="${SPARK_PROGRESS_HTML_CLASS}"`)) return undefined;
  const jobs: SparkJobState[] = [];
  for (const line of text(data['text/plain']).split('\n')) {
    const match = JOB_LINE.exec(line.trim());
    if (!match) continue; // e.g. "(3 earlier Spark jobs not shown)"
    const [, id, status, rest, percent] = match;
    jobs.push({ jobId: Number(id), status: status!, summary: `Spark job ${id}: ${status}${rest}${percent !== undefined ? `, ${percent}%` : ''}` });
  }
  return jobs;
}

export interface SparkJobLogOptions {
  now: () => number;
  /** A running job whose numbers changed is logged again at most this often. */
  minIntervalMs?: number;
}

/**
 * Which job lines to print: a job the first time it is seen, whenever its status changes (so
 * its final SUCCEEDED/FAILED line is always printed), and otherwise at most every
 * `minIntervalMs` while its numbers move. Job ids are unique within a Spark application, which
 * is the run's whole kernel.
 */
export class SparkJobLog {
  private readonly last = new Map<number, { status: string; summary: string; atMs: number }>();
  private readonly minIntervalMs: number;

  constructor(private readonly options: SparkJobLogOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 5_000;
  }

  /** The summaries worth printing now, oldest job first. */
  changed(jobs: readonly SparkJobState[]): string[] {
    const now = this.options.now();
    const lines: string[] = [];
    for (const job of [...jobs].sort((a, b) => a.jobId - b.jobId)) {
      const seen = this.last.get(job.jobId);
      if (seen && seen.summary === job.summary) continue;
      const due =
        !seen ||
        seen.status !== job.status ||
        (!TERMINAL.has(job.status) && now - seen.atMs >= this.minIntervalMs);
      if (!due) continue;
      this.last.set(job.jobId, { status: job.status, summary: job.summary, atMs: now });
      lines.push(job.summary);
    }
    return lines;
  }
}
