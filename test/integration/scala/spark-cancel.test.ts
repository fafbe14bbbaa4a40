/**
 * Interrupt cancels the session's Spark jobs, proven at the module boundary: a stand-in
 * org.apache.spark.SparkContext (fixtures/fake-spark, compiled here with Debian's scalac) is on
 * the REPL's classpath, and a cell blocks in its runJob() the way a driver waits on a job.
 * Interrupt must reach cancelAllJobs() on the active context, end the cell, and keep the REPL.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../src/config.js';
import { execute, waitFor, type ExecuteResult } from '../../helpers/kernel-client.js';
import { startGateway, type TestGateway } from '../../helpers/gateway.js';

const START_TIMEOUT_MS = 120_000;
const FAKE_SPARK_SOURCE = path.join(REPO_ROOT, 'test', 'integration', 'scala', 'fixtures', 'fake-spark', 'SparkContext.scala');

let dir: string;
let tg: TestGateway;
let km: KernelManager;
let kernel: Kernel.IKernelConnection;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-fake-spark-'));
  const jar = path.join(dir, 'fake-spark.jar');
  execFileSync('scalac', ['-d', jar, FAKE_SPARK_SOURCE], { stdio: 'pipe' });
  // The shipped `scala` kernelspec with the stand-in on the classpath (the scala runner reads CLASSPATH).
  const shipped = JSON.parse(readFileSync(path.join(REPO_ROOT, 'kernel', 'specs', 'scala', 'kernel.json'), 'utf8')) as { env?: Record<string, string> };
  const specDir = path.join(dir, 'specs', 'scala-fake-spark');
  mkdirSync(specDir, { recursive: true });
  writeFileSync(path.join(specDir, 'kernel.json'), JSON.stringify({ ...shipped, display_name: 'Scala + stand-in SparkContext (test)', env: { ...shipped.env, CLASSPATH: jar } }));
  tg = await startGateway({ kernelStartTimeoutMs: START_TIMEOUT_MS, kernelspecDirs: [path.join(dir, 'specs')] });
  km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
  kernel = await km.startNew({ name: 'scala-fake-spark' });
  await kernel.info;
}, START_TIMEOUT_MS + 30_000);

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const text = (r: ExecuteResult): string | undefined => r.results[0]?.['text/plain'] as string | undefined;

describe('interrupting a Scala cell that waits on a Spark job', () => {
  it('cancels the active SparkContext\'s jobs, ends the cell, and keeps the session', async () => {
    expect(text(await execute(kernel, 'val sc = org.apache.spark.SparkContext.getActive.get; sc.cancelled'))).toBe('0');
    const job = execute(kernel, 'sc.runJob()');
    await waitFor(() => kernel.status === 'busy', 10_000, 'busy');
    await new Promise((r) => setTimeout(r, 500));
    await kernel.interrupt();
    const r = await job;
    expect(r.reply.content.status).toBe('error');
    expect(r.errors).toHaveLength(1);
    expect(['Interrupted', 'org.apache.spark.SparkException']).toContain(r.errors[0]!.ename);
    // The interrupt went through cancelAllJobs() on the context the session's code uses.
    expect(text(await execute(kernel, 'sc.cancelled'))).toBe('1');
  });

  it('an interrupt between cells still cancels the session\'s jobs (those of background threads) and breaks nothing', async () => {
    await kernel.interrupt();
    expect(text(await execute(kernel, 'sc.cancelled'))).toBe('2');
    expect(text(await execute(kernel, '21 * 2'))).toBe('42');
  });
});
