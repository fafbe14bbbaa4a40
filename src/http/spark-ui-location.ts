/**
 * Keeps the Spark UI's redirects under the gateway's proxy prefix. Pure: no I/O.
 *
 * `spark.ui.proxyBase` makes the UI prefix the links in its pages, but not its redirects
 * (measured on Spark 4.3): `/` answers `302 Location: http://<Host>/jobs/` (absolute, built from
 * the Host header the proxy sent, i.e. the UI's own address) and Jetty answers `/jobs` with
 * `301 Location: /jobs/`. Followed as is, both leave `/api/sparkgate/sessions/{id}/ui/`.
 *
 * A Location on the UI's own origin (or relative to the request) is mapped under the prefix,
 * unless it already is (a redirect the UI built with proxyBase). Anything else is a redirect out
 * of the session's UI, which the gateway does not relay (notebook code owns the driver, and an
 * open redirect on the gateway's origin would be a phishing aid): the caller gets `null`.
 */

export interface UiLocationContext {
  /** The URL the proxy requested upstream, e.g. `http://127.0.0.1:4040/jobs`. */
  upstreamUrl: string;
  /** The session's proxy prefix without trailing slash, `/api/sparkgate/sessions/{id}/ui`. */
  prefix: string;
}

/** The Location the client should see, or `null` when it points outside the session's UI. */
export function rewriteUiLocation(location: string, { upstreamUrl, prefix }: UiLocationContext): string | null {
  let target: URL;
  let upstream: URL;
  try {
    upstream = new URL(upstreamUrl);
    target = new URL(location, upstream);
  } catch {
    return null;
  }
  if (target.origin !== upstream.origin) return null;
  const path = target.pathname === prefix || target.pathname.startsWith(`${prefix}/`) ? target.pathname : `${prefix}${target.pathname}`;
  return `${path}${target.search}${target.hash}`;
}
