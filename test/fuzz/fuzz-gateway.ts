/**
 * The fuzz tier's gateway: a real sparkgate (terminals included, as `sparkgate serve` has them)
 * on port 0, with a "bystander" python3 kernel started before any hostile input by a
 * well-behaved client. After every batch, `assertHealthy` proves the gateway still answers and
 * the bystander is the same process and still runs `1+1`: bad input from one client never costs
 * another user their session.
 */
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { expect } from 'vitest';
import { execute } from '../helpers/kernel-client.js';
import { api } from '../helpers/gateway.js';
import { startTerminalGateway, type TerminalGateway } from '../integration/terminals/terminal-helpers.js';

export interface FuzzGateway {
  tg: TerminalGateway;
  bystander: Kernel.IKernelConnection;
  /** A python3 kernel the hostile input is aimed at. */
  victimId: string;
  assertHealthy(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFuzzGateway(overrides: Record<string, unknown> = {}): Promise<FuzzGateway> {
  const tg = await startTerminalGateway({}, { maxTerminals: 4, maxKernels: 4, maxWsMessageBytes: 1024 * 1024, maxBodyBytes: 64 * 1024, ...overrides });
  const manager = new KernelManager({ serverSettings: tg.settings });
  const bystander = await manager.startNew({ name: 'python3' });
  await execute(bystander, 'x = 40');
  const bystanderPid = tg.gateway.kernels.find(bystander.id)?.pid;
  const res = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'python3' }) });
  const victimId = ((await res.json()) as { id: string }).id;

  return {
    tg,
    bystander,
    victimId,
    async assertHealthy() {
      const ping = await api(tg, '/api');
      expect(ping.status).toBe(200);
      expect(tg.gateway.kernels.find(bystander.id)?.pid).toBe(bystanderPid);
      const result = await execute(bystander, 'x + 2 - 40');
      expect(result.results[0]?.['text/plain']).toBe('2');
    },
    async stop() {
      bystander.dispose();
      manager.dispose();
      await tg.stop();
    },
  };
}

/** The one error shape every 4xx/5xx body must have. */
export function expectErrorShape(status: number, body: string, context: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`${context}: ${status} body is not JSON: ${JSON.stringify(body.slice(0, 200))}`);
  }
  const keys = parsed && typeof parsed === 'object' ? Object.keys(parsed).sort().join(',') : '';
  if (keys !== 'message,reason') throw new Error(`${context}: ${status} body is not {message, reason}: ${body.slice(0, 200)}`);
  const { message, reason } = parsed as { message: unknown; reason: unknown };
  if (typeof message !== 'string' || typeof reason !== 'string' || !message || !reason) {
    throw new Error(`${context}: ${status} body has empty or non-string fields: ${body.slice(0, 200)}`);
  }
}

/** A hostile-but-plausible set of JSON texts: deep, huge, long, broken, duplicated, mistyped. */
export function hostileJsonTexts(): string[] {
  return [
    '['.repeat(10_000) + ']'.repeat(10_000),
    '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000),
    '['.repeat(100_000),
    '1e999999',
    '-' + '9'.repeat(5_000),
    '"' + 'x'.repeat(200_000) + '"',
    '{"name":"python3","name":{"a":1}}',
    '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    '{"name":["python3"],"env":"KERNEL_X"}',
    '{"name":null,"env":{"KERNEL_X":{"deep":' + '['.repeat(5_000) + ']'.repeat(5_000) + '}}}',
    '{"env":{"KERNEL_SPARK_CONF":"' + '['.repeat(3_000) + '"}}',
    '\ufeff{}',
    '{"a":"\\ud800"}',
    '',
    'null',
    'true',
    '"str"',
    '{',
  ];
}
