/**
 * A gateway Spark session as the Spark rows drive it: `POST /api/kernels {name}`, the kernel
 * websocket (v1), then `spark.range(1000).count()` until its execute_reply and status idle, with
 * the answer checked (`1000`, status ok). Timed from the POST: that is what a notebook user waits
 * for between "new pyspark notebook" and a first result.
 */
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import type { KernelServer } from './kernel-server.js';
import { SPARK_COUNT_CELL, SPARK_COUNT_RESULT } from './pyspark-repl.js';
import type { BenchKernelClient } from './ws-kernel-client.js';

export interface SparkSession {
  readonly id: string;
  readonly client: BenchKernelClient;
  /** POST /api/kernels until the count's reply and idle. */
  readonly toCountMs: number;
  /** Close the websocket and DELETE the kernel (the gateway stops the driver). */
  close(): Promise<void>;
}

/** Start `kernelspec` and run the count cell on it; a session that fails is deleted, not left running. */
export async function openSparkSession(scope: DeadlineScope, server: KernelServer, kernelspec = 'pyspark'): Promise<SparkSession> {
  const t0 = performance.now();
  const id = await server.startKernel(scope, kernelspec, WAIT_MS.sparkStart);
  let client: BenchKernelClient | undefined;
  try {
    client = await server.connect(scope, id, 'v1');
    const what = (): string => `execute_reply + status idle of \`${SPARK_COUNT_CELL}\` from ${client!.label} (${kernelspec} kernel ${id})`;
    const r = await scope.wait(client.executeForResult(SPARK_COUNT_CELL), WAIT_MS.sparkStart, what);
    if (r.status !== 'ok' || r.result !== SPARK_COUNT_RESULT) {
      throw new Error(`\`${SPARK_COUNT_CELL}\` on ${kernelspec} gave status ${r.status ?? '?'}, result ${JSON.stringify(r.result)}${r.error ? `, ${r.error}` : ''}`);
    }
  } catch (err) {
    client?.close();
    await server.deleteKernel(scope, id, WAIT_MS.sparkStop).catch(() => undefined);
    throw err;
  }
  const toCountMs = performance.now() - t0;
  const opened = client;
  return {
    id,
    client: opened,
    toCountMs,
    close: async () => {
      opened.close();
      await server.deleteKernel(scope, id, WAIT_MS.sparkStop);
    },
  };
}
