/**
 * Reads one executor container's log through the API server into its ring on disk, until the
 * container's log is complete or the pod is gone:
 *
 *   open (follow while the pod runs; a plain read once it has terminated)
 *     | 200: lines -> drop those the cursor already kept -> append, advance the cursor
 *     |
 *     +-- clean end, pod terminated ----------------> one plain read from the cursor, then done
 *     +-- clean end, pod running (server timeout) --> reopen from the cursor (backoff if nothing came)
 *     +-- error (cut stream, 5xx, 429, 403...) -----> drop the partial line, wait (Retry-After or
 *     |                                               capped backoff, reset after progress), reopen
 *     +-- pod gone (404 or the informer says so) ---> done
 *
 * Resuming uses `sinceTime` plus the cursor (log-cursor.ts), so a cut stream neither repeats
 * nor loses lines.
 */
import type { BoundedLogFile } from '../logs/bounded-log-file.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { sleep, type Clock } from './clock.js';
import { httpStatusOf, retryAfterMs } from './kube-errors.js';
import { LineSplitter, LogDeduper, sinceTimeOf, type LogCursorState } from './log-cursor.js';
import type { PodLogFn } from './pod-log-stream.js';

/** What the informer says about the pod now. */
export type FollowedPodState = 'running' | 'terminated' | 'gone';

export interface ExecutorLogTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string | undefined;
}

export interface FollowExecutorLogOptions {
  readonly podLog: PodLogFn;
  readonly target: ExecutorLogTarget;
  readonly file: BoundedLogFile;
  /** Where a previous run stopped (null: from the start). */
  readonly cursor: LogCursorState | null;
  readonly state: () => FollowedPodState;
  readonly clock: Clock;
  readonly backoff?: BackoffOptions | undefined;
  readonly signal: AbortSignal;
  /** After every append (persist the cursor). */
  readonly onProgress?: (cursor: LogCursorState | null) => void;
  /** A request failed; retried after retryInMs. */
  readonly onFailure?: (info: { error: unknown; retryInMs: number }) => void;
}

export interface FollowResult {
  /** The container ended and its log was read to the end. */
  readonly complete: boolean;
  readonly cursor: LogCursorState | null;
}

export async function followExecutorLog(options: FollowExecutorLogOptions): Promise<FollowResult> {
  const { target, file, signal, clock } = options;
  const dedupe = new LogDeduper(options.cursor);
  const backoff = new Backoff(options.backoff);
  const result = (complete: boolean): FollowResult => ({ complete, cursor: dedupe.state });

  while (!signal.aborted) {
    const state = options.state();
    if (state === 'gone') return result(false);
    const follow = state === 'running';
    const cursor = dedupe.state;
    const splitter = new LineSplitter();
    dedupe.restart();
    let progressed = false;
    const keep = async (lines: string[]) => {
      const kept: string[] = [];
      for (const line of lines) {
        const text = dedupe.accept(line);
        if (text !== undefined) kept.push(text);
      }
      if (kept.length === 0) return;
      await file.append(`${kept.join('\n')}\n`);
      progressed = true;
      options.onProgress?.(dedupe.state);
    };
    try {
      const stream = await options.podLog(
        {
          namespace: target.namespace,
          pod: target.pod,
          container: target.container,
          follow,
          timestamps: true,
          sinceTime: cursor ? sinceTimeOf(cursor) : undefined,
        },
        signal,
      );
      for await (const chunk of stream) await keep(splitter.push(chunk as Buffer));
      // A clean end delivered everything so far: a last line without '\n' is a real line.
      const last = splitter.flush();
      if (last !== undefined) await keep([last]);
      if (!follow) return result(true);
      if (progressed) backoff.reset();
      else if (!(await sleep(clock, backoff.next(), signal))) break;
    } catch (error) {
      if (signal.aborted) break;
      // The partial line after the last newline comes again on the next request.
      splitter.discard();
      if (httpStatusOf(error) === 404 && options.state() === 'gone') return result(false);
      if (progressed) backoff.reset();
      const retryInMs = retryAfterMs(error, clock.now()) ?? backoff.next();
      options.onFailure?.({ error, retryInMs });
      if (!(await sleep(clock, retryInMs, signal))) break;
    }
  }
  return result(false);
}
