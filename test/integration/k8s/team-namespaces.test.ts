/**
 * GC across namespaces (issue 14 item 3): a team's executors run in its own namespace, where
 * Spark sets no ownerReference (no driver pod there). The collector deletes a session's objects
 * in the session's namespace; the reaper watches the gateway's namespace and every team namespace,
 * reaps dead sessions' pods in both, and in a team namespace then sweeps that session's
 * app-labelled objects (the executor ConfigMap) but never another gateway's; the executor
 * listing finds a session's pods wherever they run; KubernetesMode collects where the session ran.
 *
 * FakeKube by default. Against a real cluster (KUBECONFIG) it needs a second namespace the test
 * may use: SPARKGATE_TEST_TEAM_NAMESPACE (else skipped).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorCollector } from '../../../src/k8s/executor-collector.js';
import { ExecutorLister } from '../../../src/k8s/executor-lister.js';
import { ExecutorReaper } from '../../../src/k8s/executor-reaper.js';
import { KubernetesMode } from '../../../src/k8s/kubernetes-extension.js';
import { createLogger } from '../../../src/logger.js';
import { GatewayMetrics } from '../../../src/metrics.js';
import { sparkSettingsSchema } from '../../../src/spark/spark-settings.js';
import { GC_TIMEOUT_MS, newGatewayName, newSessionId, REAL_CLUSTER, startTestCluster, TEST_BACKOFF, TEST_RUN_LABEL, type TestCluster } from './cluster.js';
import { nextEvents } from './events.js';
import {
  configMapExists,
  countSessionObjects,
  createExecutors,
  createGatewayPod,
  createSessionObjects,
  createSparkExecutorConfigMap,
  podExists,
  type SessionIds,
} from './spark-objects.js';

const TEAM_NAMESPACE = process.env['SPARKGATE_TEST_TEAM_NAMESPACE'] ?? (REAL_CLUSTER ? '' : 'spark-analytics');
const describeTeams = TEAM_NAMESPACE ? describe : describe.skip;
const GRACE_MS = 100;
const NO_OBJECTS = { pods: 0, configmaps: 0, services: 0, persistentvolumeclaims: 0 };

let cluster: TestCluster;
/** The same cluster seen in the team namespace (the helpers create and count objects there). */
let team: TestCluster;
const stoppers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
  team = { ...cluster, namespace: TEAM_NAMESPACE };
});

afterEach(async () => {
  await Promise.all(stoppers.splice(0).map((stop) => stop()));
});

afterAll(async () => {
  if (cluster && !cluster.fake && TEAM_NAMESPACE) {
    const labelSelector = `${TEST_RUN_LABEL}=${cluster.runId}`;
    await Promise.allSettled([
      cluster.core.deleteCollectionNamespacedPod({ namespace: TEAM_NAMESPACE, labelSelector, gracePeriodSeconds: 0 }),
      cluster.core.deleteCollectionNamespacedConfigMap({ namespace: TEAM_NAMESPACE, labelSelector }),
      cluster.core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace: TEAM_NAMESPACE, labelSelector }),
    ]);
  }
  await cluster?.stop();
});

function startReaper(gatewayPod: string, isLive: (id: string) => boolean, sweepOnStart = false): ExecutorReaper {
  const reaper = new ExecutorReaper({
    client: cluster.client(gatewayPod),
    namespaces: [cluster.namespace, TEAM_NAMESPACE],
    isLive,
    graceMs: GRACE_MS,
    resyncIntervalMs: 60_000,
    backoff: TEST_BACKOFF,
    sweepOnStart,
  });
  stoppers.push(() => reaper.stop());
  reaper.start();
  return reaper;
}

