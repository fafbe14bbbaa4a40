/**
 * Usage metering, wired into the gateway (issue 14 item 5): the session registry's `started` /
 * `ended` events, executor pod lifetimes from the pod feed (Kubernetes mode), job counts from
 * the drivers' REST API, accounted by the UsageMeter, flushed every usageFlushSeconds to the
 * UsageStore (`<stateDir>/usage/`), counted in Prometheus, and served at
 * `GET /api/sparkgate/usage`.
 *
 * Job polling: when a kernel goes busy -> idle (a cell finished), when it starts terminating
 * (the driver still answers then), every jobPollSeconds for every live Spark session (terminals
 * too), and once more when the registry says the session ended, in case the driver still answers.
 *
 * Lifecycle: start() opens the store, restores the sessions an earlier gateway left, then
 * subscribes; stop() stops the feed and timers, waits for polls under way, flushes once more and
 * closes the store. Both are safe to call twice. The gateway stops extensions before its
 * kernels, so sessions still live at stop() are accounted up to that moment.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../config.js';
import type { Gateway, GatewayExtension } from '../gateway.js';
import { registerUsageRoutes, type UsageSource } from '../http/routes/usage.js';
import type { ServerDeps } from '../http/server.js';
import { systemClock, type Clock, type TimerHandle } from '../k8s/clock.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { SessionRecord, SessionRegistry } from '../sessions/session-registry.js';
import { SparkJobCounter } from './job-counter.js';
import type { PodLifetimeFeed } from './pod-lifetime-feed.js';
import { UsageMeter } from './usage-meter.js';
import { UsageMetrics } from './usage-metrics.js';
import type { StoreLine, UsageLine } from './usage-records.js';
import { UsageStore, type UsageRange } from './usage-store.js';

export interface UsageExtensionOptions {
  readonly config: Pick<GatewayConfig, 'stateDir' | 'usageFlushSeconds'>;
  readonly logger: Logger;
  /** The gateway's registry (the counters go there). */
  readonly metrics: GatewayMetrics;
  /** Executor pod lifetimes (KubernetesMode); none in local mode. */
  readonly feed?: PodLifetimeFeed | undefined;
  /** Default: the gateway's own (`gateway.registry`), read at start. */
  readonly registry?: SessionRegistry | undefined;
  /** Poll live Spark sessions' job counts this often (default 30 s; 0: only on idle and at the end). */
  readonly jobPollSeconds?: number;
  readonly clock?: Clock;
  /** Tests: the driver REST calls. */
  readonly fetch?: typeof fetch;
}

/** What the extension needs of a kernel: its lifecycle events (src/kernels/kernel.ts). */
interface StateEvents {
  on(event: 'state', listener: (before: string, after: string) => void): unknown;
}

export class UsageExtension implements GatewayExtension, UsageSource {
  readonly name = 'usage';
  readonly store: UsageStore;
  readonly meter: UsageMeter;
  private readonly counters: UsageMetrics;
  private readonly jobs: SparkJobCounter;
  private readonly clock: Clock;
  private registry: SessionRegistry | undefined;
  private findKernel: (id: string) => StateEvents | undefined = () => undefined;
  private readonly watchedKernels = new WeakSet<object>();
  private readonly cleanups: (() => void)[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly timers = new Map<string, TimerHandle>();
  private flushing: Promise<unknown> = Promise.resolve();
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: UsageExtensionOptions) {
    this.clock = options.clock ?? systemClock;
    this.store = new UsageStore({ dir: path.join(options.config.stateDir, 'usage'), now: () => this.clock.now() });
    this.meter = new UsageMeter({ lookupHeader: (id) => this.store.lookup(id) });
    this.counters = new UsageMetrics(options.metrics);
    this.jobs = new SparkJobCounter(options.fetch ? { fetch: options.fetch } : {});
  }

