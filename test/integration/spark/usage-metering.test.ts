/**
 * Usage metering on a real gateway with a real pyspark session (local[*]): the UsageExtension in
 * the gateway's extension list records the session's header, counts Spark jobs from the driver's
 * REST API when the kernel goes idle (checked against the same API through the UI proxy), bills
 * driver core- and memory-seconds for exactly the registry's live time, and serves it all at
 * GET /api/sparkgate/usage; after the gateway stops the figures are still in the store.
 */
import path from 'node:path';
import { KernelManager } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../../../src/gateway.js';
import { GatewayMetrics } from '../../../src/metrics.js';
import { UsageExtension } from '../../../src/usage/usage-extension.js';
import { UsageStore } from '../../../src/usage/usage-store.js';
import { api, serveTestGateway, testGatewayConfig, testLogger, type TestGateway } from '../../helpers/gateway.js';
import { execute } from '../../helpers/kernel-client.js';

const SLOW = 300_000;
let tg: TestGateway;
let km: KernelManager;
let usage: UsageExtension;
let stateDir: string;

beforeAll(async () => {
  const { config, runtimeRoot } = testGatewayConfig({ kernelStartTimeoutMs: 180_000 });
  stateDir = config.stateDir;
  const { logger, lines } = testLogger(config.logLevel);
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  usage = new UsageExtension({ config, logger, metrics, jobPollSeconds: 0 });
  const gateway = new Gateway({ config, logger, metrics, extensions: [usage] });
  tg = await serveTestGateway(gateway, runtimeRoot, lines);
  km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
}, SLOW);

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
}, SLOW);

interface Row {
  session: string;
  user: string;
  kernelspec: string;
  jobs: number;
  driver_core_seconds: number;
  driver_memory_byte_seconds: number;
  executor_core_seconds: number;
}

async function rows(): Promise<Row[]> {
  const res = await api(tg, '/api/sparkgate/usage');
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: Row[] }).rows;
}

describe('usage metering of a pyspark session', () => {
  it('counts jobs when the kernel goes idle and bills the driver for its live time', async () => {
    const kernel = await km.startNew({ name: 'pyspark' });
    await kernel.info;
    const r = await execute(kernel, 'spark.range(1000).count(); sc.parallelize(range(10), 2).sum(); print(sc.applicationId)');
    expect(r.errors).toEqual([]);
    const appId = r.stdout.trim();

    // What the driver itself says (through the gateway's UI proxy): jobs = max jobId + 1.
    const jobsRes = await api(tg, `/api/sparkgate/sessions/${kernel.id}/ui/api/v1/applications/${appId}/jobs`);
    expect(jobsRes.status).toBe(200);
    const expectedJobs = Math.max(...((await jobsRes.json()) as { jobId: number }[]).map((j) => j.jobId)) + 1;
    expect(expectedJobs).toBeGreaterThanOrEqual(2);

    // The idle poll has run (or runs now): the route shows the jobs before any flush.
    const deadline = Date.now() + 30_000;
    let row: Row | undefined;
    while (Date.now() < deadline) {
      row = (await rows()).find((x) => x.session === kernel.id);
      if (row?.jobs === expectedJobs) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(row).toMatchObject({ user: 'sparkgate', kernelspec: 'pyspark', jobs: expectedJobs, executor_core_seconds: 0 });

    await kernel.shutdown();
    const record = tg.gateway.registry.get(kernel.id)!;
    expect(record.endedAt).toBeDefined();
    await usage.flush();
    const final = (await rows()).find((x) => x.session === kernel.id)!;
    const liveSeconds = (record.endedAt! - record.startedAt) / 1000;
    const cores = Number(record.sparkConf?.['spark.driver.cores'] ?? 1);
    expect(final.driver_core_seconds).toBeCloseTo(cores * liveSeconds, 2);
    expect(final.driver_memory_byte_seconds).toBeGreaterThan(0);
    expect(final.jobs).toBe(expectedJobs);

    // the figures outlive the gateway (tg.stop() in afterAll removes the temp dirs)
    await tg.gateway.stop();
    const store = new UsageStore({ dir: path.join(stateDir, 'usage') });
    let jobs = 0;
    let driverCoreSeconds = 0;
    for await (const l of store.usageLines()) {
      if (l.session !== kernel.id) continue;
      jobs += l.jobs;
      driverCoreSeconds += l.driverCoreSeconds;
    }
    expect(jobs).toBe(expectedJobs);
    expect(driverCoreSeconds).toBeCloseTo(cores * liveSeconds, 2);
  }, SLOW);
});
