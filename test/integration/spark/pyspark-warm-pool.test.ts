/**
 * The warm pool with real Spark: a pooled `pyspark` session already has its driver JVM and
 * SparkContext up and has run its kernelspec's warm-up jobs, so a claimed one runs its first job
 * without starting a JVM or paying for Spark's first use.
 */
import { KernelManager } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../helpers/gateway.js';
import { alive, execute, waitFor } from '../../helpers/kernel-client.js';

const SLOW = 300_000;
let tg: TestGateway;
let km: KernelManager;

beforeAll(async () => {
  tg = await startGateway({ kernelStartTimeoutMs: 180_000, warmPool: { pyspark: 1 } });
  km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
}, SLOW);

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
}, SLOW);

const ready = (): number => tg.gateway.kernels.warmPool.counts().find((c) => c.kernelspec === 'pyspark')?.ready ?? 0;

describe('a pooled pyspark session', () => {
  it('is claimed with its SparkContext up: the first job runs on a JVM started before the claim', async () => {
    await waitFor(() => ready() === 1, 240_000, 'a pooled pyspark session');
    const pooled = tg.gateway.kernels.warmPool.kernels()[0]!;
    const claimedAt = Date.now();
    const kernel = await km.startNew({ name: 'pyspark' });
    expect(kernel.id).toBe(pooled.id);
    const first = await execute(
      kernel,
      [
        // The kernelspec's warm-up (metadata.sparkgate.warmup) ran its two jobs before the claim.
        'warmed = sorted(sc.statusTracker().getJobIdsForGroup())',
        'jvm = sc._jvm.java.lang.ProcessHandle.current()',
        'print(spark.range(1000).count(), jvm.pid(), jvm.info().startInstant().get().toEpochMilli(), sc.startTime, warmed)',
      ].join('\n'),
    );
    expect(first.errors).toEqual([]);
    expect(first.reply.content.execution_count).toBe(1);
    const [fields, warmed] = first.stdout.trim().split(' [');
    expect(warmed).toMatch(/^0, 1(, \d+)*\]$/);
    const [count, jvmPid, jvmStartedAt, contextStartedAt] = fields!.split(' ').map(Number);
    expect(count).toBe(1000);
    expect(jvmStartedAt).toBeLessThan(claimedAt);
    expect(contextStartedAt).toBeLessThan(claimedAt);
    // The pool refills with another Spark session; this one ends with its JVM.
    await waitFor(() => ready() === 1, 240_000, 'the pool refilled');
    expect(tg.gateway.kernels.warmPool.kernels()[0]!.id).not.toBe(kernel.id);
    await kernel.shutdown();
    await waitFor(() => !alive(jvmPid), 20_000, 'the claimed session\'s JVM to exit');
  }, SLOW);
});
