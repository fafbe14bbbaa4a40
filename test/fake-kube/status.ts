/**
 * Kubernetes `Status` objects, the body of every API error
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#api-verbs and
 * apimachinery `metav1.Status`). Messages follow the real apiserver's wording so code that
 * logs them reads the same against FakeKube and a cluster.
 */

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: { name?: string; kind?: string; retryAfterSeconds?: number; uid?: string };
  code: number;
}

/** Thrown inside FakeKube handlers; the router turns it into an HTTP response. */
export class StatusError extends Error {
  constructor(
    readonly status: KubeStatus,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(status.message);
    this.name = 'StatusError';
  }
}

const REASON_BY_CODE: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function makeStatus(code: number, message: string, reason?: string, details?: KubeStatus['details']): KubeStatus {
  const status: KubeStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: reason ?? REASON_BY_CODE[code] ?? 'Unknown',
    code,
  };
  if (details) status.details = details;
  return status;
}

export const statusErrors = {
  notFound: (resource: string, name: string) =>
    new StatusError(makeStatus(404, `${resource} "${name}" not found`, 'NotFound', { name, kind: resource })),
  noRoute: () => new StatusError(makeStatus(404, 'the server could not find the requested resource', 'NotFound')),
  alreadyExists: (resource: string, name: string) =>
    new StatusError(makeStatus(409, `${resource} "${name}" already exists`, 'AlreadyExists', { name, kind: resource })),
  conflict: (resource: string, name: string, why: string) =>
    new StatusError(
      makeStatus(409, `Operation cannot be fulfilled on ${resource} "${name}": ${why}`, 'Conflict', { name, kind: resource }),
    ),
  badRequest: (message: string) => new StatusError(makeStatus(400, message, 'BadRequest')),
  invalid: (kind: string, name: string, message: string) =>
    new StatusError(makeStatus(422, `${kind} "${name}" is invalid: ${message}`, 'Invalid', { name, kind })),
  methodNotAllowed: (method: string) =>
    new StatusError(makeStatus(405, `the server does not allow this method on the requested resource: ${method}`)),
  unsupportedMediaType: (type: string) =>
    new StatusError(makeStatus(415, `the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json; got ${type}`)),
  /** What a watch from a compacted resourceVersion gets (as an ERROR event or HTTP 410). */
  expired: (requested: number, oldest: number) =>
    makeStatus(410, `too old resource version: ${requested} (${oldest})`, 'Expired'),
  /** An injected fault: 429 carries Retry-After like the apiserver's priority-and-fairness. */
  injected: (code: number, message: string | undefined, retryAfterSeconds: number | undefined) => {
    const details = retryAfterSeconds === undefined ? undefined : { retryAfterSeconds };
    const text =
      message ??
      (code === 429 ? 'Too many requests, please try again later.' : `injected fault: HTTP ${code}`);
    const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) };
    return new StatusError(makeStatus(code, text, undefined, details), headers);
  },
} as const;
