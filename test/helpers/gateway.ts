/**
 * Start a real sparkgate on port 0 for a test, and the @jupyterlab/services settings that talk
 * to it (Node needs `WebSocket` from ws and the global fetch; see shared/FACTS.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ServerConnection } from '@jupyterlab/services';
import WebSocket from 'ws';
import { loadConfig, REPO_ROOT, type GatewayConfig } from '../../src/config.js';
import { Gateway, type GatewayOptions } from '../../src/gateway.js';
import { createLogger, type Logger } from '../../src/logger.js';

export const FIXTURE_SPECS = path.join(REPO_ROOT, 'test', 'fixtures', 'kernelspecs');
export const REPO_SPECS = path.join(REPO_ROOT, 'kernel', 'specs');

export interface TestGateway {
  gateway: Gateway;
  url: string;
  token: string;
  settings: ServerConnection.ISettings;
  /** The gateway's own runtime directory (connection and Spark conf files), inside `runtimeRoot`. */
  runtimeDir: string;
  /** The `runtimeDir` setting: a temp dir of the test, removed by stop(). */
  runtimeRoot: string;
  /** Every JSON log line the gateway wrote. */
  logLines: string[];
  stop(): Promise<void>;
}

/**
 * Spark port ranges of their own for each test gateway. Gateways of test files running side by
 * side would otherwise all hand out 40000, 40001, ... (each allocator only knows its own
 * sessions), and a port probed free is bound by the driver JVM seconds later. Below the
 * ephemeral range (32768+), in blocks of 60 ports: the 200 blocks are split between vitest's
 * workers (VITEST_POOL_ID), so files running at once never share a block, and within a file
 * each gateway takes the next block after a random start (a block used a moment ago by an
 * earlier file of the same worker is unlikely to come back soon).
 */
const PORT_BLOCKS = 200;
const WORKER_SHARES = 4;
let nextBlock: number | undefined;

export function testSparkPorts(): Record<string, string> {
  const share = (Math.max(1, Number(process.env['VITEST_POOL_ID'] ?? '1') || 1) - 1) % WORKER_SHARES;
  const perShare = PORT_BLOCKS / WORKER_SHARES;
  nextBlock ??= Math.floor(Math.random() * perShare);
  const block = (nextBlock++ % perShare) * WORKER_SHARES + share;
  const base = 20_000 + block * 60;
  const range = (from: number): string => `${from}-${from + 19}`;
  return { driverPortRange: range(base), blockManagerPortRange: range(base + 20), uiPortRange: range(base + 40) };
}

/** A test gateway's config: port 0, a fresh token, its own temp runtime and work dir, random Spark ports. */
export function testGatewayConfig(overrides: Record<string, unknown> = {}): { config: GatewayConfig; runtimeRoot: string } {
  const runtimeRoot = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-test-'));
  const config = loadConfig({
    env: {},
    overrides: {
      host: '127.0.0.1',
      port: 0,
      token: `test-token-${Math.random().toString(36).slice(2)}`,
      logLevel: process.env['SPARKGATE_TEST_LOG_LEVEL'] ?? 'info',
      runtimeDir: runtimeRoot,
      // Kernels (and Spark's spark-warehouse/) work in the test's temp dir, not the checkout.
      workDir: runtimeRoot,
      // Usage records and session logs too, not ~/.local/state.
      stateDir: path.join(runtimeRoot, 'state'),
      kernelspecDirs: [REPO_SPECS, FIXTURE_SPECS],
      kernelStartTimeoutMs: 30_000,
      ...overrides,
      spark: { ...testSparkPorts(), ...((overrides['spark'] as Record<string, unknown> | undefined) ?? {}) },
    },
  });
  return { config, runtimeRoot };
}

/** A logger that keeps every JSON line (and echoes them with SPARKGATE_TEST_LOGS=1). */
export function testLogger(level: GatewayConfig['logLevel']): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      if (process.env['SPARKGATE_TEST_LOGS']) process.stderr.write(chunk);
      cb();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

/** Start `gateway` and wrap it with the @jupyterlab/services settings that talk to it. */
export async function serveTestGateway(gateway: Gateway, runtimeRoot: string, logLines: string[]): Promise<TestGateway> {
  const url = await gateway.start();
  const settings = ServerConnection.makeSettings({
    baseUrl: url,
    wsUrl: url.replace(/^http/, 'ws'),
    token: gateway.token,
    appendToken: true,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    fetch: globalThis.fetch,
    Request: globalThis.Request,
    Headers: globalThis.Headers,
  });
  return {
    gateway,
    url,
    token: gateway.token,
    settings,
    runtimeDir: gateway.runtimeDir,
    runtimeRoot,
    logLines,
    async stop() {
      await gateway.stop();
      rmSync(runtimeRoot, { recursive: true, force: true });
    },
  };
}

/** testSparkPorts() as the SPARKGATE_SPARK_* variables, for gateways the tests run as processes. */
export function testSparkPortsEnv(): Record<string, string> {
  const ports = testSparkPorts();
  return {
    SPARKGATE_SPARK_DRIVER_PORT_RANGE: ports['driverPortRange']!,
    SPARKGATE_SPARK_BLOCK_MANAGER_PORT_RANGE: ports['blockManagerPortRange']!,
    SPARKGATE_SPARK_UI_PORT_RANGE: ports['uiPortRange']!,
  };
}

export async function startGateway(
  overrides: Record<string, unknown> = {},
  options: Partial<Omit<GatewayOptions, 'config'>> = {},
): Promise<TestGateway> {
  const { config, runtimeRoot } = testGatewayConfig(overrides);
  const { logger, lines } = testLogger(config.logLevel);
  const gateway = new Gateway({ config, logger, defaultMetrics: false, ...options });
  return serveTestGateway(gateway, runtimeRoot, lines);
}

/** fetch against the gateway with the token header. */
export function api(tg: TestGateway, route: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${tg.url}${route}`, {
    ...init,
    headers: { authorization: `token ${tg.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
}
