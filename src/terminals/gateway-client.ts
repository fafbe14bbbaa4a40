/**
 * The little REST client `sparkgate shell` and `sparkgate sessions` share: where the gateway is
 * (flags, then SPARKGATE_URL / SPARKGATE_TOKEN, then http://127.0.0.1:8888) and fetch with the
 * token header. Errors come back as the gateway's `{message, reason}`.
 */
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8888';

export interface GatewayTarget {
  url: string;
  token: string;
}

export function resolveTarget(flags: { url?: string | undefined; token?: string | undefined }, env: NodeJS.ProcessEnv): GatewayTarget {
  const raw = flags.url ?? env['SPARKGATE_URL'] ?? DEFAULT_GATEWAY_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`--url must be an http(s) URL, e.g. ${DEFAULT_GATEWAY_URL} (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--url must be an http(s) URL, e.g. ${DEFAULT_GATEWAY_URL} (got ${JSON.stringify(raw)})`);
  }
  return { url: url.toString().replace(/\/+$/, ''), token: flags.token ?? env['SPARKGATE_TOKEN'] ?? '' };
}

export function wsUrl(target: GatewayTarget, route: string): string {
  return target.url.replace(/^http/, 'ws') + route;
}

export function authHeaders(target: GatewayTarget): Record<string, string> {
  return target.token ? { authorization: `token ${target.token}` } : {};
}

/** A message for the user; printed without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export async function apiRequest<T>(target: GatewayTarget, route: string, init: { method?: string; body?: unknown; timeoutMs?: number } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(target.url + route, {
      method: init.method ?? 'GET',
      headers: { ...authHeaders(target), 'content-type': 'application/json' },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`cannot reach the gateway at ${target.url} (${cause}); set --url or SPARKGATE_URL`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      const body = JSON.parse(text) as { message?: unknown };
      if (typeof body.message === 'string') message = body.message;
    } catch {
      // not JSON
    }
    if (res.status === 401) message += '; set --token or SPARKGATE_TOKEN';
    throw new CliError(`${init.method ?? 'GET'} ${route}: ${res.status} ${message}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}
