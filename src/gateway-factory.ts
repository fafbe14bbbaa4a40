/**
 * The one way to build a fully featured gateway from a config: `sparkgate serve` and the
 * embedded gateway of `sparkgate run` use it, so both get the same features (terminals, and in
 * Kubernetes mode executor garbage collection, the reaper and the executor listing).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { GatewayConfig } from './config.js';
import { Gateway, type GatewayExtension } from './gateway.js';
import { KubernetesMode } from './k8s/kubernetes-extension.js';
import { createLogger, type Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { TerminalsExtension } from './terminals/terminals-extension.js';

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
  let gateway: Gateway | undefined;
  const terminals = options.terminals === false ? undefined : new TerminalsExtension({ env });
  if (terminals) extensions.push(terminals);

  let kubernetes: KubernetesMode | undefined;
  if (config.spark.mode === 'kubernetes') {
    kubernetes = new KubernetesMode({
      settings: config.spark,
      logger,
      metrics,
      isLive: (id) =>
        gateway?.kernels.isLive(id) === true || (terminals?.terminals.list().some((t) => t.sessionId === id) ?? false),
      serviceHost: env['KUBERNETES_SERVICE_HOST'],
      servicePort: env['KUBERNETES_SERVICE_PORT'],
      ...(options.kubeConfig ? { kubeConfig: options.kubeConfig } : {}),
    });
    const k = kubernetes;
    // Last in, first out: the reaper starts once terminals can answer isLive, and stops first.
    extensions.push({ name: 'kubernetes', start: () => k.start(), stop: () => k.stop() });
  }
  gateway = new Gateway({
    config,
    logger,
    metrics,
    env,
    extensions,
    ...(kubernetes ? { plugins: [kubernetes.plugin()], executors: kubernetes.executorSource() } : {}),
  });
  return gateway;
}
