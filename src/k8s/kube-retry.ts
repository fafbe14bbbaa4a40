/**
 * Retrying one Kubernetes call: 429 waits the server's Retry-After, 5xx and cut connections
 * back off exponentially (capped); anything else (403, 404, 422...) is thrown at once.
 */
import { Backoff, type BackoffOptions } from './backoff.js';
import { sleep, type Clock } from './clock.js';
import { describeKubeError, isRetryable, KubeDeadlineError, retryAfterMs } from './kube-errors.js';

export interface RetryOptions {
  readonly clock: Clock;
  readonly backoff?: BackoffOptions;
  /** Absolute time on `clock` after which no new attempt starts. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** What is being attempted, for the deadline error ("delete pods in namespace x"). */
  readonly what: string;
  readonly onRetry?: (info: { error: unknown; delayMs: number; attempt: number }) => void;
}

export class KubeAbortedError extends Error {
  constructor(what: string) {
    super(`${what}: aborted`);
    this.name = 'KubeAbortedError';
  }
}

export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = new Backoff(options.backoff);
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw new KubeAbortedError(options.what);
    try {
      return await operation();
    } catch (error) {
      if (!isRetryable(error)) throw error;
      const serverDelay = retryAfterMs(error, options.clock.now());
      const computed = backoff.next();
      const delayMs = serverDelay ?? computed;
      if (options.deadline !== undefined && options.clock.now() + delayMs > options.deadline) {
        throw new KubeDeadlineError(
          `${options.what}: gave up after ${attempt} attempt(s), deadline reached; last error ${describeKubeError(error)}`,
          { cause: error },
        );
      }
      options.onRetry?.({ error, delayMs, attempt });
      if (!(await sleep(options.clock, delayMs, options.signal))) throw new KubeAbortedError(options.what);
    }
  }
}
