/**
 * The warm pool: pre-started sessions per kernelspec, so `POST /api/kernels` can answer at once
 * instead of waiting for a kernel (and, for Spark kernels, a driver JVM and SparkContext).
 *
 * Pooled sessions are real Kernels started with no user environment; they are not listed by the
 * API, not counted toward maxKernels, not culled, and bounded by `warmPoolMaxTotal`. `take()` is
 * synchronous, so a pooled session is handed out at most once, and it leaves the pool for good:
 * sessions never come back. Refills run one at a time in the background (a kernel start is
 * CPU-heavy; parallel refills would slow the users' own cold starts), `refillDelayMs` after a
 * claim (so the claimed session's first cells do not share the CPU with a refill), with
 * exponential backoff per kernelspec when starts fail. `stop()` shuts every pooled session down through the normal
 * session end (executor GC included).
 */
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Kernel } from './kernel.js';

export interface WarmPoolDeps {
  /** Wanted size per kernelspec, in configuration order. */
  sizes: Readonly<Record<string, number>>;
  maxTotal: number;
  logger: Logger;
  metrics: GatewayMetrics;
  /** A new, not yet started session for the pool (not registered with the KernelManager). */
  create: (kernelspec: string) => Kernel;
  /** Run after a pooled session started, before it counts as ready (its kernelspec's warm-up). */
  warmUp?: (kernel: Kernel) => Promise<void>;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * Wait this long after a claim before refilling that kernelspec: a refill (a JVM start, for
   * Spark) would otherwise compete for the CPU with the claimed session's first cells.
   */
  refillDelayMs?: number;
}

interface SpecPool {
  readonly name: string;
  readonly target: number;
  readonly ready: Kernel[];
  /** The session being started, and its start (settles after any cleanup). */
  starting: { kernel: Kernel | undefined; done: Promise<void> } | undefined;
  failures: number;
  retryAt: number;
}

/** The per-kernelspec targets after applying the global bound (first configured, first served). */
export function poolTargets(sizes: Readonly<Record<string, number>>, maxTotal: number): Map<string, number> {
  const out = new Map<string, number>();
  let left = maxTotal;
  for (const [name, size] of Object.entries(sizes)) {
    const target = Math.max(0, Math.min(size, left));
    left -= target;
    if (target > 0) out.set(name, target);
  }
  return out;
}

export class WarmPool {
  private readonly pools = new Map<string, SpecPool>();
  private readonly members = new Set<Kernel>();
  private running = false;
  private stopped = false;
  private filling = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(private readonly deps: WarmPoolDeps) {
    this.log = deps.logger.child({ component: 'warm-pool' });
    for (const [name, target] of poolTargets(deps.sizes, deps.maxTotal)) {
      this.pools.set(name, { name, target, ready: [], starting: undefined, failures: 0, retryAt: 0 });
    }
    const wanted = Object.values(deps.sizes).reduce((a, b) => a + b, 0);
    if (wanted > deps.maxTotal) {
      this.log.warn({ wanted, max: deps.maxTotal }, 'warm pool sizes exceed warmPoolMaxTotal; later kernelspecs get fewer');
    }
    this.updateGauge();
  }

  /** Begin filling in the background; safe to call twice. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    if (this.pools.size > 0) this.log.info({ sizes: Object.fromEntries([...this.pools].map(([n, p]) => [n, p.target])) }, 'warm pool filling');
    this.kick();
  }

  /** Whether `kernelspec` has a pool at all. */
  serves(kernelspec: string): boolean {
    return this.pools.has(kernelspec);
  }

  /** Hand out a ready session for `kernelspec`, or undefined; the session leaves the pool. */
  take(kernelspec: string): Kernel | undefined {
    const pool = this.pools.get(kernelspec);
    if (!pool || this.stopped) return undefined;
    // Only an idle one: a pooled session being restarted after dying stays until it is back.
    const at = pool.ready.findIndex((k) => k.state === 'idle');
    if (at < 0) return undefined;
    const [kernel] = pool.ready.splice(at, 1);
    this.members.delete(kernel!);
    pool.retryAt = Math.max(pool.retryAt, Date.now() + (this.deps.refillDelayMs ?? 0));
    this.updateGauge();
    this.kick();
    return kernel;
  }

  /** A pooled session id (live, not yet handed out): the executor reaper must keep its pods. */
  has(id: string): boolean {
    for (const k of this.members) if (k.id === id) return true;
    for (const pool of this.pools.values()) if (pool.starting?.kernel?.id === id) return true;
    return false;
  }

