/**
 * jupyterlab-sparkgate in a real browser: Debian's Chromium (playwright-core) on JupyterLab 4 from
 * .venv-jupyter (the extension installed by scripts/ensure-extension.sh) in gateway mode in front
 * of a sparkgate built as `sparkgate serve` builds it, with the real Spark of the project venv.
 *
 * A notebook on the "PySpark (sparkgate)" kernel creates a temp view; the toolbar's "Spark shell"
 * button opens a JupyterLab terminal attached to the notebook's session, where the view's rows
 * come back. The launcher's PySpark, spark-shell and Spark SQL terminals each answer a query. The
 * status bar shows the session's executors and its "Spark UI" link opens the UI through Jupyter
 * Server, with the UI's own scripts working under the proxy prefix.
 *
 * JupyterLab's terminal draws on a canvas, so what a terminal shows is read from the frames its
 * websocket received (Playwright sees the page's websockets); the screenshots in
 * test-artifacts/jupyterlab/ show the rendered terminals. JVMs under load take minutes to start:
 * the waits are long on purpose.
 */
import path from 'node:path';
import type { Page, WebSocket as PageWebSocket } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startJupyterServer, type RunningJupyterServer } from '../../helpers/jupyter-server.js';
import { waitFor } from '../../helpers/kernel-client.js';
import { pidsWith, plainText, startServeGateway, type TerminalGateway } from '../terminals/terminal-helpers.js';
import { ARTIFACTS, launchChromium, requireExtension, type LabBrowser } from './lab-helpers.js';

const JVM_START_MS = 240_000;
const TEST_MS = 480_000;

let tg: TerminalGateway;
let lab: RunningJupyterServer;
let browser: LabBrowser;
let page: Page;
/** The notebook's kernel (= its sparkgate session). */
let kernelId: string;
const problems: string[] = [];
/** Requests of the page that went to the gateway or carried its token (there must be none). */
const gatewayLeaks: string[] = [];
/** What each proxied terminal websocket received (stdout text), by terminal name. */
const screens = new Map<string, string>();

beforeAll(async () => {
  requireExtension();
  tg = await startServeGateway({
    logLevel: 'warn',
    kernelStartTimeoutMs: JVM_START_MS,
    spark: { extraConf: { 'spark.driver.extraJavaOptions': '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' } },
  });
  lab = await startJupyterServer({
    kind: 'jupyter-server-2',
    gatewayUrl: tg.url,
    gatewayToken: tg.token,
    args: [`--GatewayClient.request_timeout=${JVM_START_MS / 1000}`],
  });
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on('pageerror', (err) => problems.push(err.message));
  // The browser only ever talks to Jupyter Server: the gateway's URL and token stay on the server.
  browser.context.on('request', (req) => {
    const headers = Object.values(req.headers()).join('\n');
    if (req.url().startsWith(tg.url) || req.url().includes(tg.token) || headers.includes(tg.token)) {
      gatewayLeaks.push(req.url());
    }
  });
  page.on('websocket', (ws: PageWebSocket) => {
    const m = /\/sparkgate\/terminals\/websocket\/([^/?]+)/.exec(ws.url());
    if (!m) return;
    const name = decodeURIComponent(m[1]!);
    ws.on('framereceived', ({ payload }) => {
      try {
        const frame = JSON.parse(String(payload)) as unknown[];
        if (frame[0] === 'stdout') screens.set(name, (screens.get(name) ?? '') + String(frame[1]));
      } catch {
        // not terminado
      }
    });
  });
}, 300_000);

afterAll(async () => {
  await browser?.stop();
  await lab?.stop();
  const root = tg?.runtimeRoot;
  await tg?.stop();
  if (root) await waitFor(() => pidsWith(root).length === 0, 60_000, 'no process of this gateway left');
}, 120_000);

// What the page showed when a test failed.
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && page) {
    await shot(`failed-${ctx.task.name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}.png`).catch(() => undefined);
  }
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, name) });
}

/** The terminal shown in the current main-area tab: its sparkgate name. */
async function currentTerminalName(kind: string): Promise<string> {
  const widget = page.locator(`.jp-sparkgate-terminal[data-sparkgate-kind="${kind}"]:visible`).last();
  await widget.waitFor({ timeout: 60_000 });
  return (await widget.getAttribute('data-sparkgate-terminal'))!;
}

