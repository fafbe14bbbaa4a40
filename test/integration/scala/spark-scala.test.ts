/**
 * The `spark-scala` kernel against real Spark (the project venv's pyspark 4.3: Spark's own
 * spark-shell, Scala 2.13) through the gateway with @jupyterlab/services. Without Spark it still
 * starts and every cell explains. With Spark, ONE kernel is shared by the file (a driver takes a
 * minute or more to start on a loaded machine); the tests run in order and the last ones restart
 * it and shut it down. (The adapter's death ends the JVM through the same path, its stdin's end,
 * and the gateway kills the kernel's process group anyway: not worth a third driver start here.)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KernelManager, type Kernel, type KernelMessage } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../src/config.js';
import { alive, execute, waitFor, type ExecuteResult } from '../../helpers/kernel-client.js';
import { startGateway, type TestGateway } from '../../helpers/gateway.js';

const START_TIMEOUT_MS = 180_000;
const SPARK_HOME = path.join(REPO_ROOT, '.venv', 'lib', 'python3.11', 'site-packages', 'pyspark');

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function gatewayWith(sparkHome: string): Promise<{ tg: TestGateway; km: KernelManager }> {
  const tg = await startGateway({ kernelStartTimeoutMs: START_TIMEOUT_MS, spark: { sparkHome } });
  const km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
  cleanups.push(async () => {
    km.dispose();
    await tg.stop();
  });
  return { tg, km };
}

const text = (r: ExecuteResult): string | undefined => r.results[0]?.['text/plain'] as string | undefined;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('spark-scala without Spark', () => {
  it('starts, reports Scala, and every cell fails with SparkNotInstalledError saying how to fix it', async () => {
    const emptyHome = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-no-spark-'));
    cleanups.push(() => rmSync(emptyHome, { recursive: true, force: true }));
    const { km } = await gatewayWith(emptyHome);
    const kernel = await km.startNew({ name: 'spark-scala' });
    const info = (await kernel.info) as KernelMessage.IInfoReply;
    expect(info.language_info.name).toBe('scala');
    for (const code of ['1 + 1', 'println("hello")']) {
      const r = await execute(kernel, code);
      expect(r.reply.content.status).toBe('error');
      expect(r.errors).toHaveLength(1);
      const [error] = r.errors;
      expect(error!.ename).toBe('SparkNotInstalledError');
      expect(error!.evalue).toContain('Spark is not installed on this gateway');
      expect(error!.evalue).toContain(`SPARK_HOME=${emptyHome} has no bin/spark-shell`);
      expect(error!.evalue).toContain('set SPARK_HOME');
      expect(error!.traceback.join('\n')).not.toMatch(/Traceback|\bat \w+\.js/);
      expect(r.stdout).toBe('');
      expect(r.results).toHaveLength(0);
    }
    await kernel.shutdown();
  });
});

describe('spark-scala with real Spark', () => {
  let tg: TestGateway;
  let km: KernelManager;
  let kernel: Kernel.IKernelConnection;

  beforeAll(async () => {
    ({ tg, km } = await gatewayWith(SPARK_HOME));
    kernel = await km.startNew({ name: 'spark-scala' });
    await kernel.info;
  }, START_TIMEOUT_MS + 30_000);

  /** The driver JVM's pid and the REPL's class dir (a Spark temp dir, deleted when the driver stops cleanly). */
  async function driver(): Promise<{ pid: number; classDir: string }> {
    const r = await execute(kernel, 'ProcessHandle.current.pid + " " + sc.getConf.get("spark.repl.class.outputDir")');
    const [pid, classDir] = (text(r) ?? '').split(' ');
    expect(Number(pid)).toBeGreaterThan(1);
    expect(existsSync(classDir!)).toBe(true);
    return { pid: Number(pid), classDir: classDir! };
  }

  it('reports Scala 2.13 and Spark in kernel_info', async () => {
    const info = (await kernel.info) as KernelMessage.IInfoReply;
    expect(info.language_info.name).toBe('scala');
    expect(info.language_info.version).toMatch(/^2\.13\./);
    expect(info.banner).toContain('Spark 4.3.0 (spark, sc)');
  });

  it('runs the driver with the conf the gateway rendered for this session (client mode)', async () => {
    const session = tg.gateway.spark.session(kernel.id)!;
    expect(session).toBeDefined();
    const conf = (key: string): string => `sc.getConf.get(${JSON.stringify(key)})`;
    const r = await execute(kernel, ['spark.app.name', 'spark.submit.deployMode', 'spark.driver.port', 'spark.ui.port'].map(conf).join(' + " " + ') + ' + " " + sys.env("SPARK_HOME")');
    expect(text(r)?.split(' ')).toEqual([
      `sparkgate-spark-scala-${kernel.id.slice(0, 8)}`,
      'client',
      String(session.ports.driverPort),
      String(session.conf['spark.ui.port']),
      SPARK_HOME,
    ]);
  });

  it('runs cells with the real spark and sc: values, output, definitions', async () => {
    expect(text(await execute(kernel, 'spark.range(10).count()'))).toBe('10');
    expect(text(await execute(kernel, 'val x = 21; x * 2'))).toBe('42');
    const printed = await execute(kernel, 'println(sc.parallelize(1 to 4).map(_ * x).sum())');
    expect(printed.stdout).toBe('210.0\n');
    expect(printed.results).toHaveLength(0);
  }, 120_000);

  it('shows a DataFrame as a text table and an escaped HTML table, bounded to 20 rows', async () => {
    const small = await execute(kernel, 'Seq((1, "<b>&x</b>"), (2, null)).toDF("id", "<name>")');
    expect(small.results[0]?.['text/plain']).toBe(
      ['+---+---------+', '| id|   <name>|', '+---+---------+', '|  1|<b>&x</b>|', '|  2|     null|', '+---+---------+'].join('\n'),
    );
    const html = small.results[0]?.['text/html'] as string;
    expect(html).toContain('<th>&lt;name&gt;</th>');
    expect(html).toContain('<td>&lt;b&gt;&amp;x&lt;/b&gt;</td>');
    expect(html).not.toContain('<b>');
    const many = await execute(kernel, 'spark.range(25)');
    expect((many.results[0]?.['text/html'] as string).match(/<tr>/g)).toHaveLength(21);
    expect(many.results[0]?.['text/plain']).toMatch(/\n\| 19\|\n\+---\+\nonly showing top 20 rows$/);
  }, 120_000);

  it('compile errors and exceptions are short error messages', async () => {
    const compile = await execute(kernel, 'foo + 1');
    expect(compile.reply.content.status).toBe('error');
    expect(compile.errors).toHaveLength(1);
    expect(compile.errors[0]).toMatchObject({ ename: 'CompileError', evalue: 'not found: value foo' });
    const thrown = await execute(kernel, 'throw new IllegalStateException("boom")');
    expect(thrown.errors[0]).toMatchObject({ ename: 'java.lang.IllegalStateException', evalue: 'boom' });
    expect(thrown.errors[0]!.traceback.length).toBeLessThan(10);
    const failedJob = await execute(kernel, 'sc.parallelize(1 to 2, 2).map { i => if (i == 2) sys.error("bad row"); i }.count()');
    expect(failedJob.errors[0]!.ename).toBe('org.apache.spark.SparkException');
    expect(failedJob.errors[0]!.evalue).toContain('bad row');
    expect(text(await execute(kernel, 'x'))).toBe('21'); // the session goes on
  }, 120_000);

  it('completes from the REPL', async () => {
    const reply = await kernel.requestComplete({ code: 'spark.ran', cursor_pos: 9 });
    expect(reply.content).toMatchObject({ status: 'ok', cursor_start: 6, cursor_end: 9 });
    expect((reply.content as { matches: string[] }).matches).toContain('range');
  });

  it('shows job progress in one display, updated in place, ending at complete task counts', async () => {
    const r = await execute(kernel, 'spark.range(0, 2000000, 1, 16).groupBy(($"id" % 100).as("k")).count().collect().length');
    expect(text(r)).toBe('100');
    const of = (type: string): KernelMessage.IIOPubMessage[] => r.iopub.filter((m) => m.header.msg_type === type);
    const shown = of('display_data');
    expect(shown).toHaveLength(1);
    const idOf = (m: KernelMessage.IIOPubMessage): string => (m.content as { transient: { display_id: string } }).transient.display_id;
    const dataOf = (m: KernelMessage.IIOPubMessage): Record<string, string> => (m.content as { data: Record<string, string> }).data;
    const updates = of('update_display_data');
    expect(updates.length).toBeGreaterThanOrEqual(1);
    for (const u of updates) expect(idOf(u)).toBe(idOf(shown[0]!));
    expect(dataOf(shown[0]!)['text/plain']).toMatch(/^Spark job \d+: RUNNING, stages \d+\/\d+, tasks \d+\/\d+/m);
    // Before the result, and every job at its end: succeeded, all tasks done (skipped stages aside).
    expect(r.iopub.indexOf(updates.at(-1)!)).toBeLessThan(r.iopub.findIndex((m) => m.header.msg_type === 'execute_result'));
    const final = dataOf(updates.at(-1)!)['text/plain']!.split('\n');
    // The shuffle map job, and the result job when it ran long enough for a poll (every 0.5 s) to see it.
    expect(final.length).toBeGreaterThanOrEqual(1);
    for (const line of final) {
      const m = /^Spark job \d+: SUCCEEDED, stages (\d+)\/(\d+)(?: \(\d+ skipped\))?, tasks (\d+)\/(\d+) \[█+\] 100%$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(m![1]).toBe(m![2]);
      expect(m![3]).toBe(m![4]);
    }
    expect(final.some((l) => l.includes('tasks 16/16'))).toBe(true);
    expect(dataOf(updates.at(-1)!)['text/html']).toContain('sparkgate-progress');
  }, 120_000);

  it('interrupt cancels the running Spark job within seconds; the session goes on', async () => {
    let runningAt = 0;
    const job = execute(kernel, 'sc.parallelize(1 to 1000, 100).map { x => Thread.sleep(200); x }.count()', { onRunning: () => (runningAt = Date.now()) });
    await waitFor(() => runningAt > 0, 60_000, 'execute_input');
    await sleep(4_000); // the job is under way (it would take 100 s on 2 cores)
    const interruptedAt = Date.now();
    await kernel.interrupt();
    const r = await job;
    expect(Date.now() - interruptedAt).toBeLessThan(10_000);
    expect(r.reply.content.status).toBe('error');
    expect(r.errors).toHaveLength(1);
    expect(['Interrupted', 'org.apache.spark.SparkException']).toContain(r.errors[0]!.ename);
    expect(text(await execute(kernel, 'sc.statusTracker.getActiveJobIds().length'))).toBe('0');
    expect(text(await execute(kernel, 'spark.range(100).count()'))).toBe('100');
    expect(text(await execute(kernel, 'x'))).toBe('21');
  }, 120_000);

  it('restart stops the SparkContext and the JVM; the new driver runs jobs', async () => {
    const before = await driver();
    await kernel.restart();
    await waitFor(() => kernel.status === 'idle', START_TIMEOUT_MS, 'idle after restart');
    expect(alive(before.pid)).toBe(false);
    // Spark's temp dirs go with a clean stop (a killed JVM leaves them behind).
    expect(existsSync(before.classDir)).toBe(false);
    const after = await driver();
    expect(after.pid).not.toBe(before.pid);
    expect(text(await execute(kernel, 'spark.range(5).count()'))).toBe('5');
    expect((await execute(kernel, 'x')).errors[0]?.ename).toBe('CompileError');
  }, START_TIMEOUT_MS + 60_000);

  it('shutdown stops the SparkContext and leaves no process of the kernel', async () => {
    const k = tg.gateway.kernels.get(kernel.id);
    const adapter = k.pid;
    const before = await driver();
    await kernel.shutdown();
    await waitFor(() => !alive(before.pid) && !alive(adapter), 15_000, 'JVM and adapter gone');
    expect(existsSync(before.classDir)).toBe(false);
  }, 60_000);
});
