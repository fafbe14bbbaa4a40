/**
 * Force a full garbage collection in a running Node process from outside, so its RSS is read
 * "GC-settled": SIGUSR1 opens Node's inspector (on the port given by --inspect-port at spawn),
 * and the DevTools protocol's `HeapProfiler.collectGarbage` runs a full GC.
 * https://nodejs.org/api/debugger.html#advanced-usage, https://chromedevtools.github.io/devtools-protocol/tot/HeapProfiler/
 * Every step waits within a deadline (WAIT_MS.inspector): an inspector that never answers fails
 * the memory phase instead of stalling it.
 */
import type WebSocket from 'ws';
import { WAIT_MS } from './budgets.js';
import { DeadlineScope } from './deadline.js';
import { fetchText, openWebSocket } from './waits.js';

/** `scope`: the caller's phase; without one (the soak tests) the deadlines are unscaled. */
export async function collectGarbage(pid: number, inspectPort: number, scope: DeadlineScope = new DeadlineScope({ phase: 'collectGarbage' })): Promise<void> {
  process.kill(pid, 'SIGUSR1'); // no-op when the inspector is already open
  let wsUrl = '';
  await scope.poll(
    async (inner) => {
      // Refused until the inspector listens: not yet.
      const list = await fetchText(inner, `http://127.0.0.1:${inspectPort}/json/list`, {}, { baseMs: 5_000 }).catch(() => '[]');
      wsUrl = (JSON.parse(list) as { webSocketDebuggerUrl?: string }[])[0]?.webSocketDebuggerUrl ?? '';
      return wsUrl !== '';
    },
    WAIT_MS.inspector,
    `the inspector of process ${pid} to list its target`,
  );
  const ws: WebSocket = await openWebSocket(scope, wsUrl, [], {}, { baseMs: WAIT_MS.inspector, what: `the inspector websocket of process ${pid} to open` });
  try {
    for (let id = 1; id <= 2; id++) {
      const collected = new Promise<void>((resolve) => {
        const onMessage = (data: Buffer): void => {
          if ((JSON.parse(data.toString()) as { id?: number }).id === id) {
            ws.off('message', onMessage);
            resolve();
          }
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
      await scope.wait(collected, WAIT_MS.inspector, `HeapProfiler.collectGarbage #${id} in process ${pid}`);
    }
  } finally {
    ws.close();
  }
}
