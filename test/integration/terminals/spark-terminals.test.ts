/**
 * Spark terminals against the real Spark of the project venv (pyspark 4.3, Scala 2.13), on a
 * gateway built as `sparkgate serve` builds it: the pyspark, spark-shell and spark-sql REPLs run
 * with the conf the gateway rendered for their session and the kernels' Spark home, answer a
 * query, and leave no JVM behind; a terminal attached to a notebook's pyspark kernel shares its
 * SparkSession (run by the kernels' Python and its jupyter-console).
 *
 * Under load a REPL's JVM takes 20-120 s to show its prompt: the waits are long on purpose.
 */
import { readdirSync } from 'node:fs';
import { KernelManager } from '@jupyterlab/services';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api } from '../../helpers/gateway.js';
import { execute, waitFor } from '../../helpers/kernel-client.js';
import { commandLine, createTerminal, pidsWith, startServeGateway, WsTerminal, type TerminalGateway } from './terminal-helpers.js';

const JVM_START_MS = 180_000;
const QUERY_MS = 120_000;
const TEST_MS = 360_000;

let tg: TerminalGateway;
let km: KernelManager;

beforeAll(async () => {
  tg = await startServeGateway({
    logLevel: 'warn',
    spark: {
      // An operator's JVM options, here to halve the CPU of each JVM start (C1 only, serial GC:
      // spark-shell measured 42 -> 20 CPU seconds); nothing tested depends on the JIT.
      extraConf: { 'spark.driver.extraJavaOptions': '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' },
    },
  });
  km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
});

afterAll(async () => {
  km?.dispose();
  const root = tg?.runtimeRoot;
  await tg?.stop();
  // Every REPL's JVM has its session's properties file (under the runtime dir) in its arguments.
  if (root) await waitFor(() => pidsWith(root).length === 0, 30_000, 'no process of this gateway left');
}, 90_000);

/** The terminal's session ended: its JVM is gone, its conf files removed and its ports released. */
async function sessionReleased(sessionId: string): Promise<void> {
  await waitFor(() => pidsWith(sessionId).length === 0, 30_000, `no process of session ${sessionId}`);
  await waitFor(() => tg.gateway.spark.session(sessionId) === undefined, 10_000, 'session released');
  expect(readdirSync(tg.gateway.runtimeDir).filter((f) => f.includes(sessionId))).toEqual([]);
}

