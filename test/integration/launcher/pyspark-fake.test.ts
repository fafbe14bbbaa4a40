/**
 * Stand-in, because real Spark cannot be made to fail on cue: the recording pyspark stand-in
 * (test/fixtures/fake-pyspark) records the exact builder calls and JVM environment, and scripts a
 * spark.stop() that blocks, a SIGTERM mid-stop and lazy creation. Everything real Spark can show
 * (progress, tables, interrupts, errors) is tested on real Spark in test/integration/spark/.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LauncherKernel, resultText, streamText } from './launcher-kernel.js';

const CONF = {
  'spark.master': 'local[2]',
  'spark.executor.memory': '1g',
  'spark.sql.shuffle.partitions': '4',
  'spark.kubernetes.executor.podNamePrefix': 'sg-1234',
};

const SCRIPT = {
  queries: {
    'SELECT slow': { columns: ['n'], rows: [[42]], job: { stages: [4, 8], duration_s: 2.5 } },
  },
};

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
    // The conf file, and (no pyarrow/pandas in the kernels' venv) Spark 4's plain Python UDFs.
    const expected = { ...CONF, 'spark.sql.execution.pythonUDF.arrow.enabled': 'false' };
    expect(Object.fromEntries(configured)).toEqual(expected);
    expect(configured).toHaveLength(Object.keys(expected).length);
    expect(kernel.calls('Builder.appName').map((c) => c['name'])).toEqual([`sparkgate-pyspark-${kernel.kernelId.slice(0, 8)}`]);
    expect(create!['PYSPARK_SUBMIT_ARGS']).toBe('--driver-memory 2g pyspark-shell');
    expect(create!['jvm_auth_secret_sha256']).toBe(createHash('sha256').update('s3cret').digest('hex'));
    // The secret is not left where user code (or its subprocesses) can read it.
    const env = await kernel.execute("import os; [k for k in os.environ if 'AUTH' in k and 'SECRET' in k]");
    expect(resultText(env)).toBe('[]');
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
