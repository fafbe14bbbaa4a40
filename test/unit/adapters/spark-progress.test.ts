import { describe, expect, it } from 'vitest';
import type { JobCounts } from '../../../src/adapters/scala/repl-protocol.js';
import { MAX_JOBS_SHOWN, renderProgress, summarizeJob } from '../../../src/adapters/scala/spark-progress.js';
import { renderTable } from '../../../src/adapters/scala/spark-table.js';

const stage = (stage_id: number, num_tasks: number, completed: number, active = 0, failed = 0) => ({ stage_id, num_tasks, completed, active, failed });
const job = (job_id: number, status: string, stages: JobCounts['stages'], stage_ids = stages.map((s) => s.stage_id)): JobCounts => ({ job_id, status, stage_ids, stages });

describe('Spark job progress', () => {
  it('a running job counts every stage it has, done or not', () => {
    const s = summarizeJob(job(4, 'RUNNING', [stage(5, 16, 6, 2), stage(6, 1, 0)]));
    expect(s).toMatchObject({ stagesDone: 0, stagesTotal: 2, stagesSkipped: 0, tasksDone: 6, tasksTotal: 17 });
    expect(s.fraction).toBeCloseTo(6 / 17);
  });

  it('a succeeded job: stages that never finished were skipped, not incomplete (as Spark reports them)', () => {
    // What the status tracker says of the result job of a shuffle: its map stage was skipped.
    const s = summarizeJob(job(4, 'SUCCEEDED', [stage(5, 16, 0), stage(6, 1, 1)]));
    expect(s).toMatchObject({ stagesDone: 1, stagesTotal: 1, stagesSkipped: 1, tasksDone: 1, tasksTotal: 1, fraction: 1 });
    // Stages the tracker no longer knows are skipped too.
    expect(summarizeJob(job(2, 'SUCCEEDED', [stage(3, 4, 4)], [2, 3]))).toMatchObject({ stagesDone: 1, stagesTotal: 1, stagesSkipped: 1 });
  });

  it('a failed (cancelled) job keeps its unfinished stages as unfinished', () => {
    const s = summarizeJob(job(5, 'FAILED', [stage(7, 100, 3, 0, 2)]));
    expect(s).toMatchObject({ stagesDone: 0, stagesTotal: 1, tasksDone: 3, tasksTotal: 100, tasksFailed: 2 });
  });

  it('renders one line per job like the Python kernel, newest last, bounded', () => {
    const bundle = renderProgress([job(4, 'SUCCEEDED', [stage(5, 16, 0), stage(6, 1, 1)]), job(3, 'SUCCEEDED', [stage(4, 16, 16)])]);
    expect(bundle['text/plain']).toBe(
      [
        `Spark job 3: SUCCEEDED, stages 1/1, tasks 16/16 [${'\u2588'.repeat(20)}] 100%`,
        `Spark job 4: SUCCEEDED, stages 1/1 (1 skipped), tasks 1/1 [${'\u2588'.repeat(20)}] 100%`,
      ].join('\n'),
    );
    expect(bundle['text/html']).toContain('class="sparkgate-progress"');
    const many = renderProgress(Array.from({ length: 10 }, (_, i) => job(i, 'RUNNING', [stage(i, 4, 2)])), 3);
    const lines = many['text/plain']!.split('\n');
    expect(lines).toHaveLength(MAX_JOBS_SHOWN + 1);
    expect(lines[0]).toBe('(5 earlier Spark jobs not shown)');
    expect(lines[1]).toBe(`Spark job 2: RUNNING, stages 0/1, tasks 2/4 [${'\u2588'.repeat(10)}${'\u2591'.repeat(10)}] 50%`);
  });

  it('escapes what it puts in HTML', () => {
    expect(renderProgress([job(1, '<x>', [])])['text/html']).toContain('Spark job 1: &lt;x&gt;');
  });
});

describe('Dataset tables', () => {
  it('text like show(), escaped HTML, a footer when truncated', () => {
    const bundle = renderTable({ columns: ['id', '<name>'], rows: [['1', '<b>&x</b>'], ['2', 'null']], truncated: true });
    expect(bundle['text/plain']).toBe(
      ['+---+---------+', '| id|   <name>|', '+---+---------+', '|  1|<b>&x</b>|', '|  2|     null|', '+---+---------+', 'only showing top 2 rows'].join('\n'),
    );
    expect(bundle['text/html']).toBe(
      '<table class="sparkgate-table"><thead><tr><th>id</th><th>&lt;name&gt;</th></tr></thead><tbody>' +
        '<tr><td>1</td><td>&lt;b&gt;&amp;x&lt;/b&gt;</td></tr><tr><td>2</td><td>null</td></tr></tbody></table><p>only showing top 2 rows</p>',
    );
    expect(renderTable({ columns: [], rows: [], truncated: false })).toEqual({ 'text/plain': 'DataFrame[]' });
  });
});
