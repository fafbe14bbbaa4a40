/**
 * The k8s phase (issue 12): sparkgate against a real API server, the test control plane built
 * from Go modules (test/control-plane/), with executor pods run by the test node agent.
 *
 *   gc      session end to the last object gone, for 50 executor pods and the executor ConfigMap
 *           as Spark labels them, collected by sparkgate's ExecutorCollector acting as the
 *           gateway's ServiceAccount (real RBAC). Side by side, on the same objects: the floor
 *           (one bare deletecollection per kind, then polling until the lists are empty) and the
 *           anchor an operator would use (`kubectl delete pods,configmaps -l ... --wait`).
 *           The pods are not bound to a node, so deletion is immediate: on a cluster the kubelet's
 *           graceful termination adds the executors' own shutdown time to every column alike.
 *   submit  a pyspark session through a `sparkgate serve` process in Kubernetes mode: from a
 *           job's submit to its first executor registered with the driver, starting from zero
 *           executors each time (dynamic allocation, idle timeout 2 s); split into submit -> pod
 *           created in the API server (Spark's allocator, schedulerBacklogTimeout 1 s) and pod
 *           created -> registered (the node agent's JVM start).
 *   reaper  a gateway with a session and its executors is SIGKILLed with its drivers (as an OOM
 *           kill of the container would); its executors exit; a new gateway starts:
 *           time from its start to the last object gone. The floor column holds the configured
 *           grace period, which the reaper waits by design.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kernel } from '@jupyterlab/services';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { ExecutorCollector } from '../src/k8s/executor-collector.js';
import { createKubeClient } from '../src/k8s/kube-client.js';
import { executorLabels } from '../src/k8s/label-selector.js';
import { sparkAppId } from '../src/spark/session-naming.js';
import { GatewayCluster } from '../test/control-plane/gateway-cluster.js';
import { sessionObjects, waitSessionGone, waitUntil } from '../test/control-plane/session-objects.js';
import type { BenchOptions } from './bench-options.js';
import { phaseBudgetMs } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import type { PhaseRunner } from './phase-runner.js';
import { summarize, type Summary } from './stats.js';
import { log, STANDALONE_TARGETS } from './target-results.js';

const run = promisify(execFile);
const GC_PODS = 50;
const REAPER_GRACE_MS = 3_000;

export interface K8sResults {
  gc?: { sparkgate: Summary; floor: Summary; kubectl: Summary };
  submit?: { firstExecutor: Summary; toPodCreated: Summary; podToRegistered: Summary };
  reaper?: { ms: number; graceMs: number; objects: number };
}

export async function runK8sSuite(runner: PhaseRunner, options: BenchOptions): Promise<K8sResults | undefined> {
  const spec = { name: 'real control plane', targets: [STANDALONE_TARGETS.k8s], phases: ['k8s' as const], budgetMs: phaseBudgetMs('k8s', options) };
  const outcome = await runner.run(spec, async (scope) => {
    log('k8s: building/starting the test control plane (test/control-plane/), node agent, manifests');
    const cluster = await scope.wait(GatewayCluster.start(), 1_500_000, 'the test control plane to build and start');
    const results: K8sResults = {};
    try {
      log(`k8s: executor GC of ${GC_PODS} pods + ConfigMap, ${options.k8sGcRuns} runs each: sparkgate, bare deletecollection, kubectl`);
      results.gc = await measureGc(scope, cluster, options.k8sGcRuns);
      log(`k8s: ${options.k8sSubmits} job submits from zero executors, then gateway SIGKILL and the reaper`);
      const sessions = await measureSessions(scope, cluster, options.k8sSubmits);
      results.submit = sessions.submit;
      results.reaper = sessions.reaper;
    } finally {
      await cluster.stop();
    }
    return results;
  });
  return outcome.ok ? outcome.value : undefined;
}

// ---- gc ----

/** 50 executor pods and the executor ConfigMap, labelled as Spark labels them for one session. */
async function createSession(core: CoreV1Api, namespace: string, gatewayPod: string): Promise<string> {
  const sessionId = randomUUID();
  // Spark's labels except `spark-role=executor`: the node agent runs every pod with that label,
  // and these are not to run. Not bound to a node: deleted at once (see the header).
  const labels = { ...executorLabels({ gatewayPod, sessionId }), 'spark-app-selector': sparkAppId(sessionId) };
  const prefix = `sg-${sessionId.slice(0, 8)}`;
  await Promise.all(
    Array.from({ length: GC_PODS }, (_, i) =>
      core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `${prefix}-exec-${i + 1}`, labels: { ...labels, 'spark-exec-id': String(i + 1) } },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'spark-kubernetes-executor', image: 'sparkgate:bench' }] },
        } satisfies V1Pod,
      }),
    ),
  );
  await core.createNamespacedConfigMap({
    namespace,
    body: {
      metadata: { name: `spark-exec-${sessionId.slice(0, 8)}-conf-map`, labels: { 'spark-app-selector': sparkAppId(sessionId), 'spark-role': 'executor' } },
      data: { 'spark.properties': '' },
    },
  });
  return sessionId;
}