/** Start a Spark terminal; its session's rendered conf and a websocket on it. */
async function sparkTerminal(kind: 'pyspark' | 'spark-shell' | 'spark-sql') {
  const model = await createTerminal(tg, { kernelspec: kind });
  expect(model).toMatchObject({ kind, session_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  const sessionId = model.session_id!;
  const conf = tg.gateway.spark.session(sessionId)?.conf;
  if (!conf) throw new Error(`no rendered conf for session ${sessionId}`);
  const t = await WsTerminal.open(tg, model.name);
  return { name: model.name, sessionId, conf, t };
}

it("pyspark: the PySpark shell with the session's conf and the kernels' Spark; a query; exit() ends its JVM and the session", async () => {
  const { sessionId, conf, t } = await sparkTerminal('pyspark');
  expect(conf['spark.driver.extraJavaOptions']).toContain('TieredStopAtLevel=1');
  const banner = await t.expect("SparkSession available as 'spark'.\r\n>>> ", JVM_START_MS);
  expect(banner).toContain('version 4.');
  expect(banner).not.toContain('Spark is not installed');
  await t.run(
    'spark.conf.get("spark.ui.port"), spark.conf.get("spark.sql.catalogImplementation"), sc.appName',
    `('${conf['spark.ui.port']}', 'in-memory', '${conf['spark.app.name']}')`,
  );
  await t.run('import os; print(os.environ["SPARK_HOME"])', `\r\n${tg.gateway.kernels.pythonSparkHome}\r\n`);
  await t.run('spark.range(10).count()', '10\r\n>>> ', QUERY_MS);
  expect(pidsWith(sessionId).length).toBeGreaterThan(0);
  t.type('exit()\r');
  await t.closed;
  expect(t.disconnect?.exitCode).toBe(0);
  await sessionReleased(sessionId);
}, TEST_MS);

it("spark-shell: the Scala REPL with the session's conf; a query; DELETE ends its JVM and the session", async () => {
  const { name, sessionId, conf, t } = await sparkTerminal('spark-shell');
  await t.expectPlain(/Spark session available as 'spark'\.[\s\S]*scala> $/, JVM_START_MS);
  let from = t.output.length;
  t.type('(spark.conf.get("spark.ui.port"), spark.conf.get("spark.sql.catalogImplementation"), sc.appName)\r');
  await t.expectPlain(`(String, String, String) = (${conf['spark.ui.port']},in-memory,${conf['spark.app.name']})`, QUERY_MS, from);
  from = t.output.length;
  t.type('spark.range(10).count()\r');
  await t.expectPlain(/Long = 10\r\n[\s\S]*scala> $/, QUERY_MS, from);
  expect((await api(tg, `/api/terminals/${name}`, { method: 'DELETE' })).status).toBe(204);
  expect(await t.closed).toBe(1000);
  await sessionReleased(sessionId);
}, TEST_MS);

it("spark-sql: the SQL shell with the session's conf; SELECT 1+1; exit; ends its JVM and the session", async () => {
  const { sessionId, conf, t } = await sparkTerminal('spark-sql');
  const prompt = 'spark-sql (default)> ';
  await t.expect(prompt, JVM_START_MS);
  await t.run('SET spark.sql.catalogImplementation;', `spark.sql.catalogImplementation\tin-memory\r\n`, QUERY_MS);
  await t.run('SET spark.ui.port;', `spark.ui.port\t${conf['spark.ui.port']}\r\n`, QUERY_MS);
  await t.run('SET spark.app.name;', `spark.app.name\t${conf['spark.app.name']}\r\n`, QUERY_MS);
  await t.run('SELECT 1+1;', `\r\n2\r\nTime taken`, QUERY_MS);
  t.type('exit;\r');
  await t.closed;
  expect(t.disconnect?.exitCode).toBe(0);
  await sessionReleased(sessionId);
}, TEST_MS);

it("attached to a pyspark notebook: the same SparkSession both ways, through the kernels' jupyter-console", async () => {
  const kernel = await km.startNew({ name: 'pyspark' });
  try {
    const made = await execute(kernel, 'spark.range(5).createOrReplaceTempView("t")');
    expect(made.errors).toEqual([]);

    const model = await createTerminal(tg, { kernel_id: kernel.id });
    expect(model).toMatchObject({ kind: 'attached', kernel_id: kernel.id, session_id: null });
    const t = await WsTerminal.open(tg, model.name);
    await t.expect(/In \[\d+\]: $/, 60_000);
    // The console runs in the kernels' Python (the project venv's jupyter_console), not another.
    // (Read once it prompts: /proc/<pid>/cmdline is empty for a moment while the pty child execs.)
    const argv = commandLine(tg.ext.terminals.get(model.name).pid);
    expect(argv.slice(0, 2)).toEqual([tg.gateway.kernels.pythonInterpreter, '-c']);

    await t.run('spark.sql("select count(*) from t").collect()', 'Row(count(1)=5)', QUERY_MS);
    await t.run('spark.range(7).createOrReplaceTempView("u")', /In \[\d+\]: $/, QUERY_MS);
    const seen = await execute(kernel, 'spark.sql("select count(*) from u").collect()[0][0]');
    expect(seen.results[0]?.['text/plain']).toBe('7');

    // Leaving the console leaves the notebook's kernel (and its Spark) running.
    t.type('exit\r');
    await t.closed;
    expect(t.output).toContain('the kernel keeps running');
    expect((await execute(kernel, 'spark.range(3).count()')).results[0]?.['text/plain']).toBe('3');
  } finally {
    await kernel.shutdown();
  }
  await waitFor(() => pidsWith(kernel.id).length === 0, 30_000, "the kernel's JVM gone");
}, TEST_MS);
