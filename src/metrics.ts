/**
 * Prometheus metrics for one gateway instance. Each Gateway owns its Registry (no global
 * default registry), so several gateways in one process (tests) never collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  private kernelStates: () => Iterable<[string, number]> = () => [];
  /** Counted when scraped (setKernelStateSource), not on every busy/idle flip of every kernel. */
  readonly kernels: Gauge<'state'> = new Gauge({
    name: 'sparkgate_kernels',
    help: 'Kernels by execution state',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [state, n] of this.kernelStates()) this.kernels.labels(state).set(n);
    },
  });
  readonly kernelStartSeconds = new Histogram({
    name: 'sparkgate_kernel_start_seconds',
    help: 'Kernel start latency: spawn to ready (kernel_info_reply and iopub connected)',
    labelNames: ['kernelspec', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly websocketConnections = new Gauge({
    name: 'sparkgate_websocket_connections',
    help: 'Open websocket connections',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly messages = new Counter({
    name: 'sparkgate_messages_total',
    help: 'Kernel messages relayed, by direction and channel',
    labelNames: ['direction', 'channel'] as const,
    registers: [this.registry],
  });
  readonly rejectedMessages = new Counter({
    name: 'sparkgate_rejected_messages_total',
    help: 'Websocket messages rejected as malformed',
    registers: [this.registry],
  });
  readonly kernelsCulled = new Counter({
    name: 'sparkgate_kernels_culled_total',
    help: 'Kernels shut down by the idle culler',
    registers: [this.registry],
  });

  readonly kernelAutoRestarts = new Counter({
    name: 'sparkgate_kernel_autorestarts_total',
    help: 'Kernels that died on their own and were restarted in place: ok, failed (would not start), limit (gave up: restart limit reached)',
    labelNames: ['kernelspec', 'result'] as const,
    registers: [this.registry],
  });
  readonly warmPoolKernels = new Gauge({
    name: 'sparkgate_warm_pool_kernels',
    help: 'Pre-started pooled sessions by kernelspec and state (starting, ready); target is the configured size',
    labelNames: ['kernelspec', 'state'] as const,
    registers: [this.registry],
  });
  readonly warmPoolClaims = new Counter({
    name: 'sparkgate_warm_pool_claims_total',
    help: 'Kernel start requests by pool outcome: hit (served from the pool), empty (pool had none ready), changed (request changes the launch)',
    labelNames: ['kernelspec', 'result'] as const,
    registers: [this.registry],
  });
  readonly warmPoolFailures = new Counter({
    name: 'sparkgate_warm_pool_start_failures_total',
    help: 'Pooled sessions that failed to start (retried with backoff)',
    labelNames: ['kernelspec'] as const,
    registers: [this.registry],
  });

  /** Where the kernels gauge reads its counts from at scrape time. */
  setKernelStateSource(source: () => Iterable<[string, number]>): void {
    this.kernelStates = source;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'sparkgate_process_' });
  }
}
