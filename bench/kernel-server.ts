/**
 * A kernel server the bench drives over HTTP and websockets: Jupyter Server 2, Enterprise Gateway
 * or sparkgate, each a
 * separate process, driven through the same REST calls and the same websocket client. Every
 * call waits within a deadline of the caller's scope.
 */
import type { WsProtocol } from '../src/wire/ws-codec.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { rssKiB, stopTracked, type Tracked } from './processes.js';
import { fetchText } from './waits.js';
import { BenchKernelClient } from './ws-kernel-client.js';

export class KernelServer {
  constructor(
    readonly label: string,
    readonly url: string,
    readonly token: string,
    private readonly proc: Tracked,
    /** Force a full GC in the server process (Node only), before reading a settled RSS. */
    readonly collectGarbage?: (scope: DeadlineScope) => Promise<void>,
    /** The last few KB the server wrote to stderr, for the log when a phase on it failed. */
    readonly stderrTail?: () => string,
  ) {}

  get pid(): number {
    return this.proc.child.pid!;
  }

  rssKiB(): number {
    return rssKiB(this.pid);
  }

  /** The body of a 2xx response, within `baseMs` (default WAIT_MS.http). */
  fetchText(scope: DeadlineScope, pathname: string, init: RequestInit = {}, baseMs: number = WAIT_MS.http): Promise<string> {
    const headers = { authorization: `token ${this.token}`, 'content-type': 'application/json' };
    return fetchText(scope, `${this.url}${pathname}`, { ...init, headers }, { baseMs, what: `${this.label}: ${init.method ?? 'GET'} ${pathname}` });
  }

  async startKernel(scope: DeadlineScope, name: string, baseMs: number = WAIT_MS.kernelStart): Promise<string> {
    const body = await this.fetchText(scope, '/api/kernels', { method: 'POST', body: JSON.stringify({ name }) }, baseMs);
    return (JSON.parse(body) as { id: string }).id;
  }

  async deleteKernel(scope: DeadlineScope, id: string, baseMs: number = WAIT_MS.http): Promise<void> {
    await this.fetchText(scope, `/api/kernels/${id}`, { method: 'DELETE' }, baseMs);
  }

  async listKernels(scope: DeadlineScope): Promise<string[]> {
    return (JSON.parse(await this.fetchText(scope, '/api/kernels')) as { id: string }[]).map((k) => k.id);
  }

  connect(scope: DeadlineScope, kernelId: string, protocol: WsProtocol = 'v1'): Promise<BenchKernelClient> {
    return BenchKernelClient.connect(scope, { url: this.url, kernelId, token: this.token, protocol, serverLabel: this.label });
  }

  /** SIGTERM (each server then shuts its kernels down), SIGKILL of the tree after a grace period. */
  stop(): Promise<void> {
    return stopTracked(this.proc, 15_000);
  }
}
