/**
 * GC latency: from session end (collectSession called) to Kubernetes confirming the last
 * executor pod (and the session's ConfigMap, Service and PVC) gone, against an in-process
 * FakeKube through the real client-node. `deletionDelayMs` simulates pods' graceful
 * termination and `latencyMs` a slower API server. The bench runner calls this; no CLI here.
 */
import { randomUUID } from 'node:crypto';
import { ExecutorCollector } from '../src/k8s/executor-collector.js';
import { createKubeClient } from '../src/k8s/kube-client.js';
import { executorLabels } from '../src/k8s/label-selector.js';
import { FakeKube } from '../test/fake-kube/index.js';

export interface GcLatencyOptions {
  /** Executor pods in the session (default 50). */
  readonly pods?: number;
  /** FakeKube deletion delay (deletionTimestamp first, removal later); default 0. */
  readonly deletionDelayMs?: number;
  /** Added to every API response; default 0. */
  readonly latencyMs?: number;
  readonly timeoutMs?: number;
  /** Stops FakeKube when aborted (the bench's deadline), which ends the collection at once. */
  readonly signal?: AbortSignal;
}

export interface GcLatencyResult {
  readonly pods: number;
  readonly ms: number;
}

export async function measureGcLatency(options: GcLatencyOptions = {}): Promise<GcLatencyResult> {
  const pods = options.pods ?? 50;
  const namespace = 'bench';
  const gatewayPod = 'sparkgate-0';
  const sessionId = randomUUID();
  const fake = await new FakeKube().start();
  const stopOnAbort = (): void => void fake.stop();
  options.signal?.addEventListener('abort', stopOnAbort, { once: true });
  try {
    options.signal?.throwIfAborted();
    const labels = executorLabels({ gatewayPod, sessionId });
    const short = sessionId.slice(0, 8);
    for (let i = 1; i <= pods; i++) {
      fake.create('pods', namespace, {
        metadata: { name: `${short}-exec-${i}`, labels: { ...labels, 'spark-role': 'executor', 'spark-exec-id': String(i) } },
        spec: { containers: [{ name: 'spark-kubernetes-executor', image: 'spark' }] },
      });
    }
    fake.create('configmaps', namespace, { metadata: { name: `spark-exec-${short}-conf-map`, labels }, data: {} });
    fake.create('services', namespace, { metadata: { name: `${short}-svc`, labels }, spec: { clusterIP: 'None' } });
    fake.create('persistentvolumeclaims', namespace, { metadata: { name: `${short}-pvc`, labels }, spec: {} });
    fake.setDeletionDelayMs(options.deletionDelayMs ?? 0);
    fake.setLatencyMs(options.latencyMs ?? 0);

    const client = createKubeClient({ kubeConfig: fake.kubeConfig(namespace), namespace, podName: gatewayPod });
    const collector = new ExecutorCollector({ client });
    const started = performance.now();
    const stats = await collector.collectSession(sessionId, { timeoutMs: options.timeoutMs ?? 60_000 });
    const ms = performance.now() - started;
    if (stats.podsDeleted !== pods || fake.list('pods', namespace).length !== 0) {
      throw new Error(`gc-latency: expected ${pods} pods collected, got ${stats.podsDeleted}`);
    }
    return { pods, ms: Math.round(ms * 10) / 10 };
  } finally {
    options.signal?.removeEventListener('abort', stopOnAbort);
    await fake.stop();
  }
}
