/**
 * jupyterlab-sparkgate's "Session logs" view in Chromium: a Python notebook on sparkgate writes a
 * line to its kernel process's fd 2 (the driver log; ipykernel echoes fd output to the notebook
 * too, while print() reaches only the notebook); the notebook toolbar's
 * "Logs" button opens the view, which shows that line, then follows new output through Jupyter
 * Server's proxy. Closing the view ends the gateway's read at once (the proxy cancels its request).
 * Screenshot: test-artifacts/jupyterlab/session-logs.png.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../helpers/gateway.js';
import { newNotebookFromLauncher, runCell, startJupyterLabBrowser, waitForCellDone, waitForKernelIdle, type JupyterLabBrowser } from '../../helpers/jupyterlab.js';
import { requireExtension } from './lab-helpers.js';

const KERNEL = 'Python 3 (sparkgate)';
const SLOW = 240_000;

let tg: TestGateway;
let lab: JupyterLabBrowser;
let page: Page;
let stateDir: string;

beforeAll(async () => {
  requireExtension();
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-state-'));
  tg = await startGateway({ stateDir });
  lab = await startJupyterLabBrowser({ gatewayUrl: tg.url, gatewayToken: tg.token });
  page = lab.page;
}, SLOW);

afterAll(async () => {
  await lab?.stop();
  await tg?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** Readers following the session's driver log on the gateway. */
function followers(kernelId: string): number {
  return tg.gateway.driverLogs.readerCount(kernelId);
}

describe('Session logs in JupyterLab', () => {
  it("shows the driver log of the notebook's kernel and follows it; closing the view ends the read", async () => {
    const notebook: Locator = await newNotebookFromLauncher(page, KERNEL);
    await waitForKernelIdle(page, KERNEL, 120_000);
    const first = await runCell(page, notebook, 'import sys, os; os.write(2, b"hello-driver-log\\n")');
    await waitForCellDone(first, 60_000);
    const kernelId = tg.gateway.kernels.list()[0]!.id;

    await notebook.locator('.jp-sparkgate-logs-button').click();
    const view = page.locator(`.jp-sparkgate-logs[data-sparkgate-session="${kernelId}"]`);
    const output = view.locator('.jp-sparkgate-logs-output');
    await expect.poll(() => output.innerText(), { timeout: 30_000 }).toContain('hello-driver-log');
    // Local mode: no executor pods, so the driver is the only source.
    expect(await view.locator('select.jp-sparkgate-logs-source option').allInnerTexts()).toEqual(['Driver']);
    expect(await view.locator('.jp-sparkgate-logs-status').innerText()).toBe('following…');
    await expect.poll(() => followers(kernelId), { timeout: 10_000 }).toBe(1);

    // Followed: a line written now shows up in the open view.
    const second = await runCell(page, notebook, 'os.write(2, b"followed-in-lab\\n")');
    await waitForCellDone(second, 60_000);
    await expect.poll(() => output.innerText(), { timeout: 30_000 }).toContain('followed-in-lab');
    await lab.screenshot('session-logs');

    await page.locator(`.lm-DockPanel-tabBar .lm-TabBar-tab[data-id="sparkgate-logs-${kernelId}"] .lm-TabBar-tabCloseIcon`).click();
    await expect.poll(() => followers(kernelId), { timeout: 15_000 }).toBe(0);
  }, SLOW);

  it("the server's proxy: text streamed with the gateway's query, the gateway's errors as they are, Jupyter's auth", async () => {
    const kernelId = tg.gateway.kernels.list()[0]!.id;
    const server = lab.server;
    const jupyter = (route: string, token: string | null = server.token) =>
      fetch(`${server.baseUrl}/sparkgate/api/sessions/${route}`, token ? { headers: { authorization: `token ${token}` } } : {});

    const tail = await jupyter(`${kernelId}/logs?tail=1&source=driver`);
    expect(tail.status).toBe(200);
    expect(tail.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await tail.text()).toBe('followed-in-lab\n');
    const bad = await jupyter(`${kernelId}/logs?tail=lots`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ message: expect.stringMatching(/tail: must be a number of lines/), reason: 'bad_request' });
    const local = await jupyter(`${kernelId}/logs?executor=1`);
    expect(local.status).toBe(404);
    expect(((await local.json()) as { message: string }).message).toMatch(/Executor logs need Kubernetes mode/);
    expect((await jupyter('00000000-0000-4000-8000-000000000000/logs')).status).toBe(404);
    expect(await (await jupyter(`${kernelId}/logs/executors`)).json()).toEqual([]);
    // Jupyter's credentials, never the gateway's.
    expect((await jupyter(`${kernelId}/logs`, null)).status).toBe(403);
    expect((await jupyter(`${kernelId}/logs/executors`, null)).status).toBe(403);
    expect((await jupyter(`${kernelId}/logs`, tg.token)).status).toBe(403);
  });
});
