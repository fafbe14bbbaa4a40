/**
 * Capped exponential backoff with jitter, reset by the caller when things work again (as
 * client-go's reflector and client-node's informer do: back off on failures, reset on events).
 */

export interface BackoffOptions {
  /** First delay (default 250 ms). */
  initialMs?: number;
  /** Cap (default 30 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** ± fraction of randomness so many gateways do not retry in lockstep (default 0.2; 0 in tests). */
  jitter?: number;
  /** Injected randomness in [0, 1) (default Math.random). */
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 250;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
    this.jitter = options.jitter ?? 0.2;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs) || !(this.factor >= 1) || !(this.jitter >= 0 && this.jitter < 1)) {
      throw new RangeError(
        `invalid backoff: need 0 < initialMs <= maxMs, factor >= 1, 0 <= jitter < 1 (got ${JSON.stringify(options)})`,
      );
    }
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next try; grows until `maxMs`. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt += 1;
    const spread = base * this.jitter * (2 * this.random() - 1);
    return Math.round(Math.min(this.maxMs, Math.max(0, base + spread)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
