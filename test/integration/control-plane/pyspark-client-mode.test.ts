/**
 * Client mode for real: a pyspark session of a `sparkgate serve` process (Kubernetes mode, as
 * ServiceAccount `sparkgate` with the manifests' Role) against the real test control plane. Spark's
 * Kubernetes backend creates executor pods in the real API server, the node agent runs them as
 * local JVMs, the job's tasks run in them; then every way a session ends (shutdown, restart, kernel
 * crash, culling, gateway SIGTERM) leaves nothing; after a gateway SIGKILL the next gateway's reaper
 * removes what was left; deleting the gateway's pod object lets the real garbage collector remove
 * what it owns; the API server's audit log shows the gateway's ServiceAccount used only what its
 * Role grants. Timings go to test-artifacts/control-plane-gc.json.
 */
import type { Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUIRED_RBAC } from '../../../src/k8s/rbac.js';
import { sparkAppId } from '../../../src/spark/session-naming.js';
import { GatewayCluster } from '../../control-plane/gateway-cluster.js';
import { recordFigure, sessionObjects, waitSessionGone, waitUntil } from '../../control-plane/session-objects.js';
import type { GatewayProcess } from '../../helpers/gateway-process.js';
import { execute } from '../../helpers/kernel-client.js';

const SLOW = 600_000;
const figure = recordFigure;

let cluster: GatewayCluster;
const gw = (): GatewayProcess => cluster.gateway!;
const startGateway = (extra: Record<string, string> = {}) => cluster.startGateway(extra);

/** POST /api/kernels as Jupyter Server's gateway client does (env with KERNEL_* variables). */
async function startSession(env: Record<string, string> = {}): Promise<Kernel.IKernelConnection> {
  const res = await gw().api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'pyspark', env }) });
  expect(res.status, await res.clone().text()).toBe(201);
  const model = (await res.json()) as Kernel.IModel;
  const kernel = cluster.kernels!.connectTo({ model });
  await kernel.info;
  return kernel;
}

/** Run a job that needs executors; returns the executor pod names its tasks ran in. */
async function runJob(kernel: Kernel.IKernelConnection): Promise<string[]> {
  const r = await execute(
    kernel,
    [
      'import os',
      'rdd = sc.parallelize(range(1_000_000), 4)',
      'total = rdd.map(lambda x: x * 2).sum()',
      'pods = sorted(set(rdd.mapPartitions(lambda _: [os.environ.get("SPARK_EXECUTOR_POD_NAME", "driver")]).collect()))',
      'print(total, ",".join(pods))',
    ].join('\n'),
  );
  expect(r.errors).toEqual([]);
  const [total, pods] = r.stdout.trim().split(' ');
  expect(Number(total)).toBe(999_999_000_000);
  return (pods ?? '').split(',');
}

async function liveExecutorPods(sessionId: string): Promise<string[]> {
  const { pods } = await sessionObjects(cluster.core, cluster.namespace, sessionId);
  return pods.filter((p) => p.status?.phase === 'Running').map((p) => p.metadata?.name ?? '');
}

beforeAll(async () => {
  cluster = await GatewayCluster.start();
  await startGateway();
}, SLOW);

afterAll(async () => {
  await cluster?.stop();
}, SLOW);

