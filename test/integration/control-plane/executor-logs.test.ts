/**
 * Executor logs for real: a pyspark session of a `sparkgate serve` process against the real
 * test control plane runs a job whose tasks print markers in real executor pods (JVMs run by
 * the node agent). With ServiceAccount `sparkgate`'s token (the manifests' Role only):
 * `kubectl logs` of each executor pod goes through kube-apiserver's `pods/log` to the node
 * agent's kubelet log endpoint, and an ExecutorLogArchiver archives the same text; after the
 * session ended and Spark's pods are deleted, the archive still has every marker exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorLogArchiver } from '../../../src/k8s/executor-log-archiver.js';
import { createKubeClient } from '../../../src/k8s/kube-client.js';
import { GatewayCluster } from '../../control-plane/gateway-cluster.js';
import { sessionObjects, waitSessionGone, waitUntil } from '../../control-plane/session-objects.js';
import { execute } from '../../helpers/kernel-client.js';

const SLOW = 600_000;
const MARKERS = 6;

let cluster: GatewayCluster;
let archiver: ExecutorLogArchiver | undefined;
let stateDir: string;

beforeAll(async () => {
  cluster = await GatewayCluster.start();
  await cluster.startGateway();
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-cp-exec-logs-'));
}, SLOW);

afterAll(async () => {
  await archiver?.stop();
  await cluster?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, SLOW);

async function readAll(sessionId: string, executorId: string): Promise<string | undefined> {
  const body = await archiver!.read(sessionId, executorId, { follow: false, signal: new AbortController().signal });
  if (!body) return undefined;
  let text = '';
  for await (const line of body) text += line;
  return text;
}

const markersIn = (text: string) => [...text.matchAll(/sparkgate-log-marker (\d+)/g)].map((m) => Number(m[1]));

describe('executor logs through the real API server', () => {
  it('kubectl logs reads a real executor pod, and the archive keeps its log after the pod is deleted', async () => {
    // As the gateway pod: its ServiceAccount token, so only the manifests' Role applies.
    const client = createKubeClient({
      namespace: cluster.namespace,
      podName: cluster.gatewayPod.name,
      podUid: cluster.gatewayPod.uid,
      kubeconfigPath: cluster.saKubeconfig,
    });
    const failures: string[] = [];
    archiver = new ExecutorLogArchiver({ client, stateDir, maxBytes: 1024 * 1024, retentionSeconds: 3600 });
    archiver.on('failure', ({ what, error }) => failures.push(`${what}: ${String(error)}`));
    archiver.start();
    await archiver.whenSynced();

    const res = await cluster.gateway!.api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'pyspark' }) });
    expect(res.status, await res.clone().text()).toBe(201);
    const kernel: Kernel.IKernelConnection = cluster.kernels!.connectTo({ model: (await res.json()) as Kernel.IModel });
    const sessionId = kernel.id;
    // Python workers' output goes to the executor's own stdout/stderr: the container log.
    const r = await execute(
      kernel,
      `sc.parallelize(range(${MARKERS}), 2).foreach(lambda i: print(f"sparkgate-log-marker {i}", flush=True))\nprint("job done")`,
    );
    expect(r.errors).toEqual([]);
    expect(r.stdout).toContain('job done');

    const pods = (await sessionObjects(cluster.core, cluster.namespace, sessionId)).pods.filter((p) => p.status?.phase === 'Running');
    expect(pods.length).toBeGreaterThan(0);
    const viaKubectl = new Map<string, string>();
    for (const pod of pods) {
      const name = pod.metadata!.name!;
      const text = await cluster.kubectl(['logs', '-n', cluster.namespace, name], cluster.saKubeconfig);
      expect(text.length, `kubectl logs ${name}`).toBeGreaterThan(0);
      viaKubectl.set(pod.metadata!.labels!['spark-exec-id']!, text);
      const tail = await cluster.kubectl(['logs', '-n', cluster.namespace, name, '--tail=1'], cluster.saKubeconfig);
      expect(tail.trimEnd().split('\n')).toHaveLength(1);
    }
    // Every task printed once, in some executor's log.
    expect(markersIn([...viaKubectl.values()].join('')).sort()).toEqual([...Array(MARKERS).keys()]);

    // The archive has what kubectl saw (and maybe more since).
    for (const [executorId, text] of viaKubectl) {
      await waitUntil(`archive of executor ${executorId}`, 30_000, async () => (await readAll(sessionId, executorId))?.startsWith(text) ?? false);
    }

    // Session end: the gateway deletes the executor pods; their logs stay readable.
    await kernel.shutdown();
    kernel.dispose();
    await waitSessionGone(cluster.core, cluster.namespace, sessionId, 120_000);
    await waitUntil('executors reported ended', 30_000, async () => (await archiver!.executors(sessionId)).every((e) => !e.live));
    const entries = await archiver.executors(sessionId);
    expect(entries.map((e) => e.id).sort()).toEqual([...viaKubectl.keys()].sort());
    let archivedText = '';
    for (const [executorId, text] of viaKubectl) {
      const archived = (await readAll(sessionId, executorId)) ?? '';
      expect(archived.startsWith(text), `executor ${executorId}`).toBe(true);
      archivedText += archived;
    }
    expect(markersIn(archivedText).sort()).toEqual([...Array(MARKERS).keys()]);
    expect(failures.filter((f) => /403|Forbidden/.test(f))).toEqual([]);

    // The API server's audit log: the gateway's ServiceAccount read pods/log, never refused.
    const requests = cluster.cp.auditedRequests('system:serviceaccount:sparkgate:sparkgate');
    expect(requests.filter((q) => q.resource === 'pods/log' && q.verb === 'get' && q.code === 200).length).toBeGreaterThan(0);
    expect(requests.filter((q) => q.code === 403)).toEqual([]);
  }, SLOW);
});
