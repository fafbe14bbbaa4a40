/**
 * Kubernetes mode, wired into the gateway: the three garbage-collection layers of
 * ARCHITECTURE.md ("Garbage collection, three layers").
 *
 * 1. Session end: a session plug-in whose `onEnd` deletes everything labelled with the session id
 *    (pods, ConfigMaps, PVCs, Services) and waits until the API confirms they are gone. It runs
 *    on every path into ended/dead and before a restart (shutdown, cull, crash, restart,
 *    gateway SIGTERM).
 * 2. The reaper: an informer on this gateway's managed pods deleting those whose session is not
 *    live (after a grace period) and Spark's inactive executors; it sweeps at start, so a
 *    gateway restarted after SIGKILL cleans up after itself.
 * 3. ownerReferences to the gateway pod, set by Spark from spark.kubernetes.driver.pod.name.
 *
 * Metrics: executors alive, GC latency, orphans reaped.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { ExecutorInfo as RouteExecutorInfo, ExecutorSource } from '../http/routes/spark-sessions.js';
import type { SessionEndReason, SessionPlugin } from '../kernels/kernel-launcher.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { SparkSettings } from '../spark/spark-settings.js';
import { CollectSessionError, ExecutorCollector } from './executor-collector.js';
import { ExecutorLister } from './executor-lister.js';
import { ExecutorReaper } from './executor-reaper.js';
import type { GcObserver } from './gc-observer.js';
import { createKubeClient, probeKubeAccess, type KubeClient } from './kube-client.js';

export interface KubernetesModeOptions {
  settings: SparkSettings;
  logger: Logger;
  metrics: GatewayMetrics;
  /** Whether a session id is live in this gateway (kernels and terminals). */
  isLive: (sessionId: string) => boolean;
  /** KUBERNETES_SERVICE_HOST / _PORT as the kubelet set them (read by the caller). */
  serviceHost?: string | undefined;
  servicePort?: string | undefined;
  /** Tests: FakeKube's configuration. */
  kubeConfig?: KubeConfig;
}

export class KubernetesMode {
  readonly client: KubeClient;
  readonly collector: ExecutorCollector;
  readonly reaper: ExecutorReaper;
  readonly lister: ExecutorLister;
  private started = false;
  private stopped = false;

  constructor(private readonly options: KubernetesModeOptions) {
    const { settings, metrics } = options;
    this.client = createKubeClient({
      namespace: settings.namespace,
      podName: settings.podName,
      podUid: settings.podUid,
      kubeconfigPath: settings.kubeconfig,
      kubeContext: settings.kubeContext,
      serviceHost: options.serviceHost,
      servicePort: options.servicePort,
      ...(options.kubeConfig ? { kubeConfig: options.kubeConfig } : {}),
    });
    const gcSeconds = new Histogram({
      name: 'sparkgate_executor_gc_seconds',
      help: 'Session end to the last executor object confirmed gone',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [metrics.registry],
    });
    const orphans = new Counter({
      name: 'sparkgate_orphans_reaped_total',
      help: 'Executor pods deleted by the reaper (dead sessions, inactive executors)',
      registers: [metrics.registry],
    });
    const alive = new Gauge({
      name: 'sparkgate_executors_alive',
      help: 'Executor pods of this gateway seen by the reaper',
      registers: [metrics.registry],
    });
    const observer: GcObserver = {
      onGcDuration: (ms) => gcSeconds.observe(ms / 1000),
      onOrphanReaped: () => orphans.inc(),
      executorsAlive: (n) => alive.set(n),
    };
    this.collector = new ExecutorCollector({ client: this.client, observer });
    this.reaper = new ExecutorReaper({ client: this.client, isLive: options.isLive, graceMs: settings.reaperGraceMs, observer });
    this.reaper.on('failure', (err: unknown) => options.logger.warn({ err: describe(err) }, 'executor reaper: API failure, retrying'));
    this.reaper.on('reaped', (info: unknown) => options.logger.info({ pod: info }, 'reaped executor pod'));
    this.reaper.on('swept', (info: unknown) => options.logger.info({ object: info }, 'swept session object'));
    this.lister = new ExecutorLister({ client: this.client, cache: this.reaper });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await probeKubeAccess(this.client);
    this.reaper.start();
    this.options.logger.info(
      { namespace: this.client.namespace, pod: this.client.gatewayPod.name, server: this.client.server, source: this.client.source },
      'kubernetes mode: executor garbage collection running',
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reaper.stop();
  }

  /** Layer 1: the session-end plug-in. */
  plugin(): SessionPlugin {
    return {
      name: 'executor-gc',
      onEnd: async (sessionId: string, reason: SessionEndReason) => {
        try {
          const stats = await this.collector.collectSession(sessionId, { timeoutMs: this.options.settings.gcTimeoutMs });
          this.options.logger.info({ kernel_id: sessionId, reason, ...stats }, 'session executors collected');
        } catch (err) {
          // The reaper (layer 2) and ownerReferences (layer 3) still catch what is left.
          const remaining = err instanceof CollectSessionError ? err.remaining.length : undefined;
          this.options.logger.error({ kernel_id: sessionId, reason, remaining, err: describe(err) }, 'executor garbage collection incomplete');
        }
      },
    };
  }

  executorSource(): ExecutorSource {
    return {
      list: async (sessionId: string): Promise<RouteExecutorInfo[]> =>
        (await this.lister.list(sessionId)).map((e) => ({
          name: e.name,
          phase: e.phase,
          node: e.node ?? null,
          startTime: e.startTime ?? null,
          ageSeconds: e.ageMs === undefined || e.ageMs === null ? null : Math.round(e.ageMs / 1000),
        })),
    };
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
