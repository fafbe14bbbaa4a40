/**
 * The `spark-scala` kernel: without Spark it still starts and every cell explains; with a
 * stand-in spark-shell (fixtures/spark-home: records its launch, then runs plain Scala, no Spark
 * inside) it is launched with exactly the conf the gateway rendered for the session, client
 * mode, and cells run. Also: the JVM dying marks the kernel dead, and the adapter dying takes the
 * JVM with it.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KernelManager, type Kernel, type KernelMessage } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../src/config.js';
import { toPropertiesFile } from '../../../src/spark/spark-conf.js';
import { alive, execute, waitFor } from '../../helpers/kernel-client.js';
import { api, startGateway, type TestGateway } from '../../helpers/gateway.js';

const START_TIMEOUT_MS = 120_000;
const STAND_IN = path.join(REPO_ROOT, 'test', 'integration', 'scala', 'fixtures', 'spark-home', 'bin', 'spark-shell');

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function gatewayWith(sparkHome: string): Promise<{ tg: TestGateway; km: KernelManager }> {
  const tg = await startGateway({ kernelStartTimeoutMs: START_TIMEOUT_MS, spark: { sparkHome } });
  const km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
  cleanups.push(async () => {
    km.dispose();
    await tg.stop();
  });
  return { tg, km };
}

describe('spark-scala without Spark', () => {
  it('starts, reports Scala, and every cell fails with SparkNotInstalledError saying how to fix it', async () => {
    const emptyHome = tempDir('sparkgate-no-spark-');
    const { km } = await gatewayWith(emptyHome);
    const kernel = await km.startNew({ name: 'spark-scala' });
    const info = (await kernel.info) as KernelMessage.IInfoReply;
    expect(info.language_info.name).toBe('scala');
    for (const code of ['1 + 1', 'println("hello")']) {
      const r = await execute(kernel, code);
      expect(r.reply.content.status).toBe('error');
      expect(r.errors).toHaveLength(1);
      const [error] = r.errors;
      expect(error!.ename).toBe('SparkNotInstalledError');
      expect(error!.evalue).toContain('Spark is not installed on this gateway');
      expect(error!.evalue).toContain(`SPARK_HOME=${emptyHome} has no bin/spark-shell`);
      expect(error!.evalue).toContain('set SPARK_HOME');
      expect(r.stdout).toBe('');
      expect(r.results).toHaveLength(0);
    }
    await kernel.shutdown();
  });
});

describe('spark-scala with a stand-in spark-shell', () => {
  let tg: TestGateway;
  let km: KernelManager;
  let kernel: Kernel.IKernelConnection;
  let sparkHome: string;

  const launches = (): string[] => {
    const dir = path.join(sparkHome, 'launches');
    return existsSync(dir) ? readdirSync(dir).sort().map((d) => path.join(dir, d)) : [];
  };
  const read = (launch: string, file: string): string => readFileSync(path.join(launch, file), 'utf8');

  beforeAll(async () => {
    sparkHome = tempDir('sparkgate-spark-home-');
    mkdirSync(path.join(sparkHome, 'bin'));
    copyFileSync(STAND_IN, path.join(sparkHome, 'bin', 'spark-shell'));
    ({ tg, km } = await gatewayWith(sparkHome));
    kernel = await km.startNew({ name: 'spark-scala' });
    await kernel.info;
  }, START_TIMEOUT_MS + 10_000);

  it('launched spark-shell with the conf the gateway rendered for this session (client mode)', async () => {
    const [launch] = launches();
    expect(launch).toBeDefined();
    const session = tg.gateway.spark.session(kernel.id)!;
    expect(session).toBeDefined();
    const propertiesFile = path.join(tg.runtimeDir, `spark-${kernel.id}.properties`);
    expect(read(launch!, 'argv').trimEnd().split('\n')).toEqual([
      '--properties-file',
      propertiesFile,
      '--name',
      `sparkgate-spark-scala-${kernel.id.slice(0, 8)}`,
      '-Xnojline',
    ]);
    const properties = read(launch!, 'properties');
    expect(properties).toBe(toPropertiesFile(session.conf));
    expect(properties).toContain('spark.submit.deployMode=client\n');
    expect(properties).toContain(`spark.driver.port=${session.ports.driverPort}\n`);
    expect(properties).toContain(`spark.driver.blockManager.port=${session.ports.blockManagerPort}\n`);
    expect(properties).toContain('spark.driver.host=127.0.0.1\n');
    expect(properties).toContain(`spark.ui.proxyBase=/api/sparkgate/sessions/${kernel.id}/ui\n`);
    expect(properties).toContain(`spark.app.name=sparkgate-spark-scala-${kernel.id.slice(0, 8)}\n`);
    const env = read(launch!, 'env');
    expect(env).toContain(`SPARK_HOME=${sparkHome}\n`);
    expect(env).toContain(`SPARKGATE_SPARK_PROPERTIES_FILE=${propertiesFile}\n`);
  });

  it('cells run in the REPL spark-shell started, with the session environment', async () => {
    const r = await execute(kernel, 'val x = 21; x * 2');
    expect(r.results[0]?.['text/plain']).toBe('42');
    const home = await execute(kernel, 'sys.env("SPARK_HOME")');
    expect(home.results[0]?.['text/plain']).toBe(sparkHome);
    // No Spark in the stand-in: nothing pretends there is.
    const noSc = await execute(kernel, 'sc');
    expect(noSc.errors[0]?.ename).toBe('CompileError');
  });

  /** States the gateway's session goes through from now on. */
  function watchStates(): string[] {
    const states: string[] = [];
    tg.gateway.kernels.get(kernel.id).on('state', (_before, after) => states.push(after));
    return states;
  }

  it('the JVM exiting on its own is a dying kernel: the gateway sees it and a new run launches spark-shell with a fresh conf', async () => {
    const states = watchStates();
    const r = await execute(kernel, 'sys.exit(3)');
    expect(r.reply.content.status).toBe('error');
    expect(r.errors[0]?.ename).toBe('ReplExited');
    expect(r.errors[0]?.evalue).toContain('code 3');
    // The gateway restarts a dying kernel by itself (kernelRestartLimit); the client sees
    // 'restarting' and reconnects on its own, as JupyterLab does.
    await waitFor(() => states.includes('restarting'), 15_000, 'kernel restarting');
    const k = tg.gateway.kernels.get(kernel.id);
    await waitFor(() => k.state === 'idle', START_TIMEOUT_MS, 'idle after restart');
    await waitFor(() => kernel.connectionStatus === 'connected', 15_000, 'client reconnected');
    const all = launches();
    expect(all).toHaveLength(2);
    expect(read(all[1]!, 'properties')).toBe(toPropertiesFile(tg.gateway.spark.session(kernel.id)!.conf));
    expect((await execute(kernel, 'x')).errors[0]?.ename).toBe('CompileError'); // a new REPL
  }, START_TIMEOUT_MS);

  it('the adapter dying takes the JVM with it', async () => {
    const k = tg.gateway.kernels.get(kernel.id);
    const pid = await execute(kernel, 'java.lang.management.ManagementFactory.getRuntimeMXBean.getName.takeWhile(_ != \'@\').toInt');
    const jvm = Number(pid.results[0]?.['text/plain']);
    expect(alive(jvm)).toBe(true);
    const states = watchStates();
    process.kill(k.pid!, 'SIGKILL'); // the adapter alone, not its process group
    await waitFor(() => !alive(jvm), 15_000, 'JVM gone after the adapter died');
    await waitFor(() => states.includes('restarting'), 15_000, 'kernel restarting');
    // Back under the same id with a new adapter and JVM; let the client's reconnect settle before
    // the connection is disposed (disposing mid-reconnect rejects inside @jupyterlab/services).
    await waitFor(() => k.state === 'idle', START_TIMEOUT_MS, 'idle after restart');
    await waitFor(() => kernel.connectionStatus === 'connected', 15_000, 'client reconnected');
    expect(k.pid).not.toBe(undefined);
    expect(alive(k.pid)).toBe(true);
  }, START_TIMEOUT_MS);
});