async function waitForScreen(name: string, pattern: RegExp | string, timeoutMs: number, from = 0): Promise<void> {
  const seen = () => plainText((screens.get(name) ?? '').slice(from));
  await waitFor(() => (typeof pattern === 'string' ? seen().includes(pattern) : pattern.test(seen())), timeoutMs, `${String(pattern)} in terminal ${name}`).catch(
    (err: Error) => {
      throw new Error(`${err.message}; screen: ${JSON.stringify(seen().slice(-800))}`);
    },
  );
}

/** Types a line into the terminal widget (xterm.js turns keys into stdin frames). */
async function typeLine(name: string, line: string): Promise<number> {
  const from = (screens.get(name) ?? '').length;
  await page.locator(`.jp-sparkgate-terminal[data-sparkgate-terminal="${name}"] .xterm`).click();
  await page.keyboard.type(line, { delay: 5 });
  await page.keyboard.press('Enter');
  return from;
}

/** Closes the current tab; the extension shuts the terminal down on sparkgate. */
async function closeTerminal(name: string): Promise<void> {
  await page.locator(`.lm-DockPanel-tabBar .lm-TabBar-tab[data-id="sparkgate-terminal-${name}"] .lm-TabBar-tabCloseIcon`).click();
  await waitFor(() => tg.ext.terminals.find(name) === undefined || tg.ext.terminals.find(name)!.state !== 'running', 60_000, `terminal ${name} shut down`);
}

