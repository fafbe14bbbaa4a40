/**
 * The Spark example notebooks executed by `sparkgate run` (a real process, embedded gateway, real
 * pyspark / spark-sql kernels on local[*] Spark from the project venv). Their results are checked
 * against aggregates computed here from the same CSV files (sales-data.ts), never from Spark; the
 * kernels' job progress must reach the runner's stderr and stay in the saved notebook in its
 * final state. Spark kernels take 10-60 s to start (more on a busy machine): generous timeouts.
 * (Without Spark the kernels fail with SparkNotInstalledError: test/integration/launcher/spark-missing.test.ts.)
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateNotebook } from '../../../src/runner/notebook-schema.js';
import {
  cellById,
  codeCells,
  errorsOf,
  join,
  pngSize,
  progressDisplays,
  stdout,
  tableOf,
  type Nb,
  type Table,
} from './notebook-outputs.js';
import { NOTEBOOKS, processesMentioning, readJson, startCli, stripAnsi, validateWithPythonNbformat } from './run-cli.js';
import { byDateThenId, groupBy, regions, sales, type Group, type Sale } from './sales-data.js';

const TEST_TIMEOUT_MS = 300_000;
/**
 * The embedded gateway's wait for a kernel to start (default 60 s); `sparkgate run` has no flag for
 * it and then waits up to 120 s for kernel_info, plenty once the gateway has the kernel.
 */
const SPARK_ENV = { SPARKGATE_KERNEL_START_TIMEOUT_MS: '240000' };

const out = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-runner-spark-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface SparkRun {
  code: number | null;
  stderr: string;
  nb: Nb;
  output: string;
}

/** Run one example to the end; the runtime dir is checked for leftover kernels, then removed. */
async function runExample(file: string, args: string[]): Promise<SparkRun> {
  const output = path.join(out, file.replace('.ipynb', '.out.ipynb'));
  const started = Date.now();
  const running = startCli([path.join(NOTEBOOKS, file), '-o', output, ...args], { env: SPARK_ENV });
  const code = await running.exited;
  process.stderr.write(`[measure] ${file} through sparkgate run: ${Date.now() - started} ms\n`);
  try {
    // The kernel (and its driver JVM below it) is gone once the CLI has exited.
    expect(processesMentioning(running.runtimeDir)).toEqual([]);
  } finally {
    rmSync(running.runtimeDir, { recursive: true, force: true });
  }
  const stderr = stripAnsi(running.stderr());
  if (code !== 0) throw new Error(`sparkgate run ${file} exited ${code}:\n${stderr}`);
  expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
  expect(running.stdout().trim().split('\n').at(-1)).toBe(output);
  const nb = readJson<Nb>(output);
  expect(errorsOf(nb)).toEqual([]);
  const cells = codeCells(nb);
  expect(cells.map((c) => c.execution_count)).toEqual(cells.map((_, i) => i + 1));
  expect(validateNotebook(nb)).toEqual([]);
  expect(await validateWithPythonNbformat(output)).toBe('valid');
  return { code, stderr, nb, output };
}

const money = (cents: number): number => cents / 100;
/** A value Spark rounded to `digits` decimals: within half a unit of the exact one. */
function expectRounded(shown: string, exact: number, digits: number): void {
  expect(Math.abs(Number(shown) - exact)).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-9);
}
const byRevenueDesc = (groups: Group[]): Group[] => [...groups].sort((a, b) => b.revenueCents - a.revenueCents);

/** The first rows of `ORDER BY order_date, order_id` as the kernels show them. */
function expectFirstRows(table: Table, expected: Sale[], withRevenue: boolean): void {
  expect(table.rows).toHaveLength(expected.length);
  table.rows.forEach((row, i) => {
    const s = expected[i]!;
    expect(row.slice(0, 5)).toEqual([String(s.orderId), s.date, s.region, s.product, String(s.quantity)]);
    expect(Number(row[5])).toBeCloseTo(money(s.unitPriceCents), 9);
    if (withRevenue) expect(Number(row[6])).toBeCloseTo(money(s.revenueCents), 9);
  });
}

/** Every job on every saved progress display ended SUCCEEDED (the display keeps its final state). */
function expectFinalProgress(nb: Nb): number {
  const displays = codeCells(nb).flatMap(progressDisplays);
  for (const text of displays) {
    for (const line of text.split('\n').filter((l) => l.startsWith('Spark job '))) expect(line).toMatch(/^Spark job \d+: SUCCEEDED, .* 100%$/);
  }
  return displays.length;
}

