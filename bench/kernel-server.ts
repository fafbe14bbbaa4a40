/**
 * A kernel server the bench drives over HTTP and websockets: Jupyter Server or sparkgate, each a
 * separate process, driven through the same REST calls and the same websocket client.
 */
import type { WsProtocol } from '../src/wire/ws-codec.js';
import { rssKiB, stopTracked, type Tracked } from './processes.js';
import { BenchKernelClient } from './ws-kernel-client.js';

export class KernelServer {
  constructor(
    readonly label: string,
    readonly url: string,
    readonly token: string,
    private readonly proc: Tracked,
    /** Force a full GC in the server process (Node only), before reading a settled RSS. */
    readonly collectGarbage?: () => Promise<void>,
  ) {}

  get pid(): number {
    return this.proc.child.pid!;
  }

  rssKiB(): number {
    return rssKiB(this.pid);
  }

  private headers(): Record<string, string> {
    return { authorization: `token ${this.token}`, 'content-type': 'application/json' };
  }

  async fetchOk(pathname: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(`${this.url}${pathname}`, { ...init, headers: this.headers() });
    if (!res.ok) throw new Error(`${this.label}: ${init.method ?? 'GET'} ${pathname} -> HTTP ${res.status} ${await res.text()}`);
    return res;
  }

  async startKernel(name: string): Promise<string> {
    const res = await this.fetchOk('/api/kernels', { method: 'POST', body: JSON.stringify({ name }) });
    return ((await res.json()) as { id: string }).id;
  }

  async deleteKernel(id: string): Promise<void> {
    await this.fetchOk(`/api/kernels/${id}`, { method: 'DELETE' });
  }

  async listKernels(): Promise<string[]> {
    const res = await this.fetchOk('/api/kernels');
    return ((await res.json()) as { id: string }[]).map((k) => k.id);
  }

  connect(kernelId: string, protocol: WsProtocol = 'v1'): Promise<BenchKernelClient> {
    return BenchKernelClient.connect({ url: this.url, kernelId, token: this.token, protocol });
  }

  /** SIGTERM (each server then shuts its kernels down), SIGKILL of the tree after a grace period. */
  stop(): Promise<void> {
    return stopTracked(this.proc, 15_000);
  }
}

/** Poll until `check` resolves true. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
