/**
 * A full GC and the V8 heap in use of the gateway process, read from outside through Node's
 * inspector: SIGUSR1 opens it on the port given by `--inspect-port` at spawn (a no-op once open),
 * then the DevTools protocol's `HeapProfiler.collectGarbage` and `Runtime.getHeapUsage`.
 * https://nodejs.org/api/debugger.html#advanced-usage
 * https://chromedevtools.github.io/devtools-protocol/v8/HeapProfiler/
 */
import WebSocket from 'ws';

export class GatewayInspector {
  constructor(
    private readonly pid: number,
    private readonly port: number,
  ) {}

  /** Two full GCs (the second collects what the first's finalizers released), then the heap in use. */
  async settleHeap(): Promise<{ heapUsedBytes: number }> {
    const ws = await this.open();
    try {
      await call(ws, 1, 'HeapProfiler.collectGarbage');
      await call(ws, 2, 'HeapProfiler.collectGarbage');
      const usage = (await call(ws, 3, 'Runtime.getHeapUsage')) as { usedSize: number };
      return { heapUsedBytes: usage.usedSize };
    } finally {
      ws.close();
    }
  }

  private async open(): Promise<WebSocket> {
    process.kill(this.pid, 'SIGUSR1');
    const deadline = Date.now() + 10_000;
    let wsUrl = '';
    while (!wsUrl) {
      try {
        const targets = (await (await fetch(`http://127.0.0.1:${this.port}/json/list`)).json()) as { webSocketDebuggerUrl?: string }[];
        wsUrl = targets[0]?.webSocketDebuggerUrl ?? '';
      } catch {
        /* not listening yet */
      }
      if (!wsUrl && Date.now() > deadline) throw new Error(`the gateway's inspector did not open on port ${this.port}`);
      if (!wsUrl) await new Promise((r) => setTimeout(r, 50));
    }
    const ws = new WebSocket(wsUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return ws;
  }
}

function call(ws: WebSocket, id: number, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method}`)), 30_000);
    const onMessage = (data: Buffer): void => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id !== id) return;
      ws.off('message', onMessage);
      clearTimeout(timer);
      if (msg.error) reject(new Error(`inspector ${method}: ${msg.error.message}`));
      else resolve(msg.result);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, method }));
  });
}
