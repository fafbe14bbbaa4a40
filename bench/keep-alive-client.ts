/**
 * One keep-alive HTTP connection to one server, for timing small authenticated GETs (the users
 * phase): node:http with an Agent of one socket, so every request after the first reuses the
 * same TCP connection and a sample is the request's own cost (auth, routing, the answer), not a
 * connect. Node's http client sets TCP_NODELAY; the body is read to its end before the clock
 * stops. Each request waits within a deadline of the caller's scope.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';

export class KeepAliveClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly headers: http.OutgoingHttpHeaders;

  constructor(
    /** http://host:port of the server. */
    private readonly baseUrl: string,
    token: string,
    /** Named in deadline errors: "sparkgate users file". */
    readonly label: string,
  ) {
    this.headers = { authorization: `token ${token}`, accept: 'application/json' };
  }

  /** GET `pathname` until its body's end, in ms; a non-2xx answer is an error with its status. */
  get(scope: DeadlineScope, pathname: string): Promise<number> {
    return scope.wait(
      (inner) =>
        new Promise<number>((resolve, reject) => {
          const started = performance.now();
          const req = http.request(`${this.baseUrl}${pathname}`, { agent: this.agent, headers: this.headers, signal: inner.signal }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const ms = performance.now() - started;
              const status = res.statusCode ?? 0;
              if (status >= 200 && status < 300) resolve(ms);
              else reject(new Error(`${this.label}: GET ${pathname} -> HTTP ${status} ${Buffer.concat(chunks).toString().slice(0, 300)}`));
            });
          });
          req.on('error', reject);
          req.end();
        }),
      WAIT_MS.http,
      () => `${this.label}: GET ${pathname}`,
    );
  }

  /** `n` GETs one after the other; their times in ms. */
  async samples(scope: DeadlineScope, pathname: string, n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await this.get(scope, pathname));
    return out;
  }

  close(): void {
    this.agent.destroy();
  }
}
