/** The spark-sql kind: every cell is Spark SQL, run through spark.sql, shown as a table. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Execution, LauncherKernel, messages, resultText, stripAnsi } from './launcher-kernel.js';

const SECOND = "-- a comment; with a semicolon\nSELECT 'a;b' AS s, \"c;d\" AS `t;u`";
const SCRIPT = {
  queries: {
    'SELECT 1': { columns: ['1'], rows: [[1]] },
    'CREATE TEMP VIEW v AS SELECT 1 AS a': { columns: [], rows: [] },
    [SECOND]: { columns: ['s', 't;u'], rows: [['a;b', 'c;d']] },
    'SELECT * FROM nope': {
      error: {
        class: 'AnalysisException',
        message: '[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found.; line 1 pos 14;\n\'Project [*]',
      },
    },
    'SELECT 1/0': {
      columns: ['(1 / 0)'],
      rows: [],
      action_error: { class: 'SparkRuntimeException', message: '[DIVIDE_BY_ZERO] Division by zero.' },
    },
  },
};

const html = (exec: Execution): string | undefined =>
  (messages(exec, 'execute_result')[0]?.content['data'] as Record<string, string> | undefined)?.['text/html'];

function cleanTraceback(exec: Execution): string {
  const text = stripAnsi((exec.reply.traceback ?? []).join('\n'));
  expect(text).not.toContain('sparkgate_kernel');
  expect(text).not.toContain('Traceback');
  expect(text).not.toMatch(/File "|\.py:\d+/);
  return text;
}

describe('spark-sql kind with the stand-in', () => {
  let kernel: LauncherKernel;
  const sqlCalls = (): string[] => kernel.calls('SparkSession.sql').map((c) => String(c['sqlQuery']));
  beforeAll(async () => {
    kernel = await LauncherKernel.start({ kind: 'spark-sql', fakePyspark: true, conf: { 'spark.master': 'local[1]' }, script: SCRIPT });
  });
  afterAll(async () => {
    await kernel?.dispose();
  });

  it('reports SQL as the language (for highlighting) and calls every cell complete', async () => {
    const info = await kernel.kernelInfo();
    expect(info['language_info']).toMatchObject({ name: 'sql', mimetype: 'text/x-sql', codemirror_mode: 'sql' });
    expect((await kernel.isComplete('SELECT 1 +')).status).toBe('complete');
  });

  it('runs SELECT 1 through spark.sql and shows a table', async () => {
    const before = sqlCalls().length;
    const exec = await kernel.execute('SELECT 1');
    expect(exec.reply.status).toBe('ok');
    expect(sqlCalls().slice(before)).toEqual(['SELECT 1']);
    expect(html(exec)).toContain('<th>1</th>');
    expect(html(exec)).toContain('<td>1</td>');
    expect(resultText(exec)).toContain('|  1|');
  });

  it('runs ;-separated statements in order and shows the last result', async () => {
    const before = sqlCalls().length;
    const exec = await kernel.execute(`CREATE TEMP VIEW v AS SELECT 1 AS a;\n${SECOND};\n\n`);
    expect(exec.reply.status).toBe('ok');
    expect(sqlCalls().slice(before)).toEqual(['CREATE TEMP VIEW v AS SELECT 1 AS a', SECOND]);
    expect(messages(exec, 'execute_result')).toHaveLength(1);
    expect(html(exec)).toContain('<th>t;u</th>');
    expect(html(exec)).toContain('<td>a;b</td>');
  });

  it('shows nothing for statements without a result, and ignores comment-only cells', async () => {
    const before = sqlCalls().length;
    const ddl = await kernel.execute('CREATE TEMP VIEW v AS SELECT 1 AS a');
    expect(ddl.reply.status).toBe('ok');
    expect(messages(ddl, 'execute_result')).toHaveLength(0);
    const blank = await kernel.execute('-- nothing here;\n/* nor /* here */ */\n;');
    expect(blank.reply.status).toBe('ok');
    expect(messages(blank, 'execute_result')).toHaveLength(0);
    expect(sqlCalls().slice(before)).toEqual(['CREATE TEMP VIEW v AS SELECT 1 AS a']);
  });

  it("reports Spark's errors by class and message, without launcher frames", async () => {
    const analysis = await kernel.execute('SELECT * FROM nope');
    expect(analysis.reply.status).toBe('error');
    expect(analysis.reply.ename).toBe('AnalysisException');
    expect(analysis.reply.evalue).toContain('[TABLE_OR_VIEW_NOT_FOUND]');
    expect(messages(analysis, 'error')[0]?.content['ename']).toBe('AnalysisException');
    expect(cleanTraceback(analysis)).toMatch(/^AnalysisException: \[TABLE_OR_VIEW_NOT_FOUND\]/);

    // A failure while fetching the rows is the cell's error too, not a display glitch.
    const runtime = await kernel.execute('SELECT 1/0');
    expect(runtime.reply.ename).toBe('SparkRuntimeException');
    expect(cleanTraceback(runtime)).toContain('[DIVIDE_BY_ZERO] Division by zero.');

    const second = await kernel.execute('SELECT 1;\nSELECT * FROM nope');
    expect(second.reply.ename).toBe('AnalysisException');
    expect(cleanTraceback(second)).toContain('(statement 2 of 2: SELECT * FROM nope)');
  });

  it('runs a %%python cell as Python, with the last SQL result as _sqldf', async () => {
    await kernel.execute('SELECT 1');
    const exec = await kernel.execute("%%python\ncols = spark.sql('SELECT 1').columns\ncols, _sqldf.columns");
    expect(exec.reply.status).toBe('ok');
    expect(resultText(exec)).toBe("(['1'], ['1'])");
  });
});
