/**
 * JupyterLab 4 in Chromium, in gateway mode at sparkgate, used as a notebook user does: the
 * launcher's "PySpark (sparkgate)" card, a cell that runs a real Spark job (progress while it
 * runs, the DataFrame's HTML table after), the toolbar's interrupt on a long job, the Kernel
 * menu's restart. Screenshots: test-artifacts/jupyterlab/notebook-*.png.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../helpers/gateway.js';
import { newNotebookFromLauncher, runCell, startJupyterLabBrowser, waitForCellDone, waitForKernelIdle, type JupyterLabBrowser } from '../../helpers/jupyterlab.js';

const START_MS = 180_000;
const SLOW = 420_000;

let tg: TestGateway;
let lab: JupyterLabBrowser;
let page: Page;
let notebook: Locator;

beforeAll(async () => {
  tg = await startGateway({ kernelStartTimeoutMs: START_MS });
  lab = await startJupyterLabBrowser({ gatewayUrl: tg.url, gatewayToken: tg.token, args: ['--GatewayClient.request_timeout=200'] });
  page = lab.page;
}, SLOW);

afterAll(async () => {
  await lab?.stop();
  await tg?.stop();
});

function outputText(cell: Locator): Promise<string> {
  return cell.locator('.jp-OutputArea').innerText();
}

describe('JupyterLab 4 in Chromium, kernels on sparkgate', () => {
  it('the launcher offers sparkgate\'s kernelspecs; a PySpark notebook runs a real Spark job with progress, then shows the DataFrame table', async () => {
    await lab.screenshot('notebook-1-launcher');
    const titles = await page.locator('.jp-LauncherCard').evaluateAll((cards) => cards.map((c) => c.getAttribute('title')));
    expect(titles).toEqual(expect.arrayContaining(['PySpark (sparkgate)', 'Spark Scala (sparkgate)', 'Spark SQL (sparkgate)']));
    notebook = await newNotebookFromLauncher(page, 'PySpark (sparkgate)');
    await waitForKernelIdle(page, 'PySpark (sparkgate)', START_MS);
    // The kernel runs on sparkgate: JupyterLab's session points at a sparkgate kernel.
    expect(tg.gateway.kernels.list().map((k) => [k.spec.name, k.state])).toContainEqual(['pyspark', 'idle']);

    const cell = await runCell(
      page,
      notebook,
      [
        'import time',
        'from pyspark.sql import functions as F',
        "slow = F.udf(lambda x: (time.sleep(0.4), x)[1], 'long')",
        "df = spark.range(0, 40, numPartitions=8).select(slow('id').alias('id')).groupBy((F.col('id') % 3).alias('k')).count().orderBy('k')",
        'df',
      ].join('\n'),
    );
    // While the job runs: sparkgate's progress display (job, stage and task counts, a bar).
    const progress = cell.locator('.jp-OutputArea-output').filter({ hasText: /Spark job \d+|Job \d+/ });
    await progress.first().waitFor({ timeout: 60_000 });
    await lab.screenshot('notebook-2-job-progress');
    await waitForCellDone(cell, 120_000);
    // After: the DataFrame as an HTML table with the three groups.
    const table = cell.locator('.jp-RenderedHTMLCommon table');
    await table.waitFor({ timeout: 30_000 });
    const rows = await table.locator('tbody tr').allInnerTexts();
    expect(rows.map((r) => r.replace(/\s+/g, ' ').trim())).toEqual(['0 14', '1 13', '2 13']);
    expect(await table.locator('thead').innerText()).toMatch(/k\s+count/);
    // Nothing but the job's progress and the table: no warning of pyspark's (e.g. Spark 4's Arrow
    // UDF path without pyarrow) on the way.
    expect(await cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count()).toBe(0);
    await lab.screenshot('notebook-3-dataframe');
  }, SLOW);

  it('interrupt from the toolbar stops a long Spark job; the kernel stays usable', async () => {
    const long = await runCell(page, notebook, 'import time\nsc.parallelize(range(200), 200).map(lambda x: time.sleep(1) or x).count()');
    await long.locator('.jp-OutputArea-output').filter({ hasText: /Spark job \d+|Job \d+/ }).first().waitFor({ timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 2_000));
    const clicked = Date.now();
    await notebook.locator('.jp-NotebookPanel-toolbar [data-jp-item-name="interrupt"] .jp-ToolbarButtonComponent').click();
    await waitForCellDone(long, 30_000);
    const stoppedMs = Date.now() - clicked;
    expect(await outputText(long)).toContain('KeyboardInterrupt');
    expect(stoppedMs).toBeLessThan(20_000);
    await lab.screenshot('notebook-4-interrupted');
    const next = await runCell(page, notebook, 'spark.range(1000).selectExpr("sum(id) as s").first().s');
    await waitForCellDone(next, 60_000);
    expect(await outputText(next)).toContain('499500');
  }, SLOW);

  it('restart from the Kernel menu gives a fresh Spark session that works', async () => {
    const kernelId = tg.gateway.kernels.list().find((k) => k.spec.name === 'pyspark')!.id;
    const pidBefore = tg.gateway.kernels.get(kernelId).pid;
    await page.locator('.lm-MenuBar-item', { hasText: /^Kernel$/ }).click();
    await page.locator('.lm-Menu-item:visible', { hasText: /^Restart Kernel…/ }).first().click();
    await page.locator('.jp-Dialog .jp-mod-accept').click();
    await expect.poll(() => tg.gateway.kernels.get(kernelId).pid, { timeout: 60_000 }).not.toBe(pidBefore);
    await waitForKernelIdle(page, 'PySpark (sparkgate)', START_MS);
    const cell = await runCell(page, notebook, "'df' in dir(), spark.range(7).count()");
    await waitForCellDone(cell, 120_000);
    expect(await outputText(cell)).toContain('(False, 7)');
    await lab.screenshot('notebook-5-restarted');
  }, SLOW);
});
