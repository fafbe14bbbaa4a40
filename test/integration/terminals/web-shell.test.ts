/**
 * The web shell in a real browser: Debian's headless Chromium driven by playwright-core (never a
 * downloaded browser). Opens /shell without a token, signs in, starts a Python REPL, types, reads
 * the answer from xterm.js, and saves a screenshot to test-artifacts/web-shell.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../src/config.js';
import { waitFor } from '../../helpers/kernel-client.js';
import { startTerminalGateway, type TerminalGateway } from './terminal-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

let tg: TerminalGateway;
let context: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the web shell test needs Debian's chromium ` +
        '(apt-get install -y chromium, or scripts/ensure-deps.sh test)',
    );
  }
  tg = await startTerminalGateway();
  profile = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1000, height: 640 },
  });
});

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await tg?.stop();
});

/** The text xterm.js rendered (its DOM renderer: one row element per line). */
async function screenText(page: Page): Promise<string> {
  return page.locator('.xterm-rows').innerText();
}

async function waitForScreen(page: Page, text: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = await screenText(page);
    if (screen.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)} on the page; screen:\n${screen}`);
    await page.waitForTimeout(100);
  }
}

describe('web shell', () => {
  it('signs in with the token, opens a Python REPL, runs a command, shows the result', async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });

    // The page needs no token; everything it fetches does.
    const res = await page.goto(`${tg.url}/shell`);
    expect(res?.status()).toBe(200);
    await page.locator('#login').waitFor({ state: 'visible' });

    await page.fill('#token', 'not-the-token');
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('#login-error').innerText()).toContain('not accepted');
    expect(problems.every((p) => p.includes('401'))).toBe(true); // the refused sign-in, nothing else
    problems.length = 0;

    await page.fill('#token', tg.token);
    await page.click('#login button[type=submit]');
    await page.locator('#chooser').waitFor({ state: 'visible' });
    await page.selectOption('#target', 'new:python');
    await page.click('#open');

    await waitForScreen(page, '>>> ');
    await waitFor(() => tg.ext.terminals.list().length === 1, 5_000, 'terminal created');
    const terminal = tg.ext.terminals.list()[0]!;
    // xterm's fit addon sized the pty to the page.
    await waitFor(() => terminal.cols > 80, 5_000, 'page size sent');

    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('print(6*7, "from the browser")');
    await page.keyboard.press('Enter');
    await waitForScreen(page, '42 from the browser');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-shell.png') });

    // The token stays in this tab's sessionStorage, nowhere else.
    expect(await page.evaluate(() => sessionStorage.getItem('sparkgate.token'))).toBe(tg.token);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect((await context!.cookies()).length).toBe(0);

    // A reload reconnects to the same terminal and replays its recent output.
    await page.reload();
    await waitForScreen(page, '42 from the browser');
    expect(tg.ext.terminals.list().map((t) => t.name)).toEqual([terminal.name]);

    // Ctrl-D ends the REPL; the page says so.
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.press('Control+D');
    await waitForScreen(page, 'process exited with status 0');
    await waitFor(() => tg.ext.terminals.list().length === 0, 5_000, 'terminal gone');
    expect(problems).toEqual([]);
    await page.close();
  });
});
