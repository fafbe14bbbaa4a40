/**
 * Where a request's token is: `Authorization: token <T>` (Jupyter's scheme), `Authorization:
 * Bearer <T>` (Prometheus, kubectl-style clients) or `?token=<T>` (browsers' websockets cannot
 * set headers). Whose token it is, the user directory decides (src/users/users.ts: constant time
 * for the shared token, digests for users, the Hub for JupyterHub tokens). Never logged.
 */
export const TokenAuth = {
  /** The token a request presents, from its Authorization header or its query string. */
  presented(authorization: string | undefined, url: string): string | undefined {
    if (authorization) {
      const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization);
      if (match) return match[1];
    }
    const q = url.indexOf('?');
    if (q < 0) return undefined;
    return new URLSearchParams(url.slice(q + 1)).get('token') ?? undefined;
  },
};
