/** A gateway with terminals, and a bare terminado websocket client for the integration tier. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { REPO_ROOT } from '../../../src/config.js';
import { createGateway } from '../../../src/gateway-factory.js';
import { decodeServerFrame, encodeSetSize, encodeStdin, type ExitStatus } from '../../../src/terminals/terminado-codec.js';
import type { TerminalModel } from '../../../src/terminals/terminal-models.js';
import { TerminalsExtension, type TerminalsExtensionOptions } from '../../../src/terminals/terminals-extension.js';
import { api, FIXTURE_SPECS, REPO_SPECS, serveTestGateway, startGateway, testGatewayConfig, testLogger, type TestGateway } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/kernel-client.js';

/** A kernelspec whose kernel is ipykernel but says it is Scala (attach must refuse it). */
export const TERMINAL_SPECS = path.join(REPO_ROOT, 'test', 'integration', 'terminals', 'kernelspecs');

export interface TerminalGateway extends TestGateway {
  ext: TerminalsExtension;
}

export async function startTerminalGateway(
  options: TerminalsExtensionOptions = {},
  overrides: Record<string, unknown> = {},
): Promise<TerminalGateway> {
  const ext = new TerminalsExtension(options);
  const tg = await startGateway({ kernelspecDirs: [REPO_SPECS, FIXTURE_SPECS, TERMINAL_SPECS], ...overrides }, { extensions: [ext] });
  return Object.assign(tg, { ext });
}

/**
 * A gateway built as `sparkgate serve` builds it (createGateway: terminals wired to the Spark
 * plugin's prepareSession/onSessionEnd), on port 0 with the repository's kernelspecs.
 */
export async function startServeGateway(overrides: Record<string, unknown> = {}): Promise<TerminalGateway> {
  // REPLs start in the test's temp dir: what Spark writes to its working directory (spark-warehouse) goes there too.
  const { config, runtimeRoot } = testGatewayConfig({ kernelspecDirs: [REPO_SPECS], ...overrides });
  const { logger, lines } = testLogger(config.logLevel);
  const gateway = createGateway({ config, env: process.env, logger });
  const tg = await serveTestGateway(gateway, runtimeRoot, lines);
  const ext = gateway.extensions.find((e): e is TerminalsExtension => e instanceof TerminalsExtension);
  if (!ext) {
    await tg.stop();
    throw new Error('createGateway built no terminals extension');
  }
  return Object.assign(tg, { ext });
}

/** Terminal output without ANSI control sequences (jline's prompt colours, cursor moves). */
export function plainText(output: string): string {
  return output.replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b[=>]|[\b]/g, '');
}

export async function createTerminal(tg: TestGateway, body: Record<string, unknown> = {}): Promise<TerminalModel> {
  const res = await api(tg, '/api/terminals', { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`POST /api/terminals: ${res.status} ${await res.text()}`);
  return (await res.json()) as TerminalModel;
}

/** `token: null` leaves it out. */
export function terminalWsUrl(tg: TestGateway, name: string, token: string | null = tg.token): string {
  const base = `${tg.url.replace(/^http/, 'ws')}/terminals/websocket/${encodeURIComponent(name)}`;
  return token === null ? base : `${base}?token=${encodeURIComponent(token)}`;
}

/** One websocket on a terminal, recording what it receives. */
export class WsTerminal {
  output = '';
  readonly frames: unknown[][] = [];
  disconnect: ExitStatus | undefined;
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      this.frames.push(JSON.parse(text) as unknown[]);
      const frame = decodeServerFrame(text);
      if (frame?.type === 'stdout') this.output += frame.data;
      if (frame?.type === 'disconnect') this.disconnect = frame.status;
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      }),
    );
    ws.on('error', () => undefined);
  }

  static async open(tg: TestGateway, name: string): Promise<WsTerminal> {
    const ws = new WebSocket(terminalWsUrl(tg, name), { perMessageDeflate: false });
    const t = new WsTerminal(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    await waitFor(() => t.frames.length > 0, 5_000, 'setup frame');
    return t;
  }

  send(frame: string | Buffer): void {
    this.ws.send(frame);
  }

  type(text: string): void {
    this.ws.send(encodeStdin(text));
  }

  resize(rows: number, cols: number): void {
    this.ws.send(encodeSetSize(rows, cols));
  }

  /** Waits for `pattern` in the output received after `from` (an offset into `output`). */
  async expect(pattern: RegExp | string, timeoutMs = 10_000, from = 0): Promise<string> {
    // Strings are searched incrementally (outputs here reach tens of megabytes).
    let cursor = from;
    const match = (): boolean => {
      if (typeof pattern !== 'string') return pattern.test(this.output.slice(from));
      if (this.output.indexOf(pattern, cursor) >= 0) return true;
      cursor = Math.max(from, this.output.length - pattern.length);
      return false;
    };
    await waitFor(match, timeoutMs, `${String(pattern)} in terminal output`).catch((err: Error) => {
      throw new Error(`${err.message}; got ${JSON.stringify(this.output.slice(-400))}`);
    });
    return this.output;
  }

  /** As expect, on the output without ANSI control sequences (see plainText). */
  async expectPlain(pattern: RegExp | string, timeoutMs = 10_000, from = 0): Promise<string> {
    const match = (): boolean => {
      const text = plainText(this.output.slice(from));
      return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
    };
    await waitFor(match, timeoutMs, `${String(pattern)} in terminal output`).catch((err: Error) => {
      throw new Error(`${err.message}; got ${JSON.stringify(plainText(this.output.slice(-600)))}`);
    });
    return plainText(this.output.slice(from));
  }

  /** Type a line and wait for `expected` after it. */
  async run(line: string, expected: RegExp | string, timeoutMs = 10_000): Promise<void> {
    const from = this.output.length;
    this.type(`${line}\r`);
    await this.expect(expected, timeoutMs, from);
  }

  close(): void {
    this.ws.close(1000);
  }
}

/** Processes whose command line contains `text` (a session id: a REPL's JVM has it in its args). */
export function pidsWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** argv of a process, from /proc. */
export function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

/** The gateway's environment with no Spark in it: no SPARK_HOME, no PATH entry holding pyspark. */
export function envWithoutSpark(): NodeJS.ProcessEnv {
  const { SPARK_HOME: _home, ...env } = process.env;
  const dirs = (env['PATH'] ?? '').split(':').filter((dir) => dir && !existsSync(path.join(dir, 'pyspark')));
  return { ...env, PATH: dirs.join(':') };
}