async function measureGc(scope: DeadlineScope, cluster: GatewayCluster, runs: number): Promise<NonNullable<K8sResults['gc']>> {
  const { core, namespace } = cluster;
  const gatewayPod = cluster.gatewayPod.name;
  const client = createKubeClient({ kubeconfigPath: cluster.saKubeconfig, namespace, podName: gatewayPod, podUid: cluster.gatewayPod.uid });
  const collector = new ExecutorCollector({ client });
  const samples = { sparkgate: [] as number[], floor: [] as number[], kubectl: [] as number[] };
  const ways: Record<keyof typeof samples, (sessionId: string) => Promise<void>> = {
    sparkgate: async (sessionId) => {
      const stats = await collector.collectSession(sessionId, { timeoutMs: 60_000 });
      if (stats.podsDeleted !== GC_PODS) throw new Error(`collector deleted ${stats.podsDeleted} pods, expected ${GC_PODS}`);
    },
    floor: async (sessionId) => {
      const bySession = `sparkgate.io/session=${sessionId}`;
      const byApp = `spark-app-selector=${sparkAppId(sessionId)}`;
      await Promise.all([core.deleteCollectionNamespacedPod({ namespace, labelSelector: bySession }), core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector: byApp })]);
      await waitUntil('bare deletecollection to finish', 60_000, async () => (await sessionObjects(core, namespace, sessionId)).names.length === 0);
    },
    kubectl: async (sessionId) => {
      await run(cluster.cp.bin('kubectl'), ['--kubeconfig', cluster.saKubeconfig, '-n', namespace, 'delete', 'pods', '-l', `sparkgate.io/session=${sessionId}`, '--wait=true']);
      await run(cluster.cp.bin('kubectl'), ['--kubeconfig', cluster.saKubeconfig, '-n', namespace, 'delete', 'configmaps', '-l', `spark-app-selector=${sparkAppId(sessionId)}`, '--wait=true']);
    },
  };
  for (let i = 0; i < runs; i++) {
    // Interleaved, so a slower moment of the machine hits every column alike.
    for (const way of ['sparkgate', 'floor', 'kubectl'] as const) {
      const sessionId = await scope.wait(createSession(core, namespace, gatewayPod), 60_000, `creating ${GC_PODS} executor pods`);
      const started = performance.now();
      await scope.wait(ways[way](sessionId), 90_000, `${way} GC of ${GC_PODS} pods (run ${i + 1})`);
      samples[way].push(Math.round(performance.now() - started));
      const left = (await sessionObjects(core, namespace, sessionId)).names;
      if (left.length > 0) throw new Error(`${way} GC left ${left.join(', ')}`);
    }
  }
  return { sparkgate: summarize(samples.sparkgate), floor: summarize(samples.floor), kubectl: summarize(samples.kubectl) };
}

// ---- submit and reaper ----

const FIRST_EXECUTOR_CELL = `
import time, threading
_t0 = time.time(); _first = []
def _watch():
    while not _first:
        if sc._jsc.sc().getExecutorMemoryStatus().size() > 1:
            _first.append(time.time() - _t0)
        time.sleep(0.02)
_th = threading.Thread(target=_watch); _th.start()
sc.parallelize(range(100), 2).count(); _th.join()
print("FIRST", round(_t0 * 1000), round(_first[0] * 1000))
`;

