/**
 * Usage as Prometheus counters, labelled by user and team, on the gateway's own registry (as
 * kubernetes-extension.ts registers its GC metrics). They move when a flush reaches the store,
 * by exactly the figures written, so `increase()` over a window agrees with the usage route up to
 * one flush interval. They restart at 0 with the gateway (Prometheus handles counter resets).
 * Cardinality: one series per (user, team) that ran a session since the gateway started.
 */
import { Counter } from 'prom-client';
import type { GatewayMetrics } from '../metrics.js';
import type { Owner } from '../users/identity.js';
import type { UsageLine } from './usage-records.js';

const OWNER_LABELS = ['user', 'team'] as const;

export class UsageMetrics {
  private readonly executorCoreSeconds: Counter<'user' | 'team'>;
  private readonly executorMemoryByteSeconds: Counter<'user' | 'team'>;
  private readonly driverCoreSeconds: Counter<'user' | 'team'>;
  private readonly driverMemoryByteSeconds: Counter<'user' | 'team'>;
  private readonly sparkJobs: Counter<'user' | 'team'>;
  private readonly sessionsStarted: Counter<'user' | 'team' | 'kernelspec'>;

  constructor(metrics: GatewayMetrics) {
    const registers = [metrics.registry];
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: OWNER_LABELS, registers });
    this.executorCoreSeconds = counter(
      'sparkgate_usage_executor_core_seconds_total',
      'Executor pod cpu requests x lifetime (container start to finish or deletion), in core-seconds',
    );
    this.executorMemoryByteSeconds = counter(
      'sparkgate_usage_executor_memory_byte_seconds_total',
      'Executor pod memory requests x lifetime, in byte-seconds',
    );
    this.driverCoreSeconds = counter('sparkgate_usage_driver_core_seconds_total', 'spark.driver.cores x session live time, in core-seconds');
    this.driverMemoryByteSeconds = counter(
      'sparkgate_usage_driver_memory_byte_seconds_total',
      'spark.driver.memory (heap only, no overhead) x session live time, in byte-seconds',
    );
    this.sparkJobs = counter('sparkgate_usage_spark_jobs_total', 'Spark jobs run by sessions (max jobId + 1 per SparkContext, polled)');
    this.sessionsStarted = new Counter({
      name: 'sparkgate_sessions_started_total',
      help: 'Sessions started (kernels, pool claims, terminals with their own session)',
      labelNames: ['user', 'team', 'kernelspec'] as const,
      registers,
    });
  }

  sessionStarted(owner: Owner, kernelspec: string): void {
    this.sessionsStarted.labels(owner.user, owner.team, kernelspec).inc();
  }

  /** A flush reached the store: count what it wrote. */
  flushed(lines: readonly UsageLine[]): void {
    for (const l of lines) {
      const labels = [l.user, l.team] as const;
      if (l.executorCoreSeconds > 0) this.executorCoreSeconds.labels(...labels).inc(l.executorCoreSeconds);
      if (l.executorMemoryByteSeconds > 0) this.executorMemoryByteSeconds.labels(...labels).inc(l.executorMemoryByteSeconds);
      if (l.driverCoreSeconds > 0) this.driverCoreSeconds.labels(...labels).inc(l.driverCoreSeconds);
      if (l.driverMemoryByteSeconds > 0) this.driverMemoryByteSeconds.labels(...labels).inc(l.driverMemoryByteSeconds);
      if (l.jobs > 0) this.sparkJobs.labels(...labels).inc(l.jobs);
    }
  }
}
