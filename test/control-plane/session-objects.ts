/**
 * Test infrastructure: what a session has in the real API server (executor pods, the executor
 * ConfigMap, PVCs, Services) and helpers to wait on it.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { REPO_ROOT } from '../../src/config.js';
import { sparkAppId } from '../../src/spark/session-naming.js';

/** Where the Kubernetes scenarios write their timings (one JSON object a line). */
export const FIGURES_FILE = path.join(REPO_ROOT, 'test-artifacts', 'control-plane-gc.json');

export function recordFigure(scenario: string, values: Record<string, unknown>): void {
  mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
  appendFileSync(FIGURES_FILE, `${JSON.stringify({ scenario, ...values })}\n`);
}

export interface SessionObjects {
  pods: V1Pod[];
  /** Names of every object of the session, by kind: "pod/x", "configmap/y", ... */
  names: string[];
}

/** Everything labelled with the session (executors) or with its Spark app id (ConfigMap, PVCs, Services). */
export async function sessionObjects(core: CoreV1Api, namespace: string, sessionId: string): Promise<SessionObjects> {
  const bySession = `sparkgate.io/session=${sessionId}`;
  const byApp = `spark-app-selector=${sparkAppId(sessionId)}`;
  const [pods, appPods, configmaps, pvcs, services] = await Promise.all([
    core.listNamespacedPod({ namespace, labelSelector: bySession }),
    core.listNamespacedPod({ namespace, labelSelector: byApp }),
    core.listNamespacedConfigMap({ namespace, labelSelector: byApp }),
    core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: byApp }),
    core.listNamespacedService({ namespace, labelSelector: byApp }),
  ]);
  const podNames = new Set([...pods.items, ...appPods.items].map((p) => p.metadata?.name ?? ''));
  return {
    pods: pods.items,
    names: [
      ...[...podNames].map((n) => `pod/${n}`),
      ...configmaps.items.map((c) => `configmap/${c.metadata?.name}`),
      ...pvcs.items.map((c) => `pvc/${c.metadata?.name}`),
      ...services.items.map((c) => `service/${c.metadata?.name}`),
    ].sort(),
  };
}

/** Poll (the API, every 100 ms) until `check` holds; returns how long it took. */
export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait until nothing of the session is left; returns the time it took. */
export async function waitSessionGone(core: CoreV1Api, namespace: string, sessionId: string, timeoutMs = 60_000): Promise<number> {
  let last: string[] = [];
  try {
    return await waitUntil(`session ${sessionId} objects to be gone`, timeoutMs, async () => {
      last = (await sessionObjects(core, namespace, sessionId)).names;
      return last.length === 0;
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}; still there: ${last.join(', ')}`);
  }
}