  /** The ready pooled sessions (operations and tests; they are not the API's). */
  kernels(): Kernel[] {
    return [...this.pools.values()].flatMap((p) => p.ready);
  }

  counts(): { kernelspec: string; target: number; ready: number; starting: number }[] {
    return [...this.pools.values()].map((p) => ({
      kernelspec: p.name,
      target: p.target,
      ready: p.ready.length,
      starting: p.starting ? 1 : 0,
    }));
  }

  /** Stop refilling and shut every pooled session down (with its session-end work). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      const kernels = [...this.members];
      const inFlight: Promise<void>[] = [];
      for (const pool of this.pools.values()) {
        if (pool.starting?.kernel) kernels.push(pool.starting.kernel);
        if (pool.starting) inFlight.push(pool.starting.done);
        pool.ready.length = 0;
      }
      this.members.clear();
      await Promise.allSettled([...kernels.map((k) => k.shutdown('gateway_stop')), ...inFlight]);
      this.updateGauge();
    })();
    return this.stopping;
  }

  /** Run the fill loop unless it is already running. */
  private kick(): void {
    if (!this.running || this.stopped || this.filling) return;
    this.filling = true;
    void this.fill().finally(() => {
      this.filling = false;
    });
  }

  private async fill(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const now = Date.now();
      const pool = [...this.pools.values()].find((p) => p.ready.length + (p.starting ? 1 : 0) < p.target && p.retryAt <= now);
      if (!pool) {
        this.scheduleRetry();
        return;
      }
      await this.startOne(pool);
    }
  }

  private startOne(pool: SpecPool): Promise<void> {
    const slot: { kernel: Kernel | undefined; done: Promise<void> } = { kernel: undefined, done: Promise.resolve() };
    pool.starting = slot;
    slot.done = (async () => {
      try {
        slot.kernel = this.deps.create(pool.name);
        this.updateGauge();
        await slot.kernel.start();
        await this.deps.warmUp?.(slot.kernel);
      } catch (err) {
        pool.starting = undefined;
        if (this.stopped) return;
        pool.failures++;
        const base = this.deps.retryBaseMs ?? 1_000;
        const delay = Math.min(this.deps.retryMaxMs ?? 60_000, base * 2 ** Math.min(pool.failures - 1, 16));
        pool.retryAt = Date.now() + delay;
        this.deps.metrics.warmPoolFailures.labels(pool.name).inc();
        this.log.warn({ kernelspec: pool.name, err: (err as Error).message, retry_ms: delay }, 'pooled session failed to start');
        this.updateGauge();
        return;
      }
      pool.starting = undefined;
      const kernel = slot.kernel;
      if (this.stopped) {
        await kernel.shutdown('gateway_stop');
        return;
      }
      pool.failures = 0;
      pool.retryAt = 0;
      pool.ready.push(kernel);
      this.members.add(kernel);
      // A pooled session that dies is dropped (its cleanup has run) and replaced.
      kernel.on('state', (_before, after) => {
        if (after !== 'dead' || !this.members.has(kernel)) return;
        this.members.delete(kernel);
        const at = pool.ready.indexOf(kernel);
        if (at >= 0) pool.ready.splice(at, 1);
        this.log.warn({ kernel_id: kernel.id, kernelspec: pool.name }, 'pooled session died; replacing it');
        void kernel.shutdown('crashed');
        this.updateGauge();
        this.kick();
      });
      this.log.debug({ kernel_id: kernel.id, kernelspec: pool.name }, 'pooled session ready');
      this.updateGauge();
    })();
    return slot.done;
  }

  private scheduleRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const waiting = [...this.pools.values()].filter((p) => p.ready.length + (p.starting ? 1 : 0) < p.target);
    if (waiting.length === 0) return;
    const at = Math.min(...waiting.map((p) => p.retryAt));
    this.retryTimer = setTimeout(() => this.kick(), Math.max(0, at - Date.now()));
    this.retryTimer.unref();
  }

  private updateGauge(): void {
    for (const pool of this.pools.values()) {
      this.deps.metrics.warmPoolKernels.labels(pool.name, 'ready').set(pool.ready.length);
      this.deps.metrics.warmPoolKernels.labels(pool.name, 'starting').set(pool.starting ? 1 : 0);
      this.deps.metrics.warmPoolKernels.labels(pool.name, 'target').set(this.stopped ? 0 : pool.target);
    }
  }
}