  start(gateway?: Gateway): Promise<void> {
    this.starting ??= (async () => {
      const registry = this.options.registry ?? gateway?.registry;
      if (!registry) throw new Error('usage metering needs the session registry (Gateway.registry or the registry option)');
      this.registry = registry;
      if (gateway) this.findKernel = (id) => gateway.kernels.find(id);
      await this.store.open();
      await this.store.append(this.meter.restore(this.store.sessions()));

      const started = (r: SessionRecord) => this.onStarted(r);
      const ended = (r: SessionRecord) => this.onEnded(r);
      registry.on('started', started);
      registry.on('ended', ended);
      this.cleanups.push(() => registry.off('started', started), () => registry.off('ended', ended));
      for (const record of registry.live()) this.onStarted(record);

      const feed = this.options.feed;
      if (feed) {
        this.cleanups.push(feed.subscribe((sample) => this.meter.observePod(sample)));
        await feed.start();
      }
      this.every('flush', this.options.config.usageFlushSeconds * 1000, () => this.flush());
      const pollMs = (this.options.jobPollSeconds ?? 30) * 1000;
      if (pollMs > 0) this.every('jobs', pollMs, () => this.pollLiveSessions());
      this.options.logger.info(
        { dir: this.store.dir, flushSeconds: this.options.config.usageFlushSeconds, restored: this.store.sessions().length, executorPods: feed !== undefined },
        'usage metering running',
      );
    })();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      for (const timer of this.timers.values()) this.clock.clearTimeout(timer);
      this.timers.clear();
      for (const cleanup of this.cleanups.splice(0)) cleanup();
      await this.options.feed?.stop();
      await this.jobs.settled();
      await Promise.allSettled([...this.inflight]);
      if (this.starting) await this.flush();
      await this.store.close();
    })();
    return this.stopping;
  }

  registerRoutes(app: FastifyInstance, deps: ServerDeps): void {
    registerUsageRoutes(this)(app, deps);
  }

  /** Write what accrued since the last flush; commits only once the store has it. */
  flush(): Promise<void> {
    const work = this.flushing.then(async () => {
      const plan = this.meter.prepareFlush(this.clock.now());
      try {
        if (plan.lines.length > 0) await this.store.append(plan.lines);
      } catch (err) {
        // Not committed: the next flush covers the longer interval.
        this.options.logger.error({ err: (err as Error).message, dir: this.store.dir }, 'usage flush failed; retrying at the next flush');
        return;
      }
      plan.commit();
      this.counters.flushed(plan.usage);
    });
    this.flushing = work.catch(() => undefined);
    return work;
  }

  /**
   * The route's source: what the store holds, then what the meter has not flushed yet, both
   * taken between two flushes so no interval is counted twice or missed.
   */
  async *usageLines(range: UsageRange): AsyncGenerator<UsageLine> {
    const snapshot = this.flushing.then(() => ({ until: this.store.position, pending: this.meter.pending(this.clock.now()) }));
    const { until, pending } = await snapshot;
    yield* this.store.usageLines(range, until);
    for (const line of pending) {
      if (range.fromMs !== undefined && Date.parse(line.to) < range.fromMs) continue;
      if (range.toMs !== undefined && Date.parse(line.from) > range.toMs) continue;
      yield line;
    }
  }

  /** Poll one session's job count now (kernel idle, terminating, session end). */
  pollJobs(sessionId: string): Promise<void> {
    const uiPort = this.meter.uiPortOf(sessionId);
    if (uiPort === undefined) return Promise.resolve();
    return this.track(this.jobs.poll(sessionId, uiPort).then((n) => this.meter.addJobs(sessionId, n)));
  }

  private onStarted(record: SessionRecord): void {
    this.counters.sessionStarted(record.owner, record.kernelspec);
    this.write([this.meter.sessionStarted(record)]);
    this.watchKernel(record.id);
  }

  private onEnded(record: SessionRecord): void {
    const end = this.meter.sessionEnded(record);
    if (end) this.write([end]);
    void this.pollJobs(record.id).finally(() => this.jobs.forget(record.id));
  }

  private watchKernel(sessionId: string): void {
    const kernel = this.findKernel(sessionId);
    if (!kernel || this.watchedKernels.has(kernel)) return;
    this.watchedKernels.add(kernel);
    kernel.on('state', (before, after) => {
      if ((before === 'busy' && after === 'idle') || after === 'terminating') void this.pollJobs(sessionId);
    });
  }

  private pollLiveSessions(): Promise<unknown> {
    const live = this.meter.liveSparkSessions();
    for (const { id } of live) this.watchKernel(id); // kernels registered after their `started` event
    return Promise.allSettled(live.map(({ id }) => this.pollJobs(id)));
  }

  private write(lines: readonly StoreLine[]): void {
    this.track(this.store.append(lines)).catch((err: unknown) =>
      this.options.logger.error({ err: (err as Error).message, dir: this.store.dir }, 'usage store write failed'),
    );
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work)).catch(() => undefined);
    return work;
  }

  /** Run `task` every `ms` (the next run is scheduled when one ends, so runs never overlap). */
  private every(name: string, ms: number, task: () => Promise<unknown>): void {
    const schedule = () => {
      this.timers.set(
        name,
        this.clock.setTimeout(() => {
          void task()
            .catch((err: unknown) => this.options.logger.warn({ task: name, err: (err as Error).message }, 'usage task failed'))
            .finally(() => {
              if (this.timers.has(name)) schedule();
            });
        }, ms),
      );
    };
    schedule();
  }
}