describeTeams('executors in a team namespace', () => {
  it('the collector deletes a session\'s objects in its namespace and confirms they are gone', async () => {
    const gatewayPod = newGatewayName();
    const ids: SessionIds = { gatewayPod, sessionId: newSessionId() };
    const elsewhere: SessionIds = { gatewayPod, sessionId: newSessionId() };
    await createSessionObjects(team, ids, 2);
    await createSessionObjects(cluster, elsewhere, 1);
    const collector = new ExecutorCollector({ client: cluster.client(gatewayPod), backoff: TEST_BACKOFF });
    const stats = await collector.collectSession(ids.sessionId, { timeoutMs: GC_TIMEOUT_MS, namespace: TEAM_NAMESPACE });
    expect(stats).toMatchObject({ podsDeleted: 2, otherDeleted: 3 });
    expect(await countSessionObjects(team, ids)).toEqual(NO_OBJECTS);
    expect(await countSessionObjects(cluster, elsewhere)).toEqual({ pods: 1, configmaps: 1, services: 1, persistentvolumeclaims: 1 });
    // Collecting in the gateway's namespace (the default) does not reach the team's.
    const other = { gatewayPod, sessionId: newSessionId() };
    await createExecutors(team, other, 1);
    expect(await collector.collectSession(other.sessionId, { timeoutMs: GC_TIMEOUT_MS })).toMatchObject({ podsDeleted: 0 });
    expect((await countSessionObjects(team, other)).pods).toBe(1);
  });

  it('the reaper reaps dead sessions\' pods in both namespaces, keeps live ones, and lists them from one cache', async () => {
    const gatewayPod = newGatewayName();
    const live = { gatewayPod, sessionId: newSessionId() };
    const deadHere = { gatewayPod, sessionId: newSessionId() };
    const deadThere = { gatewayPod, sessionId: newSessionId() };
    const reaper = startReaper(gatewayPod, (id) => id === live.sessionId);
    await reaper.whenSynced();
    expect(reaper.namespaces).toEqual([cluster.namespace, TEAM_NAMESPACE]);
    const liveThere = await createExecutors(team, live, 2);
    const reaped = nextEvents(reaper, 'reaped', 2);
    const [podHere] = await createExecutors(cluster, deadHere, 1);
    const [podThere] = await createExecutors(team, deadThere, 1);
    const events = (await reaped).map(([e]) => `${e.namespace}/${e.name}`).sort();
    expect(events).toEqual([`${cluster.namespace}/${podHere}`, `${TEAM_NAMESPACE}/${podThere}`].sort());
    reaper.reconcile();
    for (const name of liveThere) expect(await podExists(team, name)).toBe(true);
    expect(reaper.podsForSession(live.sessionId).map((p) => p.name)).toEqual(liveThere);
    const fromCache = await new ExecutorLister({ client: cluster.client(gatewayPod), cache: reaper }).list(live.sessionId);
    expect(fromCache.map((p) => p.name)).toEqual(liveThere);
  });

  it('after reaping a dead session\'s pod in a team namespace it sweeps that session\'s executor ConfigMap there, and no other', async () => {
    const gatewayPod = newGatewayName();
    const dead = { gatewayPod, sessionId: newSessionId() };
    const stranger = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    // Spark in a team namespace: no ownerReference (there is no driver pod to own it).
    const unowned = { name: '', uid: '' };
    const deadConf = await createSparkExecutorConfigMap(team, dead, unowned);
    const strangerConf = await createSparkExecutorConfigMap(team, stranger, unowned);
    const reaper = startReaper(gatewayPod, () => false);
    await reaper.whenSynced();
    const swept = nextEvents(reaper, 'swept', 1);
    await createExecutors(team, dead, 1);
    expect((await swept)[0]?.[0]).toMatchObject({ resource: 'configmaps', name: deadConf, sessionId: dead.sessionId, namespace: TEAM_NAMESPACE });
    expect(await configMapExists(team, deadConf, { terminating: false })).toBe(false);
    expect(await configMapExists(team, strangerConf)).toBe(true);
  });

  it('a restarted gateway sweeps its dead sessions\' labelled objects in team namespaces too, but owner-only objects only at home', async () => {
    const gatewayPod = newGatewayName();
    const dead = { gatewayPod, sessionId: newSessionId() };
    await createSessionObjects(team, dead, 0);
    // An app-labelled ConfigMap in the team namespace naming this gateway pod as owner is not
    // trusted there (an ownerReference across namespaces is no ownership).
    const owner = { name: gatewayPod, uid: await createGatewayPod(cluster, gatewayPod) };
    const ownedElsewhere = await createSparkExecutorConfigMap(team, { gatewayPod, sessionId: newSessionId() }, owner);
    const reaper = startReaper(gatewayPod, () => false);
    await reaper.whenSynced();
    expect(await reaper.sweep()).toBe(3);
    expect(await countSessionObjects(team, dead, { terminating: false })).toEqual(NO_OBJECTS);
    expect(await configMapExists(team, ownedElsewhere)).toBe(true);
  });

  it('the executor listing falls back to the API in the session\'s namespace', async () => {
    const gatewayPod = newGatewayName();
    const ids = { gatewayPod, sessionId: newSessionId() };
    const pods = await createExecutors(team, ids, 2);
    const client = cluster.client(gatewayPod);
    expect((await new ExecutorLister({ client, namespacesOf: () => [TEAM_NAMESPACE] }).list(ids.sessionId)).map((p) => p.name)).toEqual(pods);
    expect(await new ExecutorLister({ client }).list(ids.sessionId)).toEqual([]);
    const both = new ExecutorLister({ client, namespacesOf: () => [cluster.namespace, TEAM_NAMESPACE] });
    expect((await both.list(ids.sessionId)).map((p) => p.name)).toEqual(pods);
  });

  it('KubernetesMode collects a session where it ran, or everywhere when its namespace is unknown', async () => {
    const gatewayPod = newGatewayName();
    const known = { gatewayPod, sessionId: newSessionId() };
    const unknown = { gatewayPod, sessionId: newSessionId() };
    const mode = new KubernetesMode({
      settings: sparkSettingsSchema.parse({
        mode: 'kubernetes',
        namespace: cluster.namespace,
        podName: gatewayPod,
        headlessService: 'sparkgate-driver',
        image: 'registry.example.com/spark:4.3.0',
        reaperGraceMs: 60_000,
        gcTimeoutMs: GC_TIMEOUT_MS,
      }),
      logger: createLogger({ level: 'silent' }),
      metrics: new GatewayMetrics(),
      isLive: () => true,
      namespaces: [TEAM_NAMESPACE, TEAM_NAMESPACE],
      namespaceOf: (id) => (id === known.sessionId ? TEAM_NAMESPACE : undefined),
      kubeConfig: cluster.kubeConfig,
    });
    stoppers.push(() => mode.stop());
    await mode.start();
    expect(mode.namespaces).toEqual([cluster.namespace, TEAM_NAMESPACE]);
    await createSessionObjects(team, known, 1);
    await createExecutors(team, unknown, 1);
    await createExecutors(cluster, unknown, 1, { firstIndex: 2 });
    const requestsBefore = cluster.fake?.requests.length ?? 0;
    await mode.plugin().onEnd!(known.sessionId, 'shutdown');
    expect(await countSessionObjects(team, known)).toEqual(NO_OBJECTS);
    if (cluster.fake) {
      const calls = cluster.fake.requests.slice(requestsBefore).filter((r) => r.query['labelSelector']?.includes(known.sessionId));
      expect(calls.length).toBeGreaterThan(0);
      const namespaces = new Set(calls.map((r) => r.namespace));
      expect([...namespaces]).toEqual([TEAM_NAMESPACE]);
    }
    await mode.plugin().onEnd!(unknown.sessionId, 'shutdown');
    expect(await countSessionObjects(team, unknown)).toEqual(NO_OBJECTS);
    expect(await countSessionObjects(cluster, unknown)).toEqual(NO_OBJECTS);
  });
});
