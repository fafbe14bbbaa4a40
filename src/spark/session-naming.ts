/**
 * Names derived from a session id (a UUID: Jupyter Server's routes accept only UUID-shaped
 * kernel ids). Kept here so the conf renderer, the UI proxy route and the reaper agree.
 */
import { errors } from '../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isSessionId = (id: string): boolean => UUID.test(id);

export function assertSessionId(id: string): void {
  if (!isSessionId(id)) {
    throw errors.badRequest('Session ids must be UUIDs, e.g. "0b6a1f8e-3c1d-4e5f-9a7b-2c3d4e5f6a7b"');
  }
}

/**
 * `spark.kubernetes.executor.podNamePrefix`: "sg-" + the first 8 hex digits, e.g. "sg-0b6a1f8e".
 * Executor pods are then "sg-0b6a1f8e-exec-<n>". Spark requires a DNS-1123 label of at most 47
 * characters (63 - "-exec-" - 10 digits of id).
 */
export function executorPodNamePrefix(sessionId: string): string {
  assertSessionId(sessionId);
  return `sg-${sessionId.slice(0, 8).toLowerCase()}`;
}

/**
 * `spark.app.id` of a session: "sparkgate-" + the session id (46 characters, a valid label
 * value). Spark labels what it creates per application only with `spark-app-selector=<app id>`
 * (the executor ConfigMap, on-demand PVCs), so a known app id lets the gateway find and collect
 * those too, and a restarted gateway map them back to a session (`sessionIdOfAppId`). A session
 * restart reuses the id: the old SparkContext's objects are collected before the new one starts.
 */
export function sparkAppId(sessionId: string): string {
  assertSessionId(sessionId);
  return `${APP_ID_PREFIX}${sessionId.toLowerCase()}`;
}

const APP_ID_PREFIX = 'sparkgate-';

/** The session id inside a sparkgate app id, or undefined for any other Spark application. */
export function sessionIdOfAppId(appId: string): string | undefined {
  if (!appId.startsWith(APP_ID_PREFIX)) return undefined;
  const id = appId.slice(APP_ID_PREFIX.length);
  return isSessionId(id) ? id : undefined;
}

/** Path under which the gateway proxies a session's Spark UI. */
export const SPARK_UI_PROXY_ROOT = '/api/sparkgate/sessions';

/** `spark.ui.proxyBase`: the UI prefixes every link with it, so it works behind our proxy. */
export function sparkUiProxyBase(sessionId: string): string {
  assertSessionId(sessionId);
  return `${SPARK_UI_PROXY_ROOT}/${sessionId}/ui`;
}
