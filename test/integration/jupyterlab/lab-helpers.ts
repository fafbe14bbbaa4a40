/** What the jupyterlab-sparkgate tests share: the installed extension, Chromium, and xterm text. */
import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { JUPYTER_VENV_PYTHON, startJupyterServer, type RunningJupyterServer } from '../../helpers/jupyter-server.js';

/** The extension must be installed in .venv-jupyter (scripts/ensure-extension.sh), else say how. */
export function requireExtension(): void {
  const probe = "import jupyterlab_sparkgate, sys, os; sys.exit(0 if os.path.exists(os.path.join(sys.prefix, 'share/jupyter/labextensions/jupyterlab-sparkgate/package.json')) else 1)";
  try {
    execFileSync(JUPYTER_VENV_PYTHON, ['-c', probe], { stdio: 'ignore' });
  } catch {
    throw new Error('jupyterlab_sparkgate is not installed in .venv-jupyter: run bash scripts/ensure-extension.sh (after scripts/ensure-python.sh jupyter)');
  }
}

/** Debian's Chromium (test/helpers/jupyterlab.ts); screenshots go to ARTIFACTS. */
export { launchChromium, SCREENSHOT_DIR as ARTIFACTS, type ChromiumBrowser as LabBrowser } from '../../helpers/jupyterlab.js';

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

/** JupyterLab from .venv-jupyter without --gateway-url: Jupyter Server's local mode. */
export function startLocalLab(): Promise<RunningJupyterServer> {
  return startJupyterServer({ kind: 'jupyter-server-2' });
}
