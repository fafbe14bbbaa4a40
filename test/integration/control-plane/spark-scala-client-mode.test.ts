/**
 * Client mode for real, from Scala: a spark-scala session (spark-shell 2.13 behind the kernel
 * adapter) of a `sparkgate serve` process in Kubernetes mode runs a job whose closures (REPL
 * classes, served by the driver) execute in executor pods the real API server holds and the node
 * agent runs; shutdown leaves nothing of the session.
 */
import type { Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sparkAppId } from '../../../src/spark/session-naming.js';
import { GatewayCluster } from '../../control-plane/gateway-cluster.js';
import { recordFigure, sessionObjects } from '../../control-plane/session-objects.js';
import { execute } from '../../helpers/kernel-client.js';

const SLOW = 600_000;

let cluster: GatewayCluster;

beforeAll(async () => {
  cluster = await GatewayCluster.start();
  await cluster.startGateway();
}, SLOW);

afterAll(async () => {
  await cluster?.stop();
}, SLOW);

describe('a spark-scala session in client mode against a real API server', () => {
  it('runs a job in executor pods and leaves nothing after shutdown', async () => {
    const kernel: Kernel.IKernelConnection = await cluster.kernels!.startNew({ name: 'spark-scala' });
    await kernel.info;
    const sessionId = kernel.id;
    const submitted = Date.now();
    const r = await execute(
      kernel,
      [
        'val rdd = sc.parallelize(1 to 1000000, 4)',
        'val total = rdd.map(_.toLong * 2).reduce(_ + _)',
        'val pods = rdd.mapPartitions(_ => Iterator(sys.env.getOrElse("SPARK_EXECUTOR_POD_NAME", "driver"))).collect().distinct.sorted',
        'println(s"RESULT $total ${pods.mkString(",")}")',
      ].join('\n'),
    );
    const jobMs = Date.now() - submitted;
    expect(r.errors).toEqual([]);
    const [, total, pods] = /RESULT (\d+) (\S+)/.exec(r.stdout) ?? [];
    expect(Number(total)).toBe(1_000_001_000_000); // 2 * (1 + ... + 10^6)
    const prefix = `sg-${sessionId.slice(0, 8)}-exec-`;
    for (const name of (pods ?? '').split(',')) expect(name.startsWith(prefix), name).toBe(true);

    const objects = await sessionObjects(cluster.core, cluster.namespace, sessionId);
    expect(objects.pods.length).toBeGreaterThan(0);
    for (const pod of objects.pods) expect(pod.metadata?.labels?.['spark-app-selector']).toBe(sparkAppId(sessionId));

    const t0 = Date.now();
    await kernel.shutdown();
    const shutdownMs = Date.now() - t0;
    expect((await sessionObjects(cluster.core, cluster.namespace, sessionId)).names).toEqual([]);
    recordFigure('spark-scala job + shutdown', { jobMs, objects: objects.names.length, shutdownMs });
  }, SLOW);
});
