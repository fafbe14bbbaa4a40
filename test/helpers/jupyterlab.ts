/**
 * JupyterLab 4 in a real browser, in gateway mode at a test sparkgate: `jupyter lab` from
 * .venv-jupyter (test/helpers/jupyter-server.ts) and Debian's Chromium driven by playwright-core.
 * Helpers act as a user does (launcher cards, menus, toolbar buttons, Shift+Enter) and read what
 * JupyterLab renders; screenshots go to test-artifacts/jupyterlab/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../src/config.js';
import { startJupyterServer, type RunningJupyterServer } from './jupyter-server.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-artifacts', 'jupyterlab');

export interface JupyterLabBrowser {
  server: RunningJupyterServer;
  context: BrowserContext;
  page: Page;
  /** Save a screenshot as test-artifacts/jupyterlab/<name>.png; returns its path. */
  screenshot(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startJupyterLabBrowser(options: { gatewayUrl: string; gatewayToken: string; args?: string[] }): Promise<JupyterLabBrowser> {
  const server = await startJupyterServer({
    kind: 'jupyter-server-2',
    gatewayUrl: options.gatewayUrl,
    gatewayToken: options.gatewayToken,
    // No news or update checks from the browser (no network here), no announcements popup.
    args: ['--LabApp.news_url=None', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', ...(options.args ?? [])],
    // No "get notified about Jupyter news?" toast over the notebook.
    labSettings: { '@jupyterlab/apputils-extension/notification.jupyterlab-settings': { fetchNews: 'false' } },
  });
  let browser: ChromiumBrowser | undefined;
  try {
    browser = await launchChromium({ width: 1280, height: 800 });
    const context = browser.context;
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${server.baseUrl}/lab?token=${server.token}`);
    // The application is up once the launcher shows the kernelspecs it got from sparkgate.
    await page.locator('.jp-LauncherCard').first().waitFor({ timeout: 120_000 });
    const opened = browser;
    return {
      server,
      context,
      page,
      async screenshot(name) {
        const file = path.join(SCREENSHOT_DIR, `${name}.png`);
        await page.screenshot({ path: file });
        return file;
      },
      async stop() {
        await opened.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await browser?.stop();
    await server.stop();
    throw err;
  }
}

export interface ChromiumBrowser {
  context: BrowserContext;
  stop(): Promise<void>;
}

/** Debian's Chromium, headless, with a throwaway profile (never a downloaded browser). */
export async function launchChromium(viewport = { width: 1400, height: 900 }): Promise<ChromiumBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (scripts/ensure-deps.sh test does)`);
  }
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const profile = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      viewport,
    });
    return {
      context,
      async stop() {
        await context.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** Click the launcher's notebook card for a kernelspec display name; resolves to the notebook panel. */
export async function newNotebookFromLauncher(page: Page, displayName: string): Promise<Locator> {
  const card = page.locator(`.jp-Launcher-section:has(.jp-Launcher-sectionTitle:text-is("Notebook")) .jp-LauncherCard[title="${displayName}"]`);
  await card.click();
  const panel = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)').last();
  await panel.waitFor();
  return panel;
}

/**
 * Wait until the notebook's kernel is ready as JupyterLab shows it: the status bar's kernel item
 * reads "<display name> | Idle" (it shows Starting / Connecting / Restarting before).
 */
export async function waitForKernelIdle(page: Page, displayName: string, timeoutMs: number): Promise<void> {
  await page.locator('.jp-StatusBar-Widget .jp-StatusBar-TextItem', { hasText: `${displayName} | Idle` }).first().waitFor({ timeout: timeoutMs });
}

/** Type code into the active cell and run it with Shift+Enter; resolves to that cell. */
export async function runCell(page: Page, panel: Locator, code: string): Promise<Locator> {
  const cells = panel.locator('.jp-Cell.jp-CodeCell');
  const index = (await cells.count()) - 1;
  const cell = cells.nth(index);
  const editor = cell.locator('.cm-content');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await editor.fill(code);
  await page.keyboard.press('Shift+Enter');
  return cell;
}

/** Wait until a cell has finished (its prompt shows an execution count, not `[*]`). */
export async function waitForCellDone(cell: Locator, timeoutMs: number): Promise<void> {
  await cell.locator('.jp-InputPrompt').filter({ hasText: /\[\d+\]/ }).waitFor({ timeout: timeoutMs });
}
