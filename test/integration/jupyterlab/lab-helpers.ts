/** What the jupyterlab-sparkgate tests share: the installed extension, Chromium, and xterm text. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../../src/config.js';
import { freePort, JUPYTER_VENV_PYTHON } from '../../helpers/jupyter-server.js';
import { waitFor } from '../../helpers/kernel-client.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'jupyterlab');

/** The extension must be installed in .venv-jupyter (scripts/ensure-extension.sh), else say how. */
export function requireExtension(): void {
  const probe = "import jupyterlab_sparkgate, sys, os; sys.exit(0 if os.path.exists(os.path.join(sys.prefix, 'share/jupyter/labextensions/jupyterlab-sparkgate/package.json')) else 1)";
  try {
    execFileSync(JUPYTER_VENV_PYTHON, ['-c', probe], { stdio: 'ignore' });
  } catch {
    throw new Error('jupyterlab_sparkgate is not installed in .venv-jupyter: run bash scripts/ensure-extension.sh (after scripts/ensure-python.sh jupyter)');
  }
}

export interface LabBrowser {
  context: BrowserContext;
  stop(): Promise<void>;
}

/** Debian's Chromium, headless, with a throwaway profile (never a downloaded browser). */
export async function launchChromium(): Promise<LabBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or scripts/ensure-deps.sh test)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: { width: 1400, height: 900 },
  });
  return {
    context,
    async stop() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The text xterm.js rendered in `scope` (its DOM renderer: one row element per line). */
export async function terminalText(page: Page, scope: string): Promise<string> {
  return page.locator(`${scope} .xterm-rows`).innerText();
}

export async function waitForTerminalText(page: Page, scope: string, pattern: RegExp | string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await terminalText(page, scope).catch(() => '');
    if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)} in ${scope}; screen:\n${text}`);
    await page.waitForTimeout(250);
  }
}

/**
 * JupyterLab from .venv-jupyter without --gateway-url (Jupyter Server's local mode), which
 * startJupyterServer (always in gateway mode) does not start. Config, data and runtime dirs are
 * a temp dir, removed by stop().
 */
export async function startLocalLab(): Promise<{ baseUrl: string; token: string; stop(): Promise<void> }> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-jupyter-'));
  const port = await freePort();
  const token = `jupyter-test-${Math.random().toString(36).slice(2)}`;
  const child = spawn(
    JUPYTER_VENV_PYTHON,
    ['-m', 'jupyterlab', `--ServerApp.token=${token}`, '--ServerApp.ip=127.0.0.1', `--ServerApp.port=${port}`, '--ServerApp.port_retries=0',
      '--ServerApp.open_browser=False', '--ServerApp.allow_root=True', `--ServerApp.root_dir=${home}`],
    {
      env: { ...process.env, JUPYTER_CONFIG_DIR: path.join(home, '.config'), JUPYTER_RUNTIME_DIR: path.join(home, '.runtime'), JUPYTER_DATA_DIR: path.join(home, '.data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitFor(() => /is running at/.test(log) || child.exitCode !== null, 90_000, 'local JupyterLab to start');
    if (child.exitCode !== null) throw new Error(`JupyterLab exited (${child.exitCode})`);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return { baseUrl: `http://127.0.0.1:${port}`, token, stop };
}
