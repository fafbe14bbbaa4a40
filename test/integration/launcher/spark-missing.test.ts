/**
 * Spark kinds without a usable Spark: the kernel still starts and answers kernel_info, and every
 * execution fails with a clear error made of readable lines (no launcher traceback). The venv has
 * pyspark, so "not importable" is test/fixtures/no-pyspark first on PYTHONPATH.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_PYSPARK_DIR, type Execution, LauncherKernel, messages, resultText, stripAnsi } from './launcher-kernel.js';

const kernels: LauncherKernel[] = [];
async function start(...args: Parameters<typeof LauncherKernel.start>): Promise<LauncherKernel> {
  const k = await LauncherKernel.start(...args);
  kernels.push(k);
  return k;
}
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.dispose()));
});

/** The error reply and the iopub error agree, and the traceback is just readable text. */
function expectCleanError(exec: Execution, ename: string): string {
  expect(exec.reply.status).toBe('error');
  expect(exec.reply.ename).toBe(ename);
  const [error] = messages(exec, 'error');
  expect(error?.content['ename']).toBe(ename);
  const text = stripAnsi((exec.reply.traceback ?? []).join('\n'));
  expect(text.startsWith(`${ename}: `)).toBe(true);
  expect(text).not.toContain('sparkgate_kernel');
  expect(text).not.toContain('Traceback');
  expect(text).not.toMatch(/File "|\.py:\d+/);
  return text;
}

describe('Spark kinds when pyspark is not importable', () => {
  it('pyspark: kernel_info works, every cell fails with SparkNotInstalledError', async () => {
    const kernel = await start({ kind: 'pyspark', conf: { 'spark.master': 'local[*]' }, noPyspark: true });
    const info = await kernel.kernelInfo();
    expect(info['status']).toBe('ok');
    expect((info['language_info'] as { name: string }).name).toBe('python');

    const first = await kernel.execute('1+1');
    const text = expectCleanError(first, 'SparkNotInstalledError');
    expect(first.reply.evalue).toContain('Spark is not installed on this gateway');
    for (const hint of ['SPARK_HOME', 'pip install pyspark', 'python3']) expect(text).toContain(hint);
    expect(resultText(first)).toBeUndefined();

    const second = await kernel.execute('print("hello")');
    expectCleanError(second, 'SparkNotInstalledError');
    expect(messages(second, 'stream')).toHaveLength(0);
    expect((await kernel.kernelInfo())['status']).toBe('ok');
  });

  it('spark-sql: SELECT 1 fails the same way, and the kernel reports SQL as its language', async () => {
    const kernel = await start({ kind: 'spark-sql', conf: {}, noPyspark: true });
    const info = await kernel.kernelInfo();
    expect(info['language_info']).toMatchObject({ name: 'sql', mimetype: 'text/x-sql' });
    expectCleanError(await kernel.execute('SELECT 1'), 'SparkNotInstalledError');
  });

  it('pyspark imports but the session cannot be created: SparkSessionError with Spark\'s class and message', async () => {
    const kernel = await start({
      kind: 'pyspark',
      fakePyspark: true,
      conf: { 'spark.master': 'k8s://https://kubernetes.default.svc' },
      script: {
        getOrCreate: {
          error: {
            class: 'Py4JJavaError',
            message:
              'An error occurred while calling None.org.apache.spark.api.java.JavaSparkContext.\n' +
              ': org.apache.spark.SparkException: External scheduler cannot be instantiated\n' +
              '\tat org.apache.spark.SparkContext$.createTaskScheduler(SparkContext.scala:3204)\n' +
              '\tat org.apache.spark.SparkContext.<init>(SparkContext.scala:577)',
          },
        },
      },
    });
    expect((await kernel.kernelInfo())['status']).toBe('ok');
    for (const code of ['1+1', 'spark']) {
      const exec = await kernel.execute(code);
      const text = expectCleanError(exec, 'SparkSessionError');
      expect(text).toContain('The Spark session could not be created');
      expect(text).toContain('Py4JJavaError');
      expect(text).toContain('External scheduler cannot be instantiated');
      expect(text).not.toContain('\tat org.apache');
    }
    expect(kernel.calls('Builder.getOrCreate')).toHaveLength(1); // no retry per cell
  });

  it('lazy mode: a session that fails on first use fails that cell and every later one; logs stay out of the notebook', async () => {
    const kernel = await start({
      kind: 'pyspark',
      fakePyspark: true,
      conf: {},
      env: { SPARKGATE_SPARK_EAGER: '0' },
      script: { getOrCreate: { error: { class: 'PySparkRuntimeError', message: '[JAVA_GATEWAY_EXITED] Java gateway process exited before sending its port number.' } } },
    });
    expect(resultText(await kernel.execute('1+1'))).toBe('2'); // no Spark needed yet
    const first = await kernel.execute('spark.range(3)');
    expect(expectCleanError(first, 'SparkSessionError')).toContain('PySparkRuntimeError: [JAVA_GATEWAY_EXITED]');
    expectCleanError(await kernel.execute('1+1'), 'SparkSessionError');
    expect(messages(first, 'stream')).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(kernel.stderr()).toContain('SparkSession creation failed');
  });

  it('finds pyspark under $SPARK_HOME/python when it is not on the path', async () => {
    const sparkHome = mkdtempSync(path.join(tmpdir(), 'sparkgate-spark-home-'));
    try {
      symlinkSync(FAKE_PYSPARK_DIR, path.join(sparkHome, 'python'));
      const kernel = await start({ kind: 'pyspark', conf: {}, env: { SPARK_HOME: sparkHome }, noPyspark: true });
      const exec = await kernel.execute(
        `import pyspark; pyspark.__file__.startswith(${JSON.stringify(sparkHome)}), type(spark).__name__`,
      );
      expect(exec.reply.status).toBe('ok');
      expect(resultText(exec)).toBe("(True, 'SparkSession')");
    } finally {
      rmSync(sparkHome, { recursive: true, force: true });
    }
  });
});
