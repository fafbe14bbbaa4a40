/** The spark-sql kind on real Spark (local[1]): every cell is Spark SQL, run through spark.sql, shown as a table. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Execution, LauncherKernel, messages, resultText, stripAnsi } from './launcher-kernel.js';

const SECOND = "-- a comment; with a semicolon\nSELECT 'a;b' AS s, \"c;d\" AS `t;u`";
const html = (exec: Execution): string | undefined =>
  (messages(exec, 'execute_result')[0]?.content['data'] as Record<string, string> | undefined)?.['text/html'];

function cleanTraceback(exec: Execution): string {
  const text = stripAnsi((exec.reply.traceback ?? []).join('\n'));
  expect(text).not.toContain('sparkgate_kernel');
  expect(text).not.toContain('Traceback');
  expect(text).not.toMatch(/File "|\.py:\d+/);
  return text;
}

describe('spark-sql kind on real Spark', () => {
  let kernel: LauncherKernel;
  beforeAll(async () => {
    kernel = await LauncherKernel.start({
      kind: 'spark-sql',
      conf: { 'spark.master': 'local[1]', 'spark.ui.enabled': 'false', 'spark.sql.catalogImplementation': 'in-memory' },
      connectTimeoutS: 180,
    });
  }, 240_000);
  afterAll(async () => {
    await kernel?.dispose();
  });

  it('reports SQL as the language (for highlighting) and calls every cell complete', async () => {
    const info = await kernel.kernelInfo();
    expect(info['language_info']).toMatchObject({ name: 'sql', mimetype: 'text/x-sql', codemirror_mode: 'sql' });
    expect((await kernel.isComplete('SELECT 1 +')).status).toBe('complete');
  });

  it('runs SELECT 1 through spark.sql and shows a table', async () => {
    const exec = await kernel.execute('SELECT 1');
    expect(exec.reply.status).toBe('ok');
    expect(html(exec)).toContain('<th>1</th>');
    expect(html(exec)).toContain('<td>1</td>');
    expect(resultText(exec)).toContain('|  1|');
  });

  it('runs ;-separated statements in order and shows the last result', async () => {
    const exec = await kernel.execute(`CREATE OR REPLACE TEMP VIEW v AS SELECT 1 AS a;\n${SECOND};\n\n`);
    expect(exec.reply.status).toBe('ok');
    expect(messages(exec, 'execute_result')).toHaveLength(1);
    expect(html(exec)).toContain('<th>t;u</th>');
    expect(html(exec)).toContain('<td>a;b</td>');
    expect(html(exec)).toContain('<td>c;d</td>');
    // The first statement ran: its view exists.
    expect(html(await kernel.execute('SELECT a FROM v'))).toContain('<td>1</td>');
  });

  it('shows nothing for statements without a result, and ignores comment-only cells', async () => {
    const ddl = await kernel.execute('CREATE OR REPLACE TEMP VIEW w AS SELECT 2 AS b');
    expect(ddl.reply.status).toBe('ok');
    expect(messages(ddl, 'execute_result')).toHaveLength(0);
    const blank = await kernel.execute('-- nothing here;\n/* nor /* here */ */\n;');
    expect(blank.reply.status).toBe('ok');
    expect(messages(blank, 'execute_result')).toHaveLength(0);
    expect(html(await kernel.execute('SELECT b FROM w'))).toContain('<td>2</td>');
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
    expect(runtime.reply.ename).toBe('ArithmeticException');
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
