/**
 * Objects as Spark's Kubernetes backend creates them for a client-mode driver in a gateway pod
 * (executor pods named `<prefix>-exec-<n>` with Spark's own labels plus the executor labels the
 * gateway renders into `spark.kubernetes.executor.label.*`), and a ConfigMap, PVC and Service
 * carrying the session labels.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import {
  SPARK_LABEL_APP_ID,
  SPARK_LABEL_EXEC_ID,
  SPARK_LABEL_EXEC_INACTIVE,
  SPARK_LABEL_ROLE,
  SPARK_ROLE_EXECUTOR,
} from '../../../src/labels.js';
import { executorLabels } from '../../../src/k8s/label-selector.js';
import { sparkAppId } from '../../../src/spark/session-naming.js';
import { TEST_RUN_LABEL, type TestCluster } from './cluster.js';

export interface SessionIds {
  readonly sessionId: string;
  readonly gatewayPod: string;
}

function prefix(ids: SessionIds): string {
  return `${ids.gatewayPod}-${ids.sessionId.slice(0, 8)}`;
}

function labels(cluster: TestCluster, ids: SessionIds, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...executorLabels(ids),
    [SPARK_LABEL_APP_ID]: sparkAppId(ids.sessionId),
    [TEST_RUN_LABEL]: cluster.runId,
    ...extra,
  };
}

export function executorPodBody(
  cluster: TestCluster,
  ids: SessionIds,
  n: number,
  options: { inactive?: boolean; labels?: Record<string, string> } = {},
): V1Pod {
  const extra: Record<string, string> = {
    [SPARK_LABEL_ROLE]: SPARK_ROLE_EXECUTOR,
    [SPARK_LABEL_EXEC_ID]: String(n),
    ...(options.inactive ? { [SPARK_LABEL_EXEC_INACTIVE]: 'true' } : {}),
  };
  return {
    metadata: { name: `${prefix(ids)}-exec-${n}`, labels: options.labels ?? labels(cluster, ids, extra) },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'spark-kubernetes-executor', image: 'registry.k8s.io/pause:3.9' }],
    },
  };
}

export async function createExecutors(
  cluster: TestCluster,
  ids: SessionIds,
  count: number,
  options: { inactive?: boolean; firstIndex?: number } = {},
): Promise<string[]> {
  const names: string[] = [];
  const first = options.firstIndex ?? 1;
  for (let n = first; n < first + count; n++) {
    const pod = await cluster.core.createNamespacedPod({ namespace: cluster.namespace, body: executorPodBody(cluster, ids, n, options) });
    names.push(pod.metadata?.name ?? '');
  }
  return names;
}

/** Executor pods plus one ConfigMap, one PVC and one Service, all with the session's labels. */
export async function createSessionObjects(cluster: TestCluster, ids: SessionIds, executors: number): Promise<void> {
  const { core, namespace } = cluster;
  const l = labels(cluster, ids);
  await createExecutors(cluster, ids, executors);
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: `${prefix(ids)}-conf-map`, labels: l }, data: { 'spark.properties': 'spark.executor.cores=1\n' } },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: `${prefix(ids)}-exec-1-pvc-0`, labels: l },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: `${prefix(ids)}-svc`, labels: l },
      spec: { clusterIP: 'None', selector: { [SPARK_LABEL_APP_ID]: sparkAppId(ids.sessionId) }, ports: [{ name: 'blockmanager', port: 7079 }] },
    },
  });
}

/**
 * A stand-in gateway pod object (what `spark.kubernetes.driver.pod.name` names): Spark makes it
 * the controller owner of what it creates. Returns its uid.
 */
export async function createGatewayPod(cluster: TestCluster, name: string): Promise<string> {
  const pod = await cluster.core.createNamespacedPod({
    namespace: cluster.namespace,
    body: {
      metadata: { name, labels: { [TEST_RUN_LABEL]: cluster.runId } },
      spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'gateway', image: 'sparkgate:test' }] },
    },
  });
  return pod.metadata?.uid ?? '';
}

/**
 * The executor ConfigMap exactly as Spark creates it: `spark-exec-<id>-conf-map`, labelled only
 * with `spark-app-selector` and `spark-role=executor` (not the session labels), owned by the
 * gateway (driver) pod.
 */
export async function createSparkExecutorConfigMap(
  cluster: TestCluster,
  ids: SessionIds,
  owner: { name: string; uid: string },
): Promise<string> {
  const name = `spark-exec-${Math.random().toString(16).slice(2, 10)}-conf-map`;
  await cluster.core.createNamespacedConfigMap({
    namespace: cluster.namespace,
    body: {
      metadata: {
        name,
        labels: { [SPARK_LABEL_APP_ID]: sparkAppId(ids.sessionId), [SPARK_LABEL_ROLE]: SPARK_ROLE_EXECUTOR, [TEST_RUN_LABEL]: cluster.runId },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: owner.name, uid: owner.uid, controller: true }],
      },
      data: { 'log4j2.properties': 'rootLogger.level = info\n' },
    },
  });
  return name;
}

export async function configMapExists(cluster: TestCluster, name: string, options: { terminating?: boolean } = {}): Promise<boolean> {
  const list = await cluster.core.listNamespacedConfigMap({ namespace: cluster.namespace, fieldSelector: `metadata.name=${name}` });
  return list.items.some((i) => options.terminating !== false || i.metadata?.deletionTimestamp === undefined);
}

/** A pod with no sparkgate labels at all (someone else's workload). */
export async function createUnlabelledPod(cluster: TestCluster, name: string): Promise<void> {
  await cluster.core.createNamespacedPod({
    namespace: cluster.namespace,
    body: {
      metadata: { name, labels: { [TEST_RUN_LABEL]: cluster.runId } },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] },
    },
  });
}

export interface SessionObjectCounts {
  pods: number;
  configmaps: number;
  services: number;
  persistentvolumeclaims: number;
}

/** What exists with the session's labels, per kind; `terminating: false` skips objects being deleted. */
export async function countSessionObjects(
  cluster: TestCluster,
  ids: SessionIds,
  options: { terminating?: boolean } = {},
): Promise<SessionObjectCounts> {
  const { core, namespace } = cluster;
  const labelSelector = `sparkgate.io/session=${ids.sessionId},sparkgate.io/gateway=${ids.gatewayPod}`;
  const [pods, configmaps, services, pvcs] = await Promise.all([
    core.listNamespacedPod({ namespace, labelSelector }),
    core.listNamespacedConfigMap({ namespace, labelSelector }),
    core.listNamespacedService({ namespace, labelSelector }),
    core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
  ]);
  const count = (items: { metadata?: { deletionTimestamp?: Date } }[]) =>
    options.terminating === false ? items.filter((i) => i.metadata?.deletionTimestamp === undefined).length : items.length;
  return {
    pods: count(pods.items),
    configmaps: count(configmaps.items),
    services: count(services.items),
    persistentvolumeclaims: count(pvcs.items),
  };
}

export async function podExists(cluster: TestCluster, name: string): Promise<boolean> {
  const list = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, fieldSelector: `metadata.name=${name}` });
  return list.items.length > 0;
}
