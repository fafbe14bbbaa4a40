/**
 * The one way to build a fully featured gateway from a config: `sparkgate serve` and the
 * embedded gateway of `sparkgate run` use it, so both get the same features (terminals, and in
 * Kubernetes mode executor garbage collection, the reaper and the executor listing).
 */
import { rmSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { GatewayConfig } from './config.js';
import { Gateway, type GatewayExtension } from './gateway.js';
import { KubernetesMode } from './k8s/kubernetes-extension.js';
import { createLogger, type Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { TerminalsExtension } from './terminals/terminals-extension.js';
import { UsageExtension } from './usage/usage-extension.js';
import { readPolicyFile } from './users/policy-file.js';

export interface CreateGatewayOptions {
  config: GatewayConfig;
  /** The process environment: kernels inherit it (minus SPARKGATE_*); KUBERNETES_SERVICE_* are read from it. */
  env: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Tests: a KubeConfig to use in Kubernetes mode (FakeKube). */
  kubeConfig?: KubeConfig;
  /** Without terminals (the notebook runner does not need them). */
  terminals?: boolean;
}

export function createGateway(options: CreateGatewayOptions): Gateway {
  const { config, env } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const metrics = new GatewayMetrics();
  const extensions: GatewayExtension[] = [];
  // Read here, not by the Gateway: Kubernetes mode needs the teams' namespaces before it exists.
  const policy = config.usersFile ? readPolicyFile(config.usersFile) : undefined;
  const teamNamespaces = [...new Set(Object.values(policy?.teams ?? {}).flatMap((t) => (t.namespace ? [t.namespace] : [])))];
  let gateway: Gateway | undefined;
  let kubernetes: KubernetesMode | undefined;
  // Sessions a terminal owns get the same Spark conf and the same end-of-session GC as kernels.
  const terminals =
    options.terminals === false
      ? undefined
      : new TerminalsExtension({
          env,
          prepareSession: async (sessionId, kind, owner) => {
            const g = gateway!;
            const spec = g.kernelspecs.get(kind === 'spark-sql' ? 'spark-sql' : 'pyspark');
            // A terminal's own Spark session counts against its owner's limits like a kernel.
            const ticket = g.admission.admit(owner, spec, {});
            let contribution;
            try {
              g.registry.begin({ id: sessionId, owner, kind: 'terminal', kernelspec: kind, reservation: ticket.reservation });
              contribution = await g.spark.prepare({
                kernelId: sessionId,
                spec,
                connectionFile: '',
                userEnv: {},
                config,
                python: g.kernels.pythonInterpreter,
                sparkHome: g.kernels.pythonSparkHome,
                owner,
                team: g.users.team(owner.team),
              });
            } catch (err) {
              g.registry.end(sessionId);
              throw err;
            } finally {
              ticket.release();
            }
            terminalFiles.set(sessionId, contribution.files ?? []);
            const propertiesFile = contribution.env?.['SPARKGATE_SPARK_PROPERTIES_FILE'];
            const args = propertiesFile ? ['--properties-file', propertiesFile] : [];
            // bin/pyspark and bin/spark-shell pass their own --name, which beats the properties
            // file; a --name after theirs (the scripts append "$@") keeps the rendered one.
            const appName = g.spark.session(sessionId)?.conf['spark.app.name'];
            if (appName) args.push('--name', appName);
            return { env: contribution.env ?? {}, args };
          },
          onSessionEnd: async (sessionId) => {
            gateway!.registry.end(sessionId);
            await gateway!.spark.onEnd(sessionId);
            for (const f of terminalFiles.get(sessionId) ?? []) rmSync(f, { force: true });
            terminalFiles.delete(sessionId);
            await kubernetes?.plugin().onEnd?.(sessionId, 'shutdown');
          },
        });
  const terminalFiles = new Map<string, string[]>();
  if (terminals) extensions.push(terminals);

  if (config.spark.mode === 'kubernetes') {
    kubernetes = new KubernetesMode({
      settings: config.spark,
      logger,
      metrics,
      isLive: (id) =>
        gateway?.kernels.isLive(id) === true || (terminals?.terminals.list().some((t) => t.sessionId === id) ?? false),
      namespaces: teamNamespaces,
      // The session's rendered namespace; kept by the registry after the session ended.
      namespaceOf: (id) => gateway?.registry.get(id)?.sparkConf?.['spark.kubernetes.namespace'],
      executorLogs: { stateDir: config.stateDir, retentionSeconds: config.logRetentionSeconds, maxBytes: config.executorLogMaxBytes },
      serviceHost: env['KUBERNETES_SERVICE_HOST'],
      servicePort: env['KUBERNETES_SERVICE_PORT'],
      ...(options.kubeConfig ? { kubeConfig: options.kubeConfig } : {}),
    });
    const k = kubernetes;
    // Last in, first out: the reaper starts once terminals can answer isLive, and stops first.
    extensions.push({ name: 'kubernetes', start: () => k.start(), stop: () => k.stop() });
  }
  // First in, last out: it records the ends of sessions that terminals and kernels close while stopping.
  extensions.unshift(new UsageExtension({ config, logger, metrics, feed: kubernetes?.usageFeed() }));
  gateway = new Gateway({
    config,
    logger,
    metrics,
    env,
    extensions,
    ...(policy ? { policy } : {}),
    ...(kubernetes ? { plugins: [kubernetes.plugin()], executors: kubernetes.executorSource() } : {}),
    ...(kubernetes?.logSource() ? { executorLogs: kubernetes.logSource()! } : {}),
  });
  return gateway;
}
