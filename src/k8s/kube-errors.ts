/**
 * Reading errors from @kubernetes/client-node 1.4 without depending on its classes:
 * - API calls throw `ApiException` with `code` (HTTP status), `body` (the Status JSON as a
 *   string) and `headers` (lower-case names, e.g. `retry-after`);
 * - `Watch` reports a non-200 answer as an Error with `statusCode`, a cut connection as
 *   node-fetch's `FetchError` / "Premature close" (code ERR_STREAM_PREMATURE_CLOSE);
 * - a Status in a watch stream (`ERROR` event) becomes a KubeStatusError here.
 * Kubernetes Status objects: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/
 */

export interface StatusSummary {
  readonly code: number | undefined;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly retryAfterSeconds: number | undefined;
}

/** A Status that arrived as a watch ERROR event. */
export class KubeStatusError extends Error {
  readonly code: number | undefined;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(status: unknown) {
    const s = summarize(status);
    super(`Kubernetes watch error: ${s.code ?? '?'} ${s.reason ?? ''} ${s.message ?? ''}`.trim());
    this.name = 'KubeStatusError';
    this.code = s.code;
    this.reason = s.reason;
    this.retryAfterSeconds = s.retryAfterSeconds;
  }
}

/** An operation gave up because its deadline passed; `cause` is the last failure, if any. */
export class KubeDeadlineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeDeadlineError';
  }
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
}

function summarize(status: unknown): StatusSummary {
  const s = record(status);
  const details = record(s?.['details']);
  const retry = details?.['retryAfterSeconds'];
  return {
    code: typeof s?.['code'] === 'number' ? s['code'] : undefined,
    reason: typeof s?.['reason'] === 'string' ? s['reason'] : undefined,
    message: typeof s?.['message'] === 'string' ? s['message'] : undefined,
    retryAfterSeconds: typeof retry === 'number' ? retry : undefined,
  };
}

/** The Status body of a failed call, when there is one. */
export function kubeStatusOf(err: unknown): StatusSummary | undefined {
  const e = record(err);
  if (!e) return undefined;
  if (err instanceof KubeStatusError) {
    return { code: err.code, reason: err.reason, message: err.message, retryAfterSeconds: err.retryAfterSeconds };
  }
  let body = e['body'];
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  const b = record(body);
  return b && b['kind'] === 'Status' ? summarize(b) : undefined;
}

export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof KubeStatusError) return err.code;
  const e = record(err);
  if (!e) return undefined;
  if (typeof e['statusCode'] === 'number') return e['statusCode'];
  // ApiException: numeric `code` next to `body`/`headers` (node errors use string codes).
  if (typeof e['code'] === 'number') return e['code'];
  return undefined;
}

/** Retry-After (seconds or HTTP date) in ms, from the header or the Status details. */
export function retryAfterMs(err: unknown, nowMs: number = Date.now()): number | undefined {
  const headers = record(record(err)?.['headers']);
  const header = headers?.['retry-after'];
  if (typeof header === 'string' && header.trim() !== '') {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  }
  const fromStatus = kubeStatusOf(err)?.retryAfterSeconds;
  return fromStatus === undefined ? undefined : fromStatus * 1000;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

export function isNetworkError(err: unknown): boolean {
  const e = record(err);
  if (!e) return false;
  if (e['name'] === 'AbortError') return false;
  if (e['name'] === 'FetchError' && e['type'] !== 'aborted') return true;
  const code = e['code'] ?? e['errno'];
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return isNetworkError(e['cause']) || (typeof e['message'] === 'string' && /premature close|socket hang up/i.test(e['message']));
}

/** Worth trying again: throttled (429), server-side trouble (5xx) or a cut connection. */
export function isRetryable(err: unknown): boolean {
  const code = httpStatusOf(err);
  if (code !== undefined) return code === 429 || (code >= 500 && code <= 599);
  return isNetworkError(err);
}

export const isNotFound = (err: unknown): boolean => httpStatusOf(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatusOf(err) === 409;
export const isExpired = (err: unknown): boolean => httpStatusOf(err) === 410;

/** One line for logs and wrapped errors: status, reason and the apiserver's message; no stack, no headers. */
export function describeKubeError(err: unknown): string {
  const status = kubeStatusOf(err);
  const code = httpStatusOf(err);
  if (status !== undefined || code !== undefined) {
    const reason = status?.reason ? ` ${status.reason}` : '';
    const message = status?.message ? `: ${status.message}` : '';
    return `HTTP ${code ?? status?.code ?? '?'}${reason}${message}`;
  }
  const e = record(err);
  const name = typeof e?.['name'] === 'string' ? e['name'] : 'Error';
  const code2 = typeof e?.['code'] === 'string' ? ` (${e['code']})` : '';
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return `${name}${code2}: ${message}`;
}
