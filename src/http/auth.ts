/**
 * Token authentication for every route but the probes: `Authorization: token <T>` (Jupyter's
 * scheme), `Authorization: Bearer <T>` (Prometheus, kubectl-style clients) or `?token=<T>`
 * (browsers' websockets cannot set headers). Compared in constant time; never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class TokenAuth {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (!token) throw new Error('TokenAuth needs a non-empty token');
    this.expected = digest(token);
  }

  /** Constant time in the token's length too: both sides are hashed first. */
  check(presented: string | undefined): boolean {
    if (presented === undefined || presented.length === 0 || presented.length > 4096) return false;
    return timingSafeEqual(digest(presented), this.expected);
  }

  /** The token a request presents, from its Authorization header or its query string. */
  static presented(authorization: string | undefined, url: string): string | undefined {
    if (authorization) {
      const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization);
      if (match) return match[1];
    }
    const q = url.indexOf('?');
    if (q < 0) return undefined;
    return new URLSearchParams(url.slice(q + 1)).get('token') ?? undefined;
  }
}
