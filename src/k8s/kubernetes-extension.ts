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
 * Namespaces: executors run in the gateway's namespace or in a team's (`namespaces`, from the
 * users file's teams). The reaper watches all of them; a session's end collects in its own
 * (`namespaceOf`), or in all of them when that is not known. Layer 3 does not reach team
 * namespaces (Spark cannot own objects there by the gateway pod: spark-conf.ts).
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
import type { ExecutorLogSource } from '../logs/executor-log-source.js';
import { ExecutorLogArchiver } from './executor-log-archiver.js';
import { ExecutorUsageFeed } from './executor-usage-feed.js';

export interface KubernetesModeOptions {
  settings: SparkSettings;
  logger: Logger;
  metrics: GatewayMetrics;
  /** Whether a session id is live in this gateway (kernels and terminals). */
  isLive: (sessionId: string) => boolean;
  /** Team namespaces executors may run in besides the gateway's (UserDirectory.teamNamespaces()). */
  namespaces?: readonly string[] | undefined;
  /**
   * The namespace a session's executors run in (its rendered `spark.kubernetes.namespace`); also
   * asked after the session ended. Undefined: all namespaces are searched.
   */
  namespaceOf?: ((sessionId: string) => string | undefined) | undefined;
  /** KUBERNETES_SERVICE_HOST / _PORT as the kubelet set them (read by the caller). */
  serviceHost?: string | undefined;
  servicePort?: string | undefined;
  /** Tests: FakeKube's configuration. */
  kubeConfig?: KubeConfig;
  /** Executor logs (session logs): archive them under stateDir (GatewayConfig stateDir, logRetentionSeconds, executorLogMaxBytes). */
  executorLogs?: { stateDir: string; retentionSeconds: number; maxBytes: number } | undefined;
}

export class KubernetesMode {
  readonly client: KubeClient;
  readonly collector: ExecutorCollector;
  readonly reaper: ExecutorReaper;
  readonly lister: ExecutorLister;
  readonly logArchiver: ExecutorLogArchiver | undefined;
  /** Where executors may run: the gateway's namespace first, then the team namespaces. */
  readonly namespaces: readonly string[];
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
    this.namespaces = [...new Set([this.client.namespace, ...(options.namespaces ?? [])])];
    this.collector = new ExecutorCollector({ client: this.client, observer });
    this.reaper = new ExecutorReaper({
      client: this.client,
      namespaces: this.namespaces,
      isLive: options.isLive,
      graceMs: settings.reaperGraceMs,
      observer,
    });
    this.reaper.on('failure', (err: unknown) => options.logger.warn({ err: describe(err) }, 'executor reaper: API failure, retrying'));
    this.reaper.on('reaped', (info: unknown) => options.logger.info({ pod: info }, 'reaped executor pod'));
    this.reaper.on('swept', (info: unknown) => options.logger.info({ object: info }, 'swept session object'));
    this.lister = new ExecutorLister({ client: this.client, cache: this.reaper, namespacesOf: (id) => this.namespacesOf(id) });

    // ---- executor logs (executor-log-archiver.ts) ----
    const logs = options.executorLogs;
    this.logArchiver = logs && new ExecutorLogArchiver({ client: this.client, namespaces: this.namespaces, ...logs });
    this.logArchiver?.on('failure', ({ what, error }) => options.logger.warn({ err: describe(error) }, `executor logs: ${what} failed, retrying`));
    // ---- end executor logs ----
  }

  /** The namespaces that may hold a session's objects. */
  namespacesOf(sessionId: string): readonly string[] {
    const namespace = this.options.namespaceOf?.(sessionId);
    return namespace ? [namespace] : this.namespaces;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const namespace of this.namespaces) await probeKubeAccess(this.client, namespace);
    this.reaper.start();
    this.logArchiver?.start();
    this.options.logger.info(
      {
        namespace: this.client.namespace,
        teamNamespaces: this.namespaces.slice(1),
        pod: this.client.gatewayPod.name,
        server: this.client.server,
        source: this.client.source,
      },
      'kubernetes mode: executor garbage collection running',
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reaper.stop();
    await this.logArchiver?.stop();
  }

  /** Layer 1: the session-end plug-in. */
  plugin(): SessionPlugin {
    return {
      name: 'executor-gc',
      onEnd: async (sessionId: string, reason: SessionEndReason) => {
        const timeoutMs = this.options.settings.gcTimeoutMs;
        const results = await Promise.allSettled(
          this.namespacesOf(sessionId).map((namespace) => this.collector.collectSession(sessionId, { timeoutMs, namespace })),
        );
        for (const result of results) {
          if (result.status === 'fulfilled') continue;
          // The reaper (layer 2) and ownerReferences (layer 3) still catch what is left.
          const err = result.reason as unknown;
          const remaining = err instanceof CollectSessionError ? err.remaining.length : undefined;
          this.options.logger.error({ kernel_id: sessionId, reason, remaining, err: describe(err) }, 'executor garbage collection incomplete');
        }
        const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        if (done.length === results.length) {
          const stats = {
            podsDeleted: done.reduce((n, s) => n + s.podsDeleted, 0),
            otherDeleted: done.reduce((n, s) => n + s.otherDeleted, 0),
            durationMs: Math.max(0, ...done.map((s) => s.durationMs)),
          };
          this.options.logger.info({ kernel_id: sessionId, reason, namespaces: this.namespacesOf(sessionId), ...stats }, 'session executors collected');
        }
      },
    };
  }

  /** Usage metering's pod-lifetime feed: every namespace executors may run in. */
  usageFeed(): ExecutorUsageFeed {
    const feed = new ExecutorUsageFeed({ client: this.client, namespaces: this.namespaces });
    feed.on('failure', ({ namespace, error }) => this.options.logger.warn({ namespace, err: describe(error) }, 'usage metering: executor pod watch failed, retrying'));
    return feed;
  }

  /** For the session-logs route (`source=executor`); undefined when executorLogs is not configured. */
  logSource(): ExecutorLogSource | undefined {
    return this.logArchiver?.logSource();
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
