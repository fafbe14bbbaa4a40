/**
 * The example notebooks in notebooks/: the python3 example executed by `sparkgate run` (a real
 * process, embedded gateway, real kernel) with its outputs checked against numbers computed here
 * from the same CSV; the committed files and their data. The Spark examples run on real Spark in
 * spark-examples.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNotebook, validateNotebook } from '../../../src/runner/notebook-schema.js';
import { VENV_PYTHON } from '../../helpers/python.js';
import { codeCells, join, type Nb } from './notebook-outputs.js';
import { NOTEBOOKS, readJson, runCli, validateWithPythonNbformat } from './run-cli.js';

const out = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-runner-examples-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Order {
  region: string;
  product: string;
  date: string;
  revenue: number;
}

function orders(): Order[] {
  const [header, ...lines] = readFileSync(path.join(NOTEBOOKS, 'data/sales.csv'), 'utf8').trim().split('\n');
  const cols = header!.split(',');
  return lines.map((line) => {
    const row = Object.fromEntries(line.split(',').map((v, i) => [cols[i], v]));
    return {
      region: row['region']!,
      product: row['product']!,
      date: row['order_date']!,
      revenue: Math.round(Number(row['quantity']) * Number(row['unit_price']) * 100) / 100,
    };
  });
}

function sumBy(rows: Order[], key: (o: Order) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of rows) m.set(key(o), (m.get(key(o)) ?? 0) + o.revenue);
  return m;
}

function summaryOf(nb: Nb): Record<string, unknown> {
  const last = codeCells(nb).at(-1)!;
  const shown = last.outputs!.find((o) => o.output_type === 'display_data')!;
  return shown.data!['application/json'] as Record<string, unknown>;
}

// A python3 kernel starts in seconds, but the machine may be busy.
describe('00-python-basics.ipynb (python3 kernel, no Spark)', { timeout: 120_000 }, () => {
  it('runs top to bottom with real results, a chart image and HTML; the output validates', async () => {
    const output = path.join(out, '00.out.ipynb');
    const result = await runCli([path.join(NOTEBOOKS, '00-python-basics.ipynb'), '-o', output]);
    // Measured runtime of the example through the runner (process start to exit), for the report.
    process.stderr.write(`[measure] 00-python-basics.ipynb through sparkgate run: ${result.durationMs} ms\n`);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').at(-1)).toBe(output);

    const nb = readJson<Nb>(output);
    const all = orders();
    const total = all.reduce((s, o) => s + o.revenue, 0);
    const cells = codeCells(nb);
    expect(cells.every((c) => typeof c.execution_count === 'number')).toBe(true);
    expect(cells.map((c) => c.execution_count)).toEqual(cells.map((_, i) => i + 1));

    const load = cells[1]!;
    expect(join(load.outputs![0]!.text)).toBe(`${all.length} orders (all) from 2024-01-01 to 2024-12-31\n`);
    expect(load.outputs![1]!.output_type).toBe('execute_result');
    expect(load.outputs![1]!.execution_count).toBe(2);

    const aggregate = cells[2]!;
    const printed = join(aggregate.outputs![0]!.text);
    expect(Number(/total revenue: ([\d,.]+)/.exec(printed)![1]!.replace(/,/g, ''))).toBeCloseTo(total, 1);

    const html = join(cells[3]!.outputs![0]!.data!['text/html'] as string[]);
    const byProduct = [...sumBy(all, (o) => o.product).entries()].sort((a, b) => b[1] - a[1]);
    const shownProducts = [...html.matchAll(/<tr><td>([^<]+)<\/td>/g)].map((m) => m[1]);
    expect(shownProducts).toEqual(byProduct.slice(0, 3).map(([name]) => name));

    const image = cells[4]!.outputs![0]!.data!;
    const png = image['image/png'] as string | undefined;
    if (png) expect(Buffer.from(png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    else expect(join(image['image/svg+xml'] as string[])).toContain('<svg');

    const summary = summaryOf(nb);
    const byRegion = sumBy(all, (o) => o.region);
    expect(summary['orders']).toBe(all.length);
    expect(summary['total_revenue'] as number).toBeCloseTo(total, 1);
    for (const [region, value] of byRegion) {
      expect((summary['revenue_by_region'] as Record<string, number>)[region]).toBeCloseTo(value, 1);
    }
    const byMonth = [...sumBy(all, (o) => o.date.slice(0, 7)).entries()].sort((a, b) => b[1] - a[1]);
    expect(summary['best_month']).toBe(byMonth[0]![0]);

    expect(validateNotebook(nb)).toEqual([]);
    expect(await validateWithPythonNbformat(output)).toBe('valid');
    expect((nb.metadata['kernelspec'] as { name: string }).name).toBe('python3');
    expect((nb.metadata['language_info'] as { name: string }).name).toBe('python');
  });

  it('-p values land in an injected-parameters cell after the parameters cell and change the results', async () => {
    const output = path.join(out, '00-west.out.ipynb');
    const result = await runCli([path.join(NOTEBOOKS, '00-python-basics.ipynb'), '-o', output, '-p', 'region', 'West', '-p', 'top_n', '2']);
    expect(result.code).toBe(0);
    const nb = readJson<Nb>(output);
    const declared = nb.cells.findIndex((c) => c.metadata.tags?.includes('parameters'));
    const injected = nb.cells[declared + 1]!;
    expect(injected.metadata.tags).toEqual(['injected-parameters']);
    expect(join(injected.source)).toBe('# Parameters\nregion = "West"\ntop_n = 2');

    const west = orders().filter((o) => o.region === 'West');
    const summary = summaryOf(nb);
    expect(summary['region']).toBe('West');
    expect(summary['orders']).toBe(west.length);
    expect(summary['total_revenue'] as number).toBeCloseTo(
      west.reduce((s, o) => s + o.revenue, 0),
      1,
    );
    expect(Object.keys(summary['revenue_by_region'] as object)).toEqual(['West']);
    expect(summary['top_products']).toHaveLength(2);
    expect((nb.metadata['sparkgate'] as { run: { parameters: unknown } }).run.parameters).toEqual({ region: 'West', top_n: 2 });
  });
});

describe('the committed notebooks', () => {
  it('are valid nbformat 4.5 written exactly as Jupyter writes them, with their declared kernels', async () => {
    const { serializeNotebook } = await import('../../../src/runner/notebook-format.js');
    const kernels: Record<string, string> = {
      '00-python-basics.ipynb': 'python3',
      '01-getting-started.ipynb': 'pyspark',
      '02-dataframe-exploration.ipynb': 'pyspark',
      '03-spark-sql.ipynb': 'spark-sql',
    };
    for (const [file, kernel] of Object.entries(kernels)) {
      const text = readFileSync(path.join(NOTEBOOKS, file), 'utf8');
      const nb = parseNotebook(text, file);
      expect(nb.metadata.kernelspec?.name).toBe(kernel);
      expect(serializeNotebook(nb)).toBe(text);
      // Committed without outputs, each with a parameters cell.
      expect(nb.cells.every((c) => c.cell_type !== 'code' || (c as { outputs: unknown[] }).outputs.length === 0)).toBe(true);
      expect(nb.cells.some((c) => ((c.metadata as { tags?: string[] }).tags ?? []).includes('parameters'))).toBe(true);
    }
  });
});

describe('notebooks/data', () => {
  it('is what generate.py makes (deterministic) and stays under 1 MB', async () => {
    const { spawnSync } = await import('node:child_process');
    const check = spawnSync(VENV_PYTHON, [path.join(NOTEBOOKS, 'data/generate.py'), '--check'], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    const { readdirSync, statSync } = await import('node:fs');
    const bytes = readdirSync(path.join(NOTEBOOKS, 'data')).reduce((s, f) => s + statSync(path.join(NOTEBOOKS, 'data', f)).size, 0);
    expect(bytes).toBeLessThan(1024 * 1024);
  });
});