async function execute(kernel: Kernel.IKernelConnection, code: string): Promise<string> {
  let out = '';
  let error = '';
  const future = kernel.requestExecute({ code });
  future.onIOPub = (msg) => {
    const c = msg.content as Record<string, unknown>;
    if (msg.header.msg_type === 'stream') out += String(c['text']);
    if (msg.header.msg_type === 'error') error = `${String(c['ename'])}: ${String(c['evalue'])}`;
  };
  await future.done;
  if (error) throw new Error(error);
  return out;
}

async function measureSessions(
  scope: DeadlineScope,
  cluster: GatewayCluster,
  submits: number,
): Promise<Pick<K8sResults, 'submit' | 'reaper'>> {
  const { core, namespace } = cluster;
  const env = { SPARKGATE_SPARK_REAPER_GRACE_MS: String(REAPER_GRACE_MS) };
  const gw = await scope.wait(cluster.startGateway(env), 120_000, 'sparkgate serve (kubernetes mode) to start');
  try {
    const res = await gw.api('/api/kernels', {
      method: 'POST',
      body: JSON.stringify({ name: 'pyspark', env: { KERNEL_SPARK_CONF: JSON.stringify({ 'spark.dynamicAllocation.executorIdleTimeout': '2s' }) } }),
    });
    if (res.status !== 201) throw new Error(`POST /api/kernels: ${res.status} ${await res.text()}`);
    const kernel = cluster.kernels!.connectTo({ model: (await res.json()) as Kernel.IModel });
    const sessionId = kernel.id;
    const first: number[] = [];
    const toPod: number[] = [];
    const podToRegistered: number[] = [];
    for (let i = 0; i < submits; i++) {
      await scope.wait(
        waitUntil('zero executors', 120_000, async () => (await sessionObjects(core, namespace, sessionId)).pods.length === 0),
        130_000,
        'dynamic allocation to release every executor',
      );
      const out = await scope.wait(execute(kernel, FIRST_EXECUTOR_CELL), 180_000, `a job from zero executors (submit ${i + 1})`);
      const [, t0, firstMs] = /FIRST (\d+) (\d+)/.exec(out) ?? [];
      const pods = (await sessionObjects(core, namespace, sessionId)).pods;
      const created = Math.min(...pods.map((p) => new Date(p.metadata?.creationTimestamp ?? 0).getTime()));
      first.push(Number(firstMs));
      // creationTimestamp has 1 s resolution: the split is coarse, the total is not.
      const toCreated = Math.max(0, created - Number(t0));
      toPod.push(toCreated);
      podToRegistered.push(Math.max(0, Number(firstMs) - toCreated));
    }
    // Keep executors alive for the reaper: one more job, then SIGKILL right away.
    await scope.wait(execute(kernel, 'sc.parallelize(range(100), 2).count()'), 180_000, 'a job before SIGKILL');
    const left = (await sessionObjects(core, namespace, sessionId)).names.length;
    kernel.dispose();
    // The gateway and its drivers at once (an OOM kill of the container): nobody cleans up.
    await cluster.stopGateway('kill-container');
    await scope.wait(
      waitUntil('executors to fail without their driver', 120_000, async () =>
        (await sessionObjects(core, namespace, sessionId)).pods.every((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded'),
      ),
      130_000,
      'executors to exit without their driver',
    );
    const started = performance.now();
    await scope.wait(cluster.startGateway(env), 120_000, 'the next gateway to start');
    await scope.wait(waitSessionGone(core, namespace, sessionId, 120_000), 130_000, 'the reaper to remove what the killed gateway left');
    const reaperMs = Math.round(performance.now() - started);
    return {
      submit: { firstExecutor: summarize(first), toPodCreated: summarize(toPod), podToRegistered: summarize(podToRegistered) },
      reaper: { ms: reaperMs, graceMs: REAPER_GRACE_MS, objects: left },
    };
  } finally {
    await cluster.stopGateway('SIGTERM');
  }
}