describe('jupyterlab-sparkgate in JupyterLab', () => {
  it('opens a Spark shell from a PySpark notebook that sees the notebook\'s temp view', async () => {
    await page.goto(`${lab.baseUrl}/lab?token=${lab.token}`);
    const card = page.locator('.jp-LauncherCard[data-category="Notebook"]', { hasText: 'PySpark (sparkgate)' });
    await card.waitFor({ timeout: 120_000 });
    // The extension's launcher section is there too.
    await page.locator('.jp-LauncherCard', { hasText: 'New PySpark terminal' }).waitFor({ timeout: 30_000 });
    // JupyterLab's "official Jupyter news?" question covers part of the screenshots.
    await page.getByRole('button', { name: 'No', exact: true }).click({ timeout: 10_000 }).catch(() => undefined);
    await page.waitForTimeout(1_000);
    await shot('launcher.png');
    await card.click();

    // A cell run while the kernel is still starting (a JVM: tens of seconds) is dropped by
    // JupyterLab, so wait until the status bar says the kernel is idle.
    await page.locator('.jp-StatusBar-TextItem', { hasText: /PySpark \(sparkgate\) \| Idle/ }).first().waitFor({ timeout: JVM_START_MS });
    const cell = page.locator('.jp-NotebookPanel .jp-Cell .jp-InputArea-editor .cm-content').first();
    await cell.waitFor({ timeout: 60_000 });
    await cell.click();
    // insertText: no key events, so the editor adds no closing brackets or indentation.
    await page.keyboard.insertText(
      [
        "df = spark.createDataFrame([(1, 'alpha'), (2, 'beta'), (3, 'gamma')], ['id', 'word'])",
        "df.createOrReplaceTempView('sg_words')",
        "print('view ready', df.count())",
      ].join('\n'),
    );
    await page.keyboard.press('Shift+Enter');
    await page.locator('.jp-OutputArea-output', { hasText: 'view ready 3' }).first().waitFor({ timeout: JVM_START_MS });

    const sessions = (await (await fetch(`${lab.baseUrl}/api/sessions`, { headers: { authorization: `token ${lab.token}` } })).json()) as {
      kernel: { id: string; name: string };
    }[];
    expect(sessions.map((s) => s.kernel.name)).toEqual(['pyspark']);
    kernelId = sessions[0]!.kernel.id;
    expect(tg.gateway.spark.session(kernelId)).toBeDefined();

    await page.locator('.jp-NotebookPanel-toolbar .jp-sparkgate-shell-button').click();
    const name = await currentTerminalName('attached');
    expect(tg.ext.terminals.get(name).kernelId).toBe(kernelId);
    await waitForScreen(name, /In \[\d+\]: /, 90_000);
    const from = await typeLine(name, 'spark.sql("select * from sg_words order by id").show()');
    await waitForScreen(name, /\|\s*3\|gamma\|/, 120_000, from);
    await waitForScreen(name, /\|\s*1\|alpha\|/, 1_000, from);
    await page.waitForTimeout(500);
    await shot('notebook-shell.png');
    await closeTerminal(name);
    // The notebook's kernel keeps running: an attached shell only ends its console.
    expect(tg.gateway.kernels.find(kernelId)).toBeDefined();
  }, TEST_MS);

  it('shows the session\'s executors in the status bar and opens its Spark UI through Jupyter Server', async () => {
    const status = page.locator('.jp-sparkgate-status');
    // Local mode runs no executor pods: the count is 0 (Kubernetes mode lists the session's pods).
    await expect.poll(() => status.locator('.jp-sparkgate-executors').textContent(), { timeout: 30_000 }).toBe('Spark: 0 executors');
    const link = status.locator('a.jp-sparkgate-ui-link');
    expect(await link.getAttribute('href')).toBe(`${lab.baseUrl}/sparkgate/sessions/${kernelId}/ui/`);
    await shot('status-bar.png');

    const [ui] = await Promise.all([browser.context.waitForEvent('page'), link.click()]);
    await ui.waitForLoadState('load');
    // Spark's redirect to /jobs/ stayed under this server's prefix.
    expect(ui.url()).toBe(`${lab.baseUrl}/sparkgate/sessions/${kernelId}/ui/jobs/`);
    await ui.locator('text=Spark Jobs').first().waitFor({ timeout: 30_000 });
    // Every link, stylesheet and script of the page is under the prefix (the UI renders them
    // with sparkgate's prefix; the proxy rewrote it to ours).
    const urls = await ui.evaluate(() =>
      [...document.querySelectorAll('a[href], link[href], script[src]')].map((e) => (e as HTMLAnchorElement).href || (e as HTMLScriptElement).src),
    );
    const local = urls.filter((u) => u.startsWith('http://127.0.0.1'));
    expect(local.length).toBeGreaterThan(5);
    expect(local.filter((u) => !u.startsWith(`${lab.baseUrl}/sparkgate/sessions/${kernelId}/ui/`))).toEqual([]);
    // The executors page fills its table from the UI's REST API (uiRoot): the scripts work too.
    await ui.goto(`${lab.baseUrl}/sparkgate/sessions/${kernelId}/ui/executors/`);
    await ui.locator('#active-executors-table', { hasText: 'driver' }).waitFor({ timeout: 60_000 });
    await ui.screenshot({ path: path.join(ARTIFACTS, 'spark-ui.png') });
    await ui.close();
  }, TEST_MS);

  const launchers = [
    { label: 'New PySpark terminal', kind: 'pyspark', prompt: />>> $/m, line: 'print("sum", spark.range(7).selectExpr("sum(id)").first()[0])', answer: 'sum 21' },
    { label: 'New spark-shell terminal', kind: 'spark-shell', prompt: /scala> /, line: 'println("sum " + spark.range(7).selectExpr("sum(id)").first().get(0))', answer: 'sum 21' },
    { label: 'New Spark SQL terminal', kind: 'spark-sql', prompt: /spark-sql.*> /, line: "select 'sum', sum(id) from range(7);", answer: /sum\s+21/ },
  ] as const;

  for (const l of launchers) {
    it(`"${l.label}" from the launcher opens a working ${l.kind} terminal`, async () => {
      // The main area's "+" (a new launcher tab).
      await page.locator('.lm-DockPanel-tabBar .lm-TabBar-addButton:visible').first().click();
      const card = page.locator('.jp-LauncherCard:visible', { hasText: l.label });
      await card.waitFor({ timeout: 30_000 });
      await card.click();
      const name = await currentTerminalName(l.kind);
      const sessionId = tg.ext.terminals.get(name).sessionId;
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
      await waitForScreen(name, l.prompt, JVM_START_MS);
      const from = await typeLine(name, l.line);
      await waitForScreen(name, l.answer, 120_000, from);
      await page.waitForTimeout(500);
      await shot(`${l.kind}-terminal.png`);
      await closeTerminal(name);
      // Its own Spark session ends with it: no JVM of that session left.
      await waitFor(() => pidsWith(sessionId!).length === 0, 60_000, `no process of session ${sessionId}`);
    }, TEST_MS);
  }

  it('raised no page errors, and the page never saw the gateway or its token', () => {
    expect(problems).toEqual([]);
    expect(gatewayLeaks).toEqual([]);
  });
});
