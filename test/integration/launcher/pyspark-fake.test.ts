/**
 * The pyspark kind against the recording pyspark stand-in: what the launcher asks of Spark
 * (builder conf, JVM environment, status tracker, cancel, stop) and what the notebook receives.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Execution, LauncherKernel, messages, resultText, streamText, stripAnsi } from './launcher-kernel.js';

const CONF = {
  'spark.master': 'local[2]',
  'spark.executor.memory': '1g',
  'spark.sql.shuffle.partitions': '4',
  'spark.kubernetes.executor.podNamePrefix': 'sg-1234',
};

const SCRIPT = {
  queries: {
    'SELECT slow': { columns: ['n'], rows: [[42]], job: { stages: [4, 8], duration_s: 2.5 } },
    'SELECT long': { columns: ['n'], rows: [[1]], job: { stages: [100], duration_s: 30 } },
    'SELECT html': { columns: ['id', '<name>'], rows: [[1, '<b>&x</b>'], [2, null]] },
    'SELECT many': { columns: ['i'], rows: Array.from({ length: 25 }, (_, i) => [i]) },
  },
};

type Bundle = Record<string, string>;
const data = (m: { content: Record<string, unknown> }): Bundle => m.content['data'] as Bundle;
const displayId = (m: { content: Record<string, unknown> }): string =>
  (m.content['transient'] as { display_id: string }).display_id;

describe('pyspark kind with the stand-in', () => {
  let kernel: LauncherKernel;
  beforeAll(async () => {
    kernel = await LauncherKernel.start({
      kind: 'pyspark',
      fakePyspark: true,
      conf: CONF,
      script: SCRIPT,
      env: { SPARKGATE_SPARK_SUBMIT_ARGS: '--driver-memory 2g', SPARK_AUTHENTICATE_SECRET: 's3cret' },
    });
  });
  afterAll(async () => {
    await kernel?.dispose();
  });

  it('builds the session eagerly from exactly the conf file, with the JVM environment', async () => {
    // Eager: created before the first cell ran.
    const [create] = kernel.calls('Builder.getOrCreate');
    expect(create).toBeDefined();
    expect(create!['main_thread']).toBe(true);
    const configured = kernel.calls('Builder.config').map((c) => [c['key'], c['value']]);
    expect(Object.fromEntries(configured)).toEqual(CONF);
    expect(configured).toHaveLength(Object.keys(CONF).length);
    expect(kernel.calls('Builder.appName').map((c) => c['name'])).toEqual([`sparkgate-pyspark-${kernel.kernelId.slice(0, 8)}`]);
    expect(create!['PYSPARK_SUBMIT_ARGS']).toBe('--driver-memory 2g pyspark-shell');
    expect(create!['jvm_auth_secret_sha256']).toBe(createHash('sha256').update('s3cret').digest('hex'));
    // The secret is not left where user code (or its subprocesses) can read it.
    const env = await kernel.execute("import os; [k for k in os.environ if 'AUTH' in k and 'SECRET' in k]");
    expect(resultText(env)).toBe('[]');
  });

  it('puts spark and sc in the namespace', async () => {
    const exec = await kernel.execute('type(spark).__name__, type(sc).__name__, sc is spark.sparkContext');
    expect(resultText(exec)).toBe("('SparkSession', 'SparkContext', True)");
  });

  it('shows job progress in one display, updated in place, finalized when the cell ends', async () => {
    const exec = await kernel.execute('spark.sql("SELECT slow").collect()');
    expect(exec.reply.status).toBe('ok');
    const shown = messages(exec, 'display_data');
    expect(shown).toHaveLength(1);
    const id = displayId(shown[0]!);
    expect(data(shown[0]!)['text/plain']).toMatch(/^Spark job \d+: RUNNING, .*tasks \d+\/\d+/);
    expect(data(shown[0]!)['text/html']).toContain('sparkgate-progress');
    const updates = messages(exec, 'update_display_data');
    expect(updates.length).toBeGreaterThanOrEqual(2);
    for (const u of updates) {
      expect(displayId(u)).toBe(id);
      expect(u.t).toBeGreaterThanOrEqual(shown[0]!.t);
    }
    const running = updates.map((u) => data(u)['text/plain']).filter((t) => t!.includes('RUNNING'));
    expect(running.length).toBeGreaterThanOrEqual(1);
    const last = data(updates.at(-1)!);
    expect(last['text/plain']).toMatch(/SUCCEEDED, stages 2\/2, tasks 12\/12/);
    expect(last['text/html']).toContain('width:100%');
    expect(resultText(exec)).toBe('[Row(n=42)]');
  });

  it('gives a cell without Spark jobs no progress display', async () => {
    const exec = await kernel.execute('sum(range(10))');
    expect(resultText(exec)).toBe('45');
    expect(messages(exec, 'display_data')).toHaveLength(0);
    expect(messages(exec, 'update_display_data')).toHaveLength(0);
  });

  it('renders a DataFrame as an escaped HTML table plus a text table, from one fetch', async () => {
    const before = kernel.calls('DataFrame.take').length;
    const exec = await kernel.execute('spark.sql("SELECT html")');
    const [result] = messages(exec, 'execute_result');
    const html = data(result!)['text/html']!;
    expect(html).toContain('<th>&lt;name&gt;</th>');
    expect(html).toContain('<td>&lt;b&gt;&amp;x&lt;/b&gt;</td>');
    expect(html).toContain('<td>null</td>');
    expect(html).not.toContain('<b>');
    expect(data(result!)['text/plain']).toBe(
      ['+---+---------+', '| id|   <name>|', '+---+---------+', '|  1|<b>&x</b>|', '|  2|     null|', '+---+---------+'].join('\n'),
    );
    const takes = kernel.calls('DataFrame.take').slice(before);
    expect(takes.map((c) => c['num'])).toEqual([21]);
  });

  it('bounds the table by spark.sql.repl.eagerEval.maxNumRows (default 20)', async () => {
    const rowsIn = (exec: Execution): number => (data(messages(exec, 'execute_result')[0]!)['text/html']!.match(/<tr>/g) ?? []).length - 1;
    const byDefault = await kernel.execute('spark.sql("SELECT many")');
    expect(rowsIn(byDefault)).toBe(20);
    expect(data(messages(byDefault, 'execute_result')[0]!)['text/html']).toContain('only showing top 20 rows');
    await kernel.execute('spark.conf.set("spark.sql.repl.eagerEval.maxNumRows", "5")');
    const five = await kernel.execute('spark.sql("SELECT many")');
    expect(rowsIn(five)).toBe(5);
    await kernel.execute('spark.conf.set("spark.sql.repl.eagerEval.maxNumRows", "20")');
  });

  it('an interrupt while idle does not kill the kernel', async () => {
    kernel.signal('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    expect(resultText(await kernel.execute('1+1'))).toBe('2');
  });

  it('SIGINT during a Spark job raises KeyboardInterrupt and cancels the job', async () => {
    const started = Date.now();
    const exec = await kernel.execute('spark.sql("SELECT long").collect()', { signalAfterS: 1.2 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(exec.reply.ename).toBe('KeyboardInterrupt');
    expect(kernel.calls('SparkContext.cancelAllJobs').length).toBeGreaterThanOrEqual(1);
    const updates = messages(exec, 'update_display_data');
    expect(data(updates.at(-1)!)['text/plain']).toMatch(/FAILED/);
    expect(resultText(await kernel.execute('"still alive"'))).toBe("'still alive'");
  });

  it('keeps the user-facing traceback of user errors as IPython makes it', async () => {
    const exec = await kernel.execute('1/0');
    expect(exec.reply.ename).toBe('ZeroDivisionError');
    expect(stripAnsi((exec.reply.traceback ?? []).join('\n'))).toContain('ZeroDivisionError');
  });
});

describe('pyspark kind lifecycle with the stand-in', () => {
  const kernels: LauncherKernel[] = [];
  const start = async (opts: Partial<Parameters<typeof LauncherKernel.start>[0]> = {}): Promise<LauncherKernel> => {
    const k = await LauncherKernel.start({ kind: 'pyspark', fakePyspark: true, conf: { 'spark.master': 'local[1]' }, script: SCRIPT, ...opts });
    kernels.push(k);
    return k;
  };
  afterEach(async () => {
    await Promise.all(kernels.splice(0).map((k) => k.dispose()));
  });

  it('shutdown_request stops Spark before replying, then the process exits', async () => {
    const kernel = await start();
    const reply = await kernel.shutdown();
    expect(reply.status).toBe('ok');
    expect(kernel.calls('SparkSession.stop')).toHaveLength(1);
    expect(kernel.calls('SparkSession.stop.done')).toHaveLength(1);
    const exit = await kernel.waitForExit(10_000);
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('does not hang shutdown when spark.stop() blocks', async () => {
    const kernel = await start({
      script: { ...SCRIPT, stop: { block_s: 60 } },
      env: { SPARKGATE_SPARK_STOP_TIMEOUT_S: '1' },
    });
    const started = Date.now();
    await kernel.shutdown();
    const exit = await kernel.waitForExit(10_000);
    expect(exit).toBeDefined();
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(kernel.calls('SparkSession.stop')).toHaveLength(1);
    expect(kernel.calls('SparkSession.stop.done')).toHaveLength(0);
  });

  it('SIGTERM stops Spark, then the process dies of SIGTERM', async () => {
    const kernel = await start();
    kernel.signal('SIGTERM');
    const exit = await kernel.waitForExit(10_000);
    expect(exit?.signal).toBe('SIGTERM');
    expect(kernel.calls('SparkSession.stop.done')).toHaveLength(1);
  });

  it('lazy mode creates the session on first use; the driver JVM output stays out of the notebook', async () => {
    const kernel = await start({ env: { SPARKGATE_SPARK_EAGER: '0' } });
    expect(kernel.calls('Builder.getOrCreate')).toHaveLength(0);
    expect(resultText(await kernel.execute('repr(spark)'))).toContain('created on first use');
    expect(kernel.calls('Builder.getOrCreate')).toHaveLength(0);
    const exec = await kernel.execute('spark.version, type(spark).__name__, type(sc).__name__');
    expect(resultText(exec)).toBe("('3.5.1', 'SparkSession', 'SparkContext')");
    expect(kernel.calls('Builder.getOrCreate')).toHaveLength(1);
    expect(streamText(exec)).not.toContain('fake-pyspark JVM');
    expect(kernel.stderr()).toContain('fake-pyspark JVM');
  });
});
