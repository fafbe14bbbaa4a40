/** A gateway with terminals, and a bare terminado websocket client for the integration tier. */
import path from 'node:path';
import WebSocket from 'ws';
import { REPO_ROOT } from '../../../src/config.js';
import { decodeServerFrame, encodeSetSize, encodeStdin, type ExitStatus } from '../../../src/terminals/terminado-codec.js';
import type { TerminalModel } from '../../../src/terminals/terminal-models.js';
import { TerminalsExtension, type TerminalsExtensionOptions } from '../../../src/terminals/terminals-extension.js';
import { api, FIXTURE_SPECS, REPO_SPECS, startGateway, type TestGateway } from '../../helpers/gateway.js';
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
