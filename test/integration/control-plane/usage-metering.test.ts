/**
 * Usage metering against the real API server: executor pods (run by the node agent as local
 * processes) watched by the ExecutorUsageFeed as ServiceAccount `sparkgate` with the manifests'
 * Role, accounted by the UsageExtension. The metered lifetime of each pod must match its lifetime
 * from the API within 1 second:
 * - a pod deleted while running: containerStatuses[].state.running.startedAt -> the moment a GET
 *   first answers 404 after the DELETE;
 * - a pod whose container exits on its own: running.startedAt -> state.terminated.finishedAt.
 * Figures go to test-artifacts/control-plane-gc.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorUsageFeed } from '../../../src/k8s/executor-usage-feed.js';
import { httpStatusOf } from '../../../src/k8s/kube-errors.js';
import { createKubeClient } from '../../../src/k8s/kube-client.js';
import { executorLabels } from '../../../src/k8s/label-selector.js';
import { SPARK_LABEL_ROLE, SPARK_ROLE_EXECUTOR } from '../../../src/labels.js';
import { createLogger } from '../../../src/logger.js';
import { GatewayMetrics } from '../../../src/metrics.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import { UsageExtension } from '../../../src/usage/usage-extension.js';
import type { UsageLine } from '../../../src/usage/usage-records.js';
import { GatewayCluster } from '../../control-plane/gateway-cluster.js';
import { recordFigure, waitUntil } from '../../control-plane/session-objects.js';

const SLOW = 300_000;
const SESSION = '33333333-3333-4333-8333-333333333333';
const MiB = 2 ** 20;

let cluster: GatewayCluster;
let stateDir: string;
let usage: UsageExtension | undefined;
const clusterLog: string[] = [];

beforeAll(async () => {
  cluster = await GatewayCluster.start({ log: (line) => clusterLog.push(line) });
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-cp-usage-'));
}, SLOW);

afterAll(async () => {
  await usage?.stop();
  await cluster?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, SLOW);

function executorPod(name: string, command: string[]): V1Pod {
  return {
    metadata: {
      name,
      labels: { ...executorLabels({ gatewayPod: cluster.gatewayPod.name, sessionId: SESSION }), [SPARK_LABEL_ROLE]: SPARK_ROLE_EXECUTOR },
    },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'spark-kubernetes-executor',
          image: 'sparkgate:test',
          command: ['/opt/entrypoint.sh'],
          args: command, // not "executor": the image's entrypoint just runs it
          // what Spark sets on executor containers (the node agent insists on it)
          env: Object.entries({
            SPARK_EXECUTOR_MEMORY: '512m', SPARK_DRIVER_URL: 'spark://none:1', SPARK_EXECUTOR_ID: '1', SPARK_EXECUTOR_CORES: '1',
            SPARK_APPLICATION_ID: 'usage-test', SPARK_EXECUTOR_POD_IP: '127.0.0.1', SPARK_RESOURCE_PROFILE_ID: '0', SPARK_EXECUTOR_POD_NAME: name,
          }).map(([k, value]) => ({ name: k, value })),
          resources: { requests: { cpu: '1', memory: '640Mi' }, limits: { memory: '640Mi' } },
        },
      ],
    },
  };
}

async function readPod(name: string): Promise<V1Pod | undefined> {
  try {
    return await cluster.core.readNamespacedPod({ name, namespace: cluster.namespace });
  } catch (err) {
    if (httpStatusOf(err) === 404) return undefined;
    throw err;
  }
}

const startedAtOf = (pod: V1Pod | undefined) => pod?.status?.containerStatuses?.[0]?.state?.running?.startedAt;

describe('usage metering against a real API server', () => {
  it('meters executor pod lifetimes within 1 second of what the API shows', async () => {
    const registry = new SessionRegistry({ retainMs: 3_600_000 });
    // As the gateway: ServiceAccount sparkgate, list+watch pods only (REQUIRED_RBAC).
    const client = createKubeClient({ kubeconfigPath: cluster.saKubeconfig, namespace: cluster.namespace, podName: cluster.gatewayPod.name });
    const feed = new ExecutorUsageFeed({ client, namespaces: [cluster.namespace] });
    usage = new UsageExtension({
      config: { stateDir, usageFlushSeconds: 3600 },
      logger: createLogger({ level: 'silent' }),
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      feed,
      registry,
      jobPollSeconds: 0,
    });
    await usage.start();
    await feed.whenSynced();
    registry.begin({ id: SESSION, owner: { user: 'alice', team: 'analytics' }, kind: 'kernel', kernelspec: 'pyspark' });

    const { core, namespace } = cluster;
    await core.createNamespacedPod({ namespace, body: executorPod('usage-exec-1', ['sleep', '600']) });
    await core.createNamespacedPod({ namespace, body: executorPod('usage-exec-2', ['sleep', '3']) });

    // 1: running, then deleted; its lifetime is startedAt -> gone (a GET answers 404)
    await waitUntil('usage-exec-1 running', 60_000, async () => startedAtOf(await readPod('usage-exec-1')) !== undefined).catch((err: Error) => {
      throw new Error(`${err.message}; node agent: ${clusterLog.slice(-20).join('\n')}`);
    });
    const started1 = new Date(startedAtOf(await readPod('usage-exec-1'))!).getTime();
    await new Promise((r) => setTimeout(r, 2_000));
    const deleteAt = Date.now();
    await core.deleteNamespacedPod({ name: 'usage-exec-1', namespace, body: { gracePeriodSeconds: 1 } });
    await waitUntil('usage-exec-1 gone', 60_000, async () => (await readPod('usage-exec-1')) === undefined);
    const gone1 = Date.now();

    // 2: its container exits on its own; its lifetime is startedAt -> finishedAt
    let finished: V1Pod | undefined;
    await waitUntil('usage-exec-2 terminated', 60_000, async () => {
      finished = await readPod('usage-exec-2');
      return finished?.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt !== undefined;
    });
    const terminated = finished!.status!.containerStatuses![0]!.state!.terminated!;
    const lifetime2 = (new Date(terminated.finishedAt!).getTime() - new Date(terminated.startedAt!).getTime()) / 1000;

    // Let the watch deliver what the API already shows, then flush.
    await new Promise((r) => setTimeout(r, 500));
    await usage.flush();
    const lines: UsageLine[] = [];
    for await (const l of usage.usageLines({})) lines.push(l);
    const executorCoreSeconds = lines.reduce((n, l) => n + l.executorCoreSeconds, 0);
    const executorMemoryByteSeconds = lines.reduce((n, l) => n + l.executorMemoryByteSeconds, 0);

    const lifetime1 = (gone1 - started1) / 1000;
    const expected = lifetime1 + lifetime2; // 1 core each
    recordFigure('usage metering vs API pod lifetimes', {
      deletedPodSeconds: lifetime1,
      deleteToGoneMs: gone1 - deleteAt,
      exitedPodSeconds: lifetime2,
      meteredCoreSeconds: executorCoreSeconds,
      differenceSeconds: executorCoreSeconds - expected,
    });
    expect(lines.every((l) => l.user === 'alice' && l.team === 'analytics')).toBe(true);
    expect(Math.abs(executorCoreSeconds - expected)).toBeLessThan(1);
    expect(Math.abs(executorMemoryByteSeconds / (640 * MiB) - expected)).toBeLessThan(1);
    // the exited pod alone: exact (both ends are API times)
    expect(lifetime2).toBeGreaterThanOrEqual(2);

    await core.deleteNamespacedPod({ name: 'usage-exec-2', namespace, body: { gracePeriodSeconds: 0 } });
    await usage.stop();
    usage = undefined;
  }, SLOW);
});
