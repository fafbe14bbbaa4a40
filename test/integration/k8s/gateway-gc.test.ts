/**
 * Executor garbage collection through the whole gateway in Kubernetes mode: real kernels, the
 * real @kubernetes/client-node, FakeKube (or a real cluster when KUBECONFIG is set). Executors
 * are created with the session's labels exactly as Spark's Kubernetes backend would (Spark
 * itself cannot run here); every way a session ends must leave none of them behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { Gateway } from '../../../src/gateway.js';
import { createGateway } from '../../../src/gateway-factory.js';
import { createLogger } from '../../../src/logger.js';
import { FIXTURE_SPECS, REPO_SPECS } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/kernel-client.js';
import { GC_TIMEOUT_MS, newGatewayName, startTestCluster, type TestCluster } from './cluster.js';
import { countSessionObjects, createExecutors, createSessionObjects, createUnlabelledPod, podExists } from './spark-objects.js';

let cluster: TestCluster;
let gatewayPod: string;
const running: Gateway[] = [];
const dirs: string[] = [];

async function startK8sGateway(overrides: Record<string, unknown> = {}): Promise<{ gateway: Gateway; url: string; headers: Record<string, string> }> {
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-test-'));
  dirs.push(runtimeDir);
  const config = loadConfig({
    env: {},
    overrides: {
      port: 0,
      token: 'k8s-test',
      logLevel: process.env['SPARKGATE_TEST_LOGS'] ? 'debug' : 'warn',
      runtimeDir,
      kernelspecDirs: [REPO_SPECS, FIXTURE_SPECS],
      ...overrides,
      spark: {
        mode: 'kubernetes',
        namespace: cluster.namespace,
        podName: gatewayPod,
        headlessService: 'sparkgate-driver',
        image: 'registry.example.com/spark:3.5.3',
        reaperGraceMs: 200,
        gcTimeoutMs: GC_TIMEOUT_MS,
        driverPortRange: '43000-43009',
        blockManagerPortRange: '43100-43109',
        uiPortRange: '43200-43209',
        ...((overrides['spark'] as object | undefined) ?? {}),
      },
    },
  });
  const gateway = createGateway({
    config,
    env: process.env,
    kubeConfig: cluster.kubeConfig,
    terminals: false,
    logger: createLogger({ level: config.logLevel, destination: process.stderr }),
  });
  running.push(gateway);
  const url = await gateway.start();
  return { gateway, url, headers: { authorization: 'token k8s-test', 'content-type': 'application/json' } };
}

async function startSession(g: { url: string; headers: Record<string, string> }): Promise<string> {
  const res = await fetch(`${g.url}/api/kernels`, { method: 'POST', headers: g.headers, body: JSON.stringify({ name: 'spark-env' }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function expectAllGone(sessionId: string): Promise<void> {
  await waitFor(() => true, 0);
  const counts = await countSessionObjects(cluster, { sessionId, gatewayPod });
  expect(counts).toEqual({ pods: 0, configmaps: 0, services: 0, persistentvolumeclaims: 0 });
}

beforeEach(async () => {
  cluster = await startTestCluster();
  gatewayPod = newGatewayName();
  if (cluster.fake) cluster.fake.setDeletionDelayMs(50);
});

afterEach(async () => {
  for (const g of running.splice(0)) await g.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await cluster.stop();
});

describe('executor garbage collection through the gateway', () => {
  it('lists a session’s executors and deletes all of its objects on shutdown', async () => {
    const g = await startK8sGateway();
    const id = await startSession(g);
    await createSessionObjects(cluster, { sessionId: id, gatewayPod }, 3);
    await waitFor(() => true, 0);
    let listed: { name: string; phase: string }[] = [];
    const deadline = Date.now() + 10_000;
    while (listed.length < 3 && Date.now() < deadline) {
      listed = await (await fetch(`${g.url}/api/sparkgate/sessions/${id}/executors`, { headers: g.headers })).json();
      if (listed.length < 3) await new Promise((r) => setTimeout(r, 50));
    }
    expect(listed.map((e) => e.name).sort()).toHaveLength(3);
    expect(listed[0]).toHaveProperty('phase');
    expect(listed[0]).toHaveProperty('ageSeconds');

    // Someone else's pods must survive.
    const otherGateway = { sessionId: id, gatewayPod: `${gatewayPod}-other` };
    const [foreign] = await createExecutors(cluster, otherGateway, 1);
    await createUnlabelledPod(cluster, `${gatewayPod}-bystander`);

    const del = await fetch(`${g.url}/api/kernels/${id}`, { method: 'DELETE', headers: g.headers });
    expect(del.status).toBe(204);
    // DELETE returns after Kubernetes confirmed the objects are gone.
    await expectAllGone(id);
    expect(await podExists(cluster, foreign!)).toBe(true);
    expect(await podExists(cluster, `${gatewayPod}-bystander`)).toBe(true);
    const metrics = await (await fetch(`${g.url}/metrics`, { headers: g.headers })).text();
    expect(metrics).toMatch(/sparkgate_executor_gc_seconds_count [1-9]/);
  });

  it('collects on restart, on crash and on gateway stop', async () => {
    const g = await startK8sGateway();
    const restarted = await startSession(g);
    await createSessionObjects(cluster, { sessionId: restarted, gatewayPod }, 2);
    expect((await fetch(`${g.url}/api/kernels/${restarted}/restart`, { method: 'POST', headers: g.headers })).status).toBe(200);
    await expectAllGone(restarted);

    const crashed = await startSession(g);
    await createSessionObjects(cluster, { sessionId: crashed, gatewayPod }, 2);
    // The crashed driver's executors go; the session itself is restarted in place (same id).
    const crashedPid = g.gateway.kernels.get(crashed).pid!;
    process.kill(-crashedPid, 'SIGKILL');
    await waitForGone(crashed);
    await waitFor(() => g.gateway.kernels.get(crashed).state === 'idle' && g.gateway.kernels.get(crashed).pid !== crashedPid, 20_000, 'restarted');

    const live = await startSession(g);
    await createSessionObjects(cluster, { sessionId: live, gatewayPod }, 2);
    await g.gateway.stop();
    await expectAllGone(live);
  });

  it('collects when the idle culler ends a session', async () => {
    const g = await startK8sGateway({ cullIdleTimeoutSeconds: 1, cullIntervalSeconds: 1 });
    const id = await startSession(g);
    await createSessionObjects(cluster, { sessionId: id, gatewayPod }, 2);
    await waitFor(() => g.gateway.kernels.find(id) === undefined, 15_000, 'culled');
    await waitForGone(id);
  });

  it('a gateway started after a crash reaps the orphans of its previous life', async () => {
    // Objects of a session this gateway pod no longer knows (its previous process was SIGKILLed).
    const orphan = { sessionId: '7e1d3c8a-0000-4000-8000-00000000dead', gatewayPod };
    await createSessionObjects(cluster, orphan, 3);
    await startK8sGateway();
    await waitForGone(orphan.sessionId);
  });
});

async function waitForGone(sessionId: string): Promise<void> {
  const deadline = Date.now() + GC_TIMEOUT_MS;
  for (;;) {
    const c = await countSessionObjects(cluster, { sessionId, gatewayPod });
    if (c.pods + c.configmaps + c.services + c.persistentvolumeclaims === 0) return;
    if (Date.now() > deadline) throw new Error(`objects of ${sessionId} still there: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
