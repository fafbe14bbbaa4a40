/**
 * A terminal that owns its session gets the same rendered Spark conf as a kernel (through
 * createGateway, as `sparkgate serve` builds it) and releases it when the REPL exits.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { Gateway } from '../../../src/gateway.js';
import { createGateway } from '../../../src/gateway-factory.js';
import { createLogger } from '../../../src/logger.js';
import { REPO_SPECS, type TestGateway } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/kernel-client.js';
import { createTerminal, WsTerminal } from './terminal-helpers.js';

let gateway: Gateway;
let tg: TestGateway;
let runtimeDir: string;

beforeAll(async () => {
  runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-test-'));
  const config = loadConfig({
    env: {},
    overrides: { port: 0, token: 'term-spark', logLevel: 'warn', runtimeDir, kernelspecDirs: [REPO_SPECS], spark: { uiPortRange: '44200-44204', driverPortRange: '44000-44004', blockManagerPortRange: '44100-44104' } },
  });
  gateway = createGateway({ config, env: process.env, logger: createLogger({ level: 'warn', destination: process.stderr }) });
  const url = await gateway.start();
  tg = { gateway, url, token: 'term-spark', runtimeDir: gateway.runtimeDir, runtimeRoot: runtimeDir, logLines: [], settings: undefined as never, stop: () => gateway.stop() };
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(runtimeDir, { recursive: true, force: true });
});

it('a pyspark terminal gets its own rendered Spark conf, released on exit', async () => {
  const model = await createTerminal(tg, { kernelspec: 'pyspark' });
  const term = await WsTerminal.open(tg, model.name);
  await term.expect('>>> ', 20_000);
  term.type("import os, json; c = json.load(open(os.environ['SPARKGATE_SPARK_CONF_FILE'])); print('UI=' + c['spark.ui.port'])\r");
  await term.expect(/UI=442\d\d/, 10_000);
  const confFile = path.join(gateway.runtimeDir, (await import('node:fs')).readdirSync(gateway.runtimeDir).find((f) => f.startsWith('spark-') && f.endsWith('.json'))!);
  expect(existsSync(confFile)).toBe(true);
  term.type('exit()\r');
  await term.closed;
  await waitFor(() => !existsSync(confFile), 10_000, 'conf file removed');
});
