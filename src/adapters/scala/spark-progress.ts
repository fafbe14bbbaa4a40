/**
 * Spark job progress of a Scala cell as a display bundle, pure (no I/O). The init script polls
 * `sc.statusTracker` (SparkJobInfo / SparkStageInfo) and sends raw counts; this renders them the
 * way the Python kernel does (kernel/python/sparkgate_kernel/progress.py), so both kernels show
 * the same line per job:
 *
 *   Spark job 3: SUCCEEDED, stages 1/1 (1 skipped), tasks 16/16 [████████████████████] 100%
 *
 * A finished job's stages that did not run to the end were skipped (their shuffle output already
 * existed): Spark's tracker still reports them, with 0 completed tasks, and they must not make a
 * succeeded job look unfinished. The kernel shows the bundle with a display_id and updates it in
 * place: https://jupyter-client.readthedocs.io/en/latest/messaging.html#update-display-data
 */
import type { JobCounts } from './repl-protocol.js';

export type MimeBundle = Record<string, string>;

export const MAX_JOBS_SHOWN = 8;
const BAR_WIDTH = 20;

export interface JobSummary {
  jobId: number;
  status: string;
  stagesDone: number;
  stagesTotal: number;
  stagesSkipped: number;
  tasksDone: number;
  tasksTotal: number;
  tasksFailed: number;
  /** 0..1 */
  fraction: number;
}

const stageDone = (s: JobCounts['stages'][number]): boolean => s.num_tasks > 0 && s.completed >= s.num_tasks;

export function summarizeJob(job: JobCounts): JobSummary {
  const succeeded = job.status === 'SUCCEEDED';
  // Of a succeeded job, only the stages that ran count; the others (unknown to the tracker, or
  // known but never finished) were skipped.
  const counted = succeeded ? job.stages.filter(stageDone) : job.stages;
  const stagesSkipped = succeeded ? Math.max(0, job.stage_ids.length - counted.length) : 0;
  const tasksTotal = counted.reduce((n, s) => n + s.num_tasks, 0);
  const tasksDone = counted.reduce((n, s) => n + Math.min(s.completed, s.num_tasks), 0);
  return {
    jobId: job.job_id,
    status: job.status,
    stagesDone: counted.filter(stageDone).length,
    stagesTotal: job.stage_ids.length - stagesSkipped,
    stagesSkipped,
    tasksDone,
    tasksTotal,
    tasksFailed: job.stages.reduce((n, s) => n + s.failed, 0),
    fraction: succeeded ? 1 : tasksTotal > 0 ? tasksDone / tasksTotal : 0,
  };
}

export function summaryLine(s: JobSummary): string {
  const parts = [`Spark job ${s.jobId}: ${s.status}`, `stages ${s.stagesDone}/${s.stagesTotal}${s.stagesSkipped ? ` (${s.stagesSkipped} skipped)` : ''}`];
  parts.push(`tasks ${s.tasksDone}/${s.tasksTotal}`);
  if (s.tasksFailed) parts.push(`${s.tasksFailed} failed`);
  return parts.join(', ');
}

export const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');

/** text/plain and text/html for the jobs, newest last, at most MAX_JOBS_SHOWN. */
export function renderProgress(jobs: readonly JobCounts[], hiddenBefore = 0): MimeBundle {
  const ordered = [...jobs].sort((a, b) => a.job_id - b.job_id);
  const shown = ordered.slice(-MAX_JOBS_SHOWN);
  const hidden = hiddenBefore + ordered.length - shown.length;
  const textLines = hidden > 0 ? [`(${hidden} earlier Spark job${hidden !== 1 ? 's' : ''} not shown)`] : [];
  const htmlRows = textLines.map((t) => `<div>${escapeHtml(t)}</div>`);
  for (const job of shown) {
    const s = summarizeJob(job);
    const pct = Math.round(s.fraction * 100);
    const filled = Math.round(s.fraction * BAR_WIDTH);
    const line = summaryLine(s);
    textLines.push(`${line} [${'\u2588'.repeat(filled)}${'\u2591'.repeat(BAR_WIDTH - filled)}] ${pct}%`);
    const color = s.status === 'SUCCEEDED' ? '#4caf50' : s.status === 'FAILED' ? '#e53935' : '#1e88e5';
    htmlRows.push(
      '<div style="margin:2px 0">' +
        `<span>${escapeHtml(line)}</span>` +
        '<div style="width:240px;height:6px;background:#e0e0e0;border-radius:3px">' +
        `<div style="width:${pct}%;height:6px;background:${color};border-radius:3px"></div>` +
        '</div></div>',
    );
  }
  return {
    'text/plain': textLines.join('\n'),
    'text/html': `<div class="sparkgate-progress" style="font-family:monospace;font-size:12px">${htmlRows.join('')}</div>`,
  };
}