describe('a pyspark session in client mode against a real API server', () => {
  it('runs a job on executor pods Spark created with the session labels, then scales them down to zero', async () => {
    const kernel = await startSession({ KERNEL_SPARK_CONF: JSON.stringify({ 'spark.dynamicAllocation.executorIdleTimeout': '5s' }) });
    const sessionId = kernel.id;
    const submitted = Date.now();
    const ranIn = await runJob(kernel);
    figure('job with executors (cold)', { ms: Date.now() - submitted });

    // The tasks ran in executor pods, named with the session's prefix.
    const prefix = `sg-${sessionId.slice(0, 8)}-exec-`;
    expect(ranIn.length).toBeGreaterThan(0);
    for (const name of ranIn) expect(name.startsWith(prefix), name).toBe(true);
    const { pods, names } = await sessionObjects(cluster.core, cluster.namespace, sessionId);
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) {
      expect(pod.metadata?.labels).toMatchObject({
        'sparkgate.io/session': sessionId,
        'sparkgate.io/gateway': cluster.gatewayPod.name,
        'app.kubernetes.io/managed-by': 'sparkgate',
        'spark-app-selector': sparkAppId(sessionId),
        'spark-role': 'executor',
      });
      expect(pod.spec?.serviceAccountName).toBe('sparkgate-executor');
      // Spark made the gateway pod the controller owner: layer 3 of the GC.
      expect(pod.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Pod', name: cluster.gatewayPod.name, uid: cluster.gatewayPod.uid, controller: true }),
      ]);
    }
    expect(names.some((n) => /^configmap\/spark-exec-.*-conf-map$/.test(n)), names.join(',')).toBe(true);

    // The gateway's executor listing (its reaper's informer cache) sees them too.
    const listed = await gw().api(`/api/sparkgate/sessions/${sessionId}/executors`);
    expect(listed.status).toBe(200);

    // Idle: dynamic allocation (min 0, shuffle tracking) releases every executor; Spark deletes the pods.
    const scaledDownMs = await waitUntil('executors released', 120_000, async () => (await liveExecutorPods(sessionId)).length === 0);
    figure('dynamic allocation scale-down after 5 s idle timeout', { ms: scaledDownMs });
    // Metered by the gateway from the pods its usage feed watched: executor and driver time, the job.
    const usage = (await (await gw().api('/api/sparkgate/usage?group_by=session')).json()) as { rows: Record<string, unknown>[] };
    const row = usage.rows.find((r) => r['session'] === sessionId);
    expect(row, JSON.stringify(usage)).toBeDefined();
    expect(row!['executor_core_seconds']).toBeGreaterThan(0);
    expect(row!['executor_core_seconds']).toBeLessThan((Date.now() - submitted) / 1000 * 2);
    expect(row!['driver_core_seconds']).toBeGreaterThan(0);
    expect(row!['jobs']).toBeGreaterThanOrEqual(1);
    figure('usage of the session after scale-down', { executorCoreSeconds: row!['executor_core_seconds'], jobs: row!['jobs'] });
    await kernel.shutdown();
    await waitSessionGone(cluster.core, cluster.namespace, sessionId);
  }, SLOW);

  it('shutdown: every executor pod and the executor ConfigMap are gone when DELETE returns', async () => {
    const kernel = await startSession();
    const sessionId = kernel.id;
    await runJob(kernel);
    const before = await sessionObjects(cluster.core, cluster.namespace, sessionId);
    expect(before.pods.length).toBeGreaterThan(0);
    const t0 = Date.now();
    const res = await gw().api(`/api/kernels/${sessionId}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    const deleteMs = Date.now() - t0;
    expect((await sessionObjects(cluster.core, cluster.namespace, sessionId)).names).toEqual([]);
    figure('shutdown', { objects: before.names.length, ms: deleteMs });
  }, SLOW);

  it('restart: the old SparkContext\'s executors are collected and the restarted session runs jobs again', async () => {
    const kernel = await startSession();
    const sessionId = kernel.id;
    await runJob(kernel);
    const old = (await sessionObjects(cluster.core, cluster.namespace, sessionId)).pods.map((p) => p.metadata?.uid);
    expect(old.length).toBeGreaterThan(0);
    await kernel.restart();
    const now = (await sessionObjects(cluster.core, cluster.namespace, sessionId)).pods.map((p) => p.metadata?.uid);
    expect(now.filter((uid) => old.includes(uid))).toEqual([]);
    const ranIn = await runJob(kernel);
    expect(ranIn[0]).toMatch(/-exec-\d+$/);
    await kernel.shutdown();
    await waitSessionGone(cluster.core, cluster.namespace, sessionId);
  }, SLOW);

  it('kernel crash: a driver that dies on its own leaves nothing', async () => {
    const kernel = await startSession();
    const sessionId = kernel.id;
    await runJob(kernel);
    const t0 = Date.now();
    kernel.requestExecute({ code: 'import os; os._exit(1)' });
    const ms = await waitSessionGone(cluster.core, cluster.namespace, sessionId, 120_000);
    figure('kernel crash (os._exit)', { ms: Date.now() - t0, goneAfterMs: ms });
    kernel.dispose();
  }, SLOW);

  it('gateway SIGTERM: every session\'s executors are gone before the gateway exits', async () => {
    const kernel = await startSession();
    const sessionId = kernel.id;
    await runJob(kernel);
    expect((await sessionObjects(cluster.core, cluster.namespace, sessionId)).pods.length).toBeGreaterThan(0);
    kernel.dispose();
    const t0 = Date.now();
    const stopped = gw();
    await cluster.stopGateway('SIGTERM');
    expect(stopped.child.exitCode, stopped.output().slice(-2000)).toBe(0);
    expect((await sessionObjects(cluster.core, cluster.namespace, sessionId)).names).toEqual([]);
    figure('gateway SIGTERM', { ms: Date.now() - t0 });
  }, SLOW);

  it('culling: an idle session is shut down and its executors collected', async () => {
    await startGateway({ SPARKGATE_CULL_IDLE_TIMEOUT_SECONDS: '8', SPARKGATE_CULL_INTERVAL_SECONDS: '2' });
    const kernel = await startSession();
    const sessionId = kernel.id;
    await runJob(kernel);
    kernel.dispose(); // culling spares connected kernels (cullConnected=false)
    const objectsGoneMs = await waitSessionGone(cluster.core, cluster.namespace, sessionId, 120_000);
    // The kernel leaves the list once its shutdown (collection included) has returned.
    const culledMs = await waitUntil('kernel culled', 60_000, async () => (await gw().api(`/api/kernels/${sessionId}`)).status === 404);
    expect((await sessionObjects(cluster.core, cluster.namespace, sessionId)).names).toEqual([]);
    figure('culled after 8 s idle', { objectsGoneMs, culledMs });
  }, SLOW);

  it('gateway SIGKILL: the next gateway\'s reaper removes what the dead one left, and its sessions work', async () => {
    const kernel = await startSession();
    const sessionId = kernel.id;
    await runJob(kernel);
    const left = await sessionObjects(cluster.core, cluster.namespace, sessionId);
    expect(left.pods.length).toBeGreaterThan(0);
    kernel.dispose();
    // The gateway and its drivers die at once (an OOM kill of the container): no SparkContext.stop,
    // no collection. The executors lose their driver and exit; their pod objects and the executor
    // ConfigMap stay until someone deletes them.
    await cluster.stopGateway('kill-container');
    await waitUntil('executors to fail without their driver', 120_000, async () =>
      (await sessionObjects(cluster.core, cluster.namespace, sessionId)).pods.every((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded'),
    );
    expect((await sessionObjects(cluster.core, cluster.namespace, sessionId)).names).toEqual(left.names);
    const t0 = Date.now();
    await startGateway();
    const ms = await waitSessionGone(cluster.core, cluster.namespace, sessionId, 120_000);
    figure('reaper after gateway SIGKILL (grace 3 s)', { objects: left.names.length, msFromRestart: Date.now() - t0, goneAfterMs: ms });
    // The new gateway's reaper did it: its log names every pod it reaped and the ConfigMap it swept.
    // (The API shows an object gone as soon as the DELETE is served; the gateway's log line for it
    // is written after the response reaches it and may come moments later: wait for it.)
    const reaperLogged = (log: string): boolean => log.includes('reaped executor pod') && /"resource":"configmaps".*swept session object/.test(log);
    await waitUntil('the reaper\'s log lines', 15_000, async () => reaperLogged(gw().output())).catch(() => undefined);
    const log = gw().output();
    expect(log, log.slice(-3000)).toContain('reaped executor pod');
    expect(log, log.slice(-3000)).toMatch(/"resource":"configmaps".*swept session object/);
    const fresh = await startSession();
    expect((await runJob(fresh))[0]).toMatch(/-exec-\d+$/);
    await fresh.shutdown();
    await waitSessionGone(cluster.core, cluster.namespace, fresh.id);
  }, SLOW);

  it('on-demand PVCs: each executor\'s claim is created by Spark and collected with the session', async () => {
    // An operator's Spark default (SPARKGATE_SPARK_EXTRA_CONF): local dirs on a claim per executor.
    const volume = 'spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1';
    await startGateway({
      SPARKGATE_SPARK_EXTRA_CONF: JSON.stringify({
        [`${volume}.options.claimName`]: 'OnDemand',
        [`${volume}.options.storageClass`]: 'standard',
        [`${volume}.options.sizeLimit`]: '1Gi',
        [`${volume}.mount.path`]: '/data',
        [`${volume}.mount.readOnly`]: 'false',
      }),
    });
    const kernel = await startSession();
    const sessionId = kernel.id;
    await runJob(kernel);
    const { names } = await sessionObjects(cluster.core, cluster.namespace, sessionId);
    expect(names.filter((n) => n.startsWith('pvc/')).length, names.join(', ')).toBeGreaterThan(0);
    const t0 = Date.now();
    await kernel.shutdown();
    // PVCs carry the pvc-protection finalizer: gone only once no pod uses them.
    expect((await sessionObjects(cluster.core, cluster.namespace, sessionId)).names).toEqual([]);
    figure('shutdown with on-demand PVCs', { objects: names.length, ms: Date.now() - t0 });
  }, SLOW);

  it('deleting the gateway pod object: the garbage collector removes the executors it owns', async () => {
    const kernel = await startSession();
    const sessionId = kernel.id;
    await runJob(kernel);
    const owned = await sessionObjects(cluster.core, cluster.namespace, sessionId);
    expect(owned.pods.length).toBeGreaterThan(0);
    // The gateway cannot collect (killed with its drivers): this is the path for that case.
    kernel.dispose();
    await cluster.stopGateway('kill-container');
    const t0 = Date.now();
    await cluster.core.deleteNamespacedPod({ name: cluster.gatewayPod.name, namespace: cluster.namespace });
    const ms = await waitSessionGone(cluster.core, cluster.namespace, sessionId, 120_000);
    figure('garbage collector after gateway pod deletion', { objects: owned.names.length, ms: Date.now() - t0, goneAfterMs: ms });
    await cluster.createGatewayPod();
  }, SLOW);

  it('least privilege: the gateway and its drivers used only what the Role grants, and were never refused', () => {
    // Every request ServiceAccount sparkgate made in the scenarios above, from the API server's audit log.
    const requests = cluster.cp.auditedRequests('system:serviceaccount:sparkgate:sparkgate');
    expect(requests.length).toBeGreaterThan(0);
    const granted = new Set(REQUIRED_RBAC.flatMap((r) => r.verbs.map((v) => `${v} ${r.resource}`)));
    const used = new Set(requests.map((r) => `${r.verb} ${r.resource}`));
    expect([...used].filter((u) => !granted.has(u))).toEqual([]);
    expect(requests.filter((r) => r.code === 403)).toEqual([]);
    figure('RBAC use by ServiceAccount sparkgate', { used: [...used].sort(), unusedGrants: [...granted].filter((g) => !used.has(g)).sort() });
  });
});
