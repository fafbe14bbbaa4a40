/**
 * `npm run bench`: speed figures of a real gateway with real ipykernels, printed as a markdown
 * table and written to bench/results/latest.json. Not part of `npm test`: targets live here,
 * never in timed unit tests.
 *
 * Options (env): BENCH_STARTS (default 30), BENCH_ROUNDTRIPS (default 1000).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, REPO_ROOT } from '../src/config.js';
import { Gateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import { measureGcLatency } from './gc-latency.js';
import { BenchKernelClient, percentile } from './ws-kernel-client.js';

interface Row {
  figure: string;
  samples: number;
  p50: number;
  p95?: number;
  p99?: number;
  unit: string;
}

const starts = Number(process.env['BENCH_STARTS'] ?? 30);
const roundTrips = Number(process.env['BENCH_ROUNDTRIPS'] ?? 1000);

async function main(): Promise<void> {
  const config = loadConfig({
    env: {},
    overrides: {
      port: 0,
      token: 'bench',
      logLevel: 'warn',
      maxKernels: 200,
      kernelspecDirs: [path.join(REPO_ROOT, 'kernel', 'specs'), path.join(REPO_ROOT, 'test', 'fixtures', 'kernelspecs')],
    },
  });
  const gateway = new Gateway({ config, logger: createLogger({ level: 'warn', destination: process.stderr }) });
  const url = await gateway.start();
  const headers = { authorization: `token ${gateway.token}`, 'content-type': 'application/json' };
  const rows: Row[] = [];
  try {
    // Kernel start: POST /api/kernels returns once the kernel answered kernel_info and iopub flows.
    const startMs: number[] = [];
    for (let i = 0; i < starts; i++) {
      const t0 = performance.now();
      const res = await fetch(`${url}/api/kernels`, { method: 'POST', headers, body: JSON.stringify({ name: 'plain-python' }) });
      const { id } = (await res.json()) as { id: string };
      startMs.push(performance.now() - t0);
      await fetch(`${url}/api/kernels/${id}`, { method: 'DELETE', headers });
    }
    rows.push({ figure: 'kernel start to idle (cold, ipykernel)', samples: starts, p50: percentile(startMs, 50), p95: percentile(startMs, 95), unit: 'ms' });

    const res = await fetch(`${url}/api/kernels`, { method: 'POST', headers, body: JSON.stringify({ name: 'plain-python' }) });
    const { id } = (await res.json()) as { id: string };
    for (const protocol of ['v1', 'legacy'] as const) {
      const client = await BenchKernelClient.connect(url, id, gateway.token, protocol);
      for (let i = 0; i < 20; i++) await client.execute('1+1'); // warm up
      const rtt: number[] = [];
      for (let i = 0; i < roundTrips; i++) {
        const t0 = performance.now();
        await client.execute('1+1');
        rtt.push(performance.now() - t0);
      }
      client.close();
      rows.push({
        figure: `execute 1+1 round trip (${protocol} websocket)`,
        samples: roundTrips,
        p50: percentile(rtt, 50),
        p99: percentile(rtt, 99),
        unit: 'ms',
      });
    }
  } finally {
    await gateway.stop();
  }

  // Executor GC: session end to the last of 50 executor pods confirmed gone (FakeKube).
  const gc: number[] = [];
  for (let i = 0; i < 5; i++) gc.push((await measureGcLatency({ pods: 50 })).ms);
  rows.push({ figure: 'executor GC, 50 pods (FakeKube)', samples: gc.length, p50: percentile(gc, 50), p95: percentile(gc, 95), unit: 'ms' });

  const fmt = (n: number | undefined): string => (n === undefined ? '' : n.toFixed(2));
  console.log('| figure | samples | p50 | p95 | p99 | unit |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.figure} | ${r.samples} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${r.unit} |`);
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'latest.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