describe('Spark examples through sparkgate run (real Spark)', () => {
  it(
    '01-getting-started.ipynb: session facts, pi from an RDD job whose progress reaches stderr, no executors in local mode',
    async () => {
      const samples = 1_000_000;
      const partitions = 8;
      const run = await runExample('01-getting-started.ipynb', ['-p', 'samples', String(samples), '-p', 'partitions', String(partitions)]);

      const facts = stdout(cellById(run.nb, 'start-02'));
      const session = /^session id: ([0-9a-f-]{36})$/m.exec(facts)?.[1];
      expect(session).toBeDefined();
      expect(processesMentioning(session!)).toEqual([]);
      expect(facts).toMatch(/^Spark {5}: 4\.3\.\d+$/m);
      expect(facts).toMatch(/^master {4}: local\[\*\]$/m);
      expect(facts).toMatch(/^app id {4}: local-\d+$/m);
      expect(facts).toMatch(/^Spark UI {2}: http:\/\/[^\s]+:\d+$/m);

      const piCell = cellById(run.nb, 'start-04');
      const printed = stdout(piCell);
      expect(printed).toMatch(new RegExp(`^pi is roughly \\d\\.\\d{4} \\(1,000,000 samples, ${partitions} partitions\\)\\n$`));
      // 1e6 samples: the estimate's standard deviation is about 0.0016.
      expect(Math.abs(Number(/pi is roughly (\d\.\d+)/.exec(printed)![1]) - Math.PI)).toBeLessThan(0.02);

      // The saved notebook keeps the progress display in its final state: one stage of `partitions` tasks, all done.
      const [display, ...more] = progressDisplays(piCell);
      expect(more).toEqual([]);
      const job = /^Spark job (\d+): SUCCEEDED, stages 1\/1, tasks (\d+)\/(\d+) \[\u2588{20}\] 100%$/.exec(display ?? '');
      expect(job, `progress display: ${display}`).not.toBeNull();
      expect([Number(job![2]), Number(job![3])]).toEqual([partitions, partitions]);

      // stderr: the same job's lines between the cell's start and end, task counts rising to all done.
      const lines = run.stderr.split('\n');
      const startedAt = lines.findIndex((l) => /\] cell 6 started: import random$/.test(l));
      const endedAt = lines.findIndex((l) => /\] cell 6 ok in /.test(l));
      expect(startedAt).toBeGreaterThanOrEqual(0);
      const jobLines = lines.filter((l) => l.startsWith(`sparkgate run: Spark job ${job![1]}: `));
      expect(jobLines.length).toBeGreaterThanOrEqual(1);
      for (const l of jobLines) expect(lines.indexOf(l)).toBeGreaterThan(startedAt);
      for (const l of jobLines) expect(lines.indexOf(l)).toBeLessThan(endedAt);
      const done = jobLines.map((l) => Number(/tasks (\d+)\/\d+/.exec(l)![1]));
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(jobLines.at(-1)).toBe(`sparkgate run: Spark job ${job![1]}: SUCCEEDED, stages 1/1, tasks ${partitions}/${partitions}, 100%`);

      // local[*]: the driver runs the tasks, Spark's REST API lists no executors.
      expect(stdout(cellById(run.nb, 'start-06'))).toMatch(/^after the job: 0 executor\(s\)\nidle executors are released after \S+\n$/);
      expect(stdout(cellById(run.nb, 'start-07'))).toBe('now: 0 executor(s)\n');
      expect(expectFinalProgress(run.nb)).toBeGreaterThanOrEqual(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    '02-dataframe-exploration.ipynb: schema, rows, filtered aggregates, ranking, a PNG plot, a Parquet round trip',
    async () => {
      const minQuantity = 12;
      const topN = 3;
      const parquetOut = `file://${path.join(out, 'sales.parquet')}`;
      const run = await runExample('02-dataframe-exploration.ipynb', [
        '-p', 'min_quantity', String(minQuantity),
        '-p', 'top_n', String(topN),
        '-p', 'parquet_out', parquetOut,
      ]);
      const all = sales();

      const loaded = stdout(cellById(run.nb, 'frames-02'));
      const schema = ['order_id: integer', 'order_date: date', 'region: string', 'product: string', 'quantity: integer', 'unit_price: double', 'revenue: double'];
      expect(loaded).toBe(
        `root\n${schema.map((c) => ` |-- ${c} (nullable = true)\n`).join('')}\n${all.length} rows from file://${path.join(NOTEBOOKS, 'data', 'sales.csv')}\n`,
      );

      const head = tableOf(cellById(run.nb, 'frames-04'));
      expect(head.columns).toEqual(['order_id', 'order_date', 'region', 'product', 'quantity', 'unit_price', 'revenue']);
      expectFirstRows(head, byDateThenId(all).slice(0, 5), true);

      const filterCell = cellById(run.nb, 'frames-06');
      const large = all.filter((s) => s.quantity >= minQuantity);
      expect(stdout(filterCell)).toBe(`${large.length} of ${all.length} orders have at least ${minQuantity} items\n`);
      const perRegion = tableOf(filterCell);
      expect(perRegion.columns).toEqual(['region', 'orders', 'units', 'revenue']);
      const expectedRegions = byRevenueDesc(groupBy(large, (s) => s.region));
      expect(perRegion.rows.map((r) => r.slice(0, 3))).toEqual(expectedRegions.map((g) => [g.key, String(g.orders), String(g.units)]));
      perRegion.rows.forEach((r, i) => expectRounded(r[3]!, money(expectedRegions[i]!.revenueCents), 2));

      const ranking = tableOf(cellById(run.nb, 'frames-07'));
      expect(ranking.columns).toEqual(['product', 'revenue', 'avg_price']);
      const expectedProducts = byRevenueDesc(groupBy(all, (s) => s.product)).slice(0, topN);
      expect(ranking.rows.map((r) => r[0])).toEqual(expectedProducts.map((g) => g.key));
      ranking.rows.forEach((r, i) => {
        const g = expectedProducts[i]!;
        expectRounded(r[1]!, money(g.revenueCents), 2);
        expectRounded(r[2]!, money(g.unitPriceCentsSum) / g.orders, 2);
      });

      // matplotlib is in the venv: a PNG of figsize (8, 3) at 80 dpi.
      const images = cellById(run.nb, 'frames-09').outputs!.filter((o) => o.data?.['image/png'] !== undefined);
      expect(images).toHaveLength(1);
      expect(pngSize(images[0]!.data!['image/png'] as string)).toEqual({ width: 640, height: 240 });

      expect(stdout(cellById(run.nb, 'frames-11'))).toMatch(
        new RegExp(`^wrote and read back ${all.length} rows \\(7 columns\\) at ${parquetOut.replace(/[.]/g, '\\.')}\\nroot\\n`),
      );
      expect(readdirSync(path.join(out, 'sales.parquet')).some((f) => f.endsWith('.parquet'))).toBe(true);

      expect(expectFinalProgress(run.nb)).toBeGreaterThanOrEqual(1);
      expect(run.stderr).toMatch(/^sparkgate run: Spark job \d+: SUCCEEDED, /m);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    '03-spark-sql.ipynb: every cell SQL, -p as SET/${name}, join, filtered aggregate and window function',
    async () => {
      const minQuantity = 15;
      const run = await runExample('03-spark-sql.ipynb', ['-p', 'min_quantity', String(minQuantity)]);
      const all = sales();

      const injected = run.nb.cells.find((c) => c.metadata.tags?.includes('injected-parameters'))!;
      expect(join(injected.source)).toBe(`-- Parameters: later statements read them as \${name}\nSET min_quantity = ${minQuantity};`);
      expect(tableOf(injected)).toEqual({ columns: ['key', 'value'], rows: [['min_quantity', String(minQuantity)]] });

      expect(tableOf(cellById(run.nb, 'sql-03')).rows.map((r) => r[1]).sort()).toEqual(['regions', 'sales']);
      expect(tableOf(cellById(run.nb, 'sql-04')).rows.map((r) => r.slice(0, 2))).toEqual([
        ['order_id', 'int'],
        ['order_date', 'date'],
        ['region', 'string'],
        ['product', 'string'],
        ['quantity', 'int'],
        ['unit_price', 'double'],
      ]);
      expectFirstRows(tableOf(cellById(run.nb, 'sql-05')), byDateThenId(all).slice(0, 5), false);

      const join_ = tableOf(cellById(run.nb, 'sql-07'));
      expect(join_.columns).toEqual(['region', 'manager', 'orders', 'revenue', 'revenue_target', 'pct_of_target']);
      const targets = new Map(regions().map((r) => [r.region, r]));
      const perRegion = byRevenueDesc(groupBy(all, (s) => s.region));
      expect(join_.rows.map((r) => [r[0], r[1], r[2], r[4]])).toEqual(
        perRegion.map((g) => [g.key, targets.get(g.key)!.manager, String(g.orders), String(targets.get(g.key)!.revenueTarget)]),
      );
      join_.rows.forEach((r, i) => {
        const g = perRegion[i]!;
        expectRounded(r[3]!, money(g.revenueCents), 2);
        expectRounded(r[5]!, g.revenueCents / targets.get(g.key)!.revenueTarget, 1);
      });

      const largeOrders = tableOf(cellById(run.nb, 'sql-09'));
      expect(largeOrders.columns).toEqual(['product', 'large_orders', 'units']);
      const expectedLarge = groupBy(
        all.filter((s) => s.quantity >= minQuantity),
        (s) => s.product,
      );
      // ORDER BY large_orders DESC: the counts fall; rows with equal counts may come in any order.
      const counts = largeOrders.rows.map((r) => Number(r[1]));
      expect(counts).toEqual([...counts].sort((a, b) => b - a));
      expect(largeOrders.rows.map((r) => r.join('|')).sort()).toEqual(expectedLarge.map((g) => `${g.key}|${g.orders}|${g.units}`).sort());

      const monthly = tableOf(cellById(run.nb, 'sql-11'));
      expect(monthly.columns).toEqual(['month', 'revenue', 'running_total']);
      const months = groupBy(all, (s) => s.date.slice(0, 7)).sort((a, b) => a.key.localeCompare(b.key));
      expect(monthly.rows.map((r) => r[0])).toEqual(months.map((m) => m.key));
      let runningCents = 0;
      monthly.rows.forEach((r, i) => {
        runningCents += months[i]!.revenueCents;
        expectRounded(r[1]!, money(months[i]!.revenueCents), 2);
        expectRounded(r[2]!, money(runningCents), 2);
      });

      expect(expectFinalProgress(run.nb)).toBeGreaterThanOrEqual(1);
      expect(existsSync(run.output)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
