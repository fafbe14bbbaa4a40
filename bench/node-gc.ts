/**
 * Force a full garbage collection in a running Node process from outside, so its RSS is read
 * "GC-settled": SIGUSR1 opens Node's inspector (on the port given by --inspect-port at spawn),
 * and the DevTools protocol's `HeapProfiler.collectGarbage` runs a full GC.
 * https://nodejs.org/api/debugger.html#advanced-usage, https://chromedevtools.github.io/devtools-protocol/tot/HeapProfiler/
 */
import WebSocket from 'ws';
import { waitFor } from './kernel-server.js';

export async function collectGarbage(pid: number, inspectPort: number): Promise<void> {
  process.kill(pid, 'SIGUSR1'); // no-op when the inspector is already open
  let wsUrl = '';
  await waitFor(
    'the inspector of the sparkgate process',
    async () => {
      const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl?: string }[];
      wsUrl = targets[0]?.webSocketDebuggerUrl ?? '';
      return wsUrl !== '';
    },
    10_000,
  );
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    for (let id = 1; id <= 2; id++) {
      await new Promise<void>((resolve) => {
        const onMessage = (data: Buffer): void => {
          if ((JSON.parse(data.toString()) as { id?: number }).id === id) {
            ws.off('message', onMessage);
            resolve();
          }
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
    }
  } finally {
    ws.close();
  }
}
