/**
 * Where the Kubernetes integration tests run — the one place that chooses:
 * - default: an in-process FakeKube (fast, deterministic, with fault injection);
 * - `KUBECONFIG` set: the cluster it points at (`KubeConfig.loadFromDefault()`), namespace
 *   `SPARKGATE_TEST_NAMESPACE` (default "default"). Fault-injection and compaction cases are
 *   skipped there (`itFakeOnly`). Every object a test creates carries `sparkgate-test=<runId>`
 *   and is deleted in `stop()`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { it } from 'vitest';
import { createKubeClient, type KubeClient } from '../../../src/k8s/kube-client.js';
import type { BackoffOptions } from '../../../src/k8s/backoff.js';
import { FakeKube } from '../../fake-kube/index.js';

export const REAL_CLUSTER = (process.env['KUBECONFIG'] ?? '') !== '';
export const TEST_RUN_LABEL = 'sparkgate-test';

/** Tests that need FakeKube's knobs (faults, compaction, deletion delay, dropped watches). */
export const itFakeOnly = REAL_CLUSTER ? it.skip : it;

/** Timeouts: a real cluster takes seconds to terminate pods. */
export const GC_TIMEOUT_MS = REAL_CLUSTER ? 120_000 : 10_000;
/** Fast backoff against FakeKube so retry paths run in milliseconds. */
export const TEST_BACKOFF: BackoffOptions = REAL_CLUSTER ? { initialMs: 200, maxMs: 2_000 } : { initialMs: 5, maxMs: 50, jitter: 0 };

export interface TestCluster {
  readonly real: boolean;
  readonly namespace: string;
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  /** Present only against FakeKube. */
  readonly fake: FakeKube | undefined;
  readonly runId: string;
  /** A client acting as gateway pod `gatewayPod`. */
  client(gatewayPod: string): KubeClient;
  stop(): Promise<void>;
}

export function newGatewayName(): string {
  return `gw-${randomBytes(4).toString('hex')}`;
}

export function newSessionId(): string {
  return randomUUID();
}

export async function startTestCluster(): Promise<TestCluster> {
  const runId = `r${randomBytes(5).toString('hex')}`;
  let fake: FakeKube | undefined;
  let kubeConfig: KubeConfig;
  let namespace: string;
  if (REAL_CLUSTER) {
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    namespace = process.env['SPARKGATE_TEST_NAMESPACE'] ?? 'default';
  } else {
    fake = await new FakeKube().start();
    namespace = 'default';
    kubeConfig = fake.kubeConfig(namespace);
  }
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    real: REAL_CLUSTER,
    namespace,
    kubeConfig,
    core,
    fake,
    runId,
    client: (gatewayPod) => createKubeClient({ kubeConfig, namespace, podName: gatewayPod }),
    async stop() {
      if (fake) {
        await fake.stop();
        return;
      }
      const labelSelector = `${TEST_RUN_LABEL}=${runId}`;
      await Promise.allSettled([
        core.deleteCollectionNamespacedPod({ namespace, labelSelector, gracePeriodSeconds: 0 }),
        core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector }),
        core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
        core
          .listNamespacedService({ namespace, labelSelector })
          .then((l) =>
            Promise.allSettled(l.items.map((s) => core.deleteNamespacedService({ namespace, name: s.metadata?.name ?? '' }))),
          ),
      ]);
    },
  };
}
