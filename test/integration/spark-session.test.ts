/**
 * The Spark session plug-in end to end in embedded local mode: the rendered conf reaches the
 * kernel process (as the launcher would read it), each session has its own ports, policy limits
 * are enforced at the door, and everything is released when the session ends.
 */
import { existsSync } from 'node:fs';
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, type TestGateway } from '../helpers/gateway.js';
import { execute } from '../helpers/kernel-client.js';

let tg: TestGateway;
let km: KernelManager;

beforeAll(async () => {
  tg = await startGateway({
    // Below the ephemeral range (32768+) and the other tests' random blocks (20000-31999): fixed ports
    // up there were now and then held by some connection's local port, and the 5th start got a 403.
    spark: { driverPortRange: '19000-19004', blockManagerPortRange: '19100-19104', uiPortRange: '19200-19204', maxExecutorMemory: '4g' },
  });
  km = new KernelManager({ serverSettings: tg.settings });
});

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
});

const READ_CONF = [
  'import json, os',
  "conf = json.load(open(os.environ['SPARKGATE_SPARK_CONF_FILE']))",
  "print(json.dumps({'conf': conf, 'submit': os.environ['PYSPARK_SUBMIT_ARGS'], 'props': open(os.environ['SPARKGATE_SPARK_PROPERTIES_FILE']).read()}))",
].join('\n');

async function sessionConf(kernel: Kernel.IKernelConnection): Promise<{ conf: Record<string, string>; submit: string; props: string }> {
  const out = await execute(kernel, READ_CONF);
  expect(out.errors).toEqual([]);
  return JSON.parse(out.stdout);
}

describe('Spark sessions in local mode', () => {
  it('hands the rendered conf to the kernel, with its own ports', async () => {
    const a = await km.startNew({ name: 'spark-env' }, {});
    const b = await km.startNew({ name: 'spark-env' });
    await Promise.all([a.info, b.info]);
    const ca = await sessionConf(a);
    const cb = await sessionConf(b);
    expect(ca.conf['spark.master']).toBe('local[*]');
    expect(ca.conf['spark.driver.memory']).toBe('2g'); // the kernelspec profile
    expect(ca.conf['spark.ui.proxyBase']).toBe(`/api/sparkgate/sessions/${a.id}/ui`);
    expect(ca.submit).toMatch(/^--properties-file \S+\.properties pyspark-shell$/);
    expect(ca.props).toContain('spark.master=local[*]');
    const ports = (c: Record<string, string>) => [c['spark.driver.port'], c['spark.driver.blockManager.port'], c['spark.ui.port']].map(Number);
    for (const p of [...ports(ca.conf), ...ports(cb.conf)]) expect(p).toBeGreaterThanOrEqual(19000);
    expect(ports(ca.conf)).not.toEqual(ports(cb.conf));
    expect(tg.gateway.spark.session(a.id)?.ports.uiPort).toBe(Number(ca.conf['spark.ui.port']));
    await a.shutdown();
    await b.shutdown();
  });

  it('applies KERNEL_* requests within limits and refuses those beyond', async () => {
    const ok = await api(tg, '/api/kernels', {
      method: 'POST',
      body: JSON.stringify({ name: 'spark-env', env: { KERNEL_DRIVER_MEMORY: '3g', KERNEL_SPARK_CONF: '{"spark.sql.shuffle.partitions":"8"}' } }),
    });
    expect(ok.status).toBe(201);
    const { id } = await ok.json();
    const kernel = km.connectTo({ model: { id, name: 'spark-env' } });
    const { conf } = await sessionConf(kernel);
    expect(conf['spark.driver.memory']).toBe('3g');
    expect(conf['spark.sql.shuffle.partitions']).toBe('8');
    kernel.dispose();
    await api(tg, `/api/kernels/${id}`, { method: 'DELETE' });

    const tooBig = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env', env: { KERNEL_EXECUTOR_MEMORY: '64g' } }) });
    expect(tooBig.status).toBe(403);
    expect((await tooBig.json()).message).toContain('spark.maxExecutorMemory');
    const malformed = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env', env: { KERNEL_EXECUTOR_MEMORY: 'lots' } }) });
    expect(malformed.status).toBe(400);
    const owned = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env', env: { KERNEL_SPARK_CONF: '{"spark.master":"yarn"}' } }) });
    expect(owned.status).toBe(403);
    expect((await owned.json()).message).toContain('spark.master');
    expect(tg.gateway.kernels.list()).toHaveLength(0);
  });

  it('releases ports and removes conf files at the end, and re-renders on restart', async () => {
    const kernel = await km.startNew({ name: 'spark-env' });
    await kernel.info;
    const first = tg.gateway.spark.session(kernel.id)!;
    const { conf } = await sessionConf(kernel);
    await kernel.restart();
    const after = await sessionConf(kernel);
    expect(after.conf['spark.app.name']).toBe(conf['spark.app.name']);
    expect(tg.gateway.spark.session(kernel.id)).toBeDefined();
    expect(first.ports).toBeDefined();
    const files = [`${tg.runtimeDir}/spark-${kernel.id}.json`, `${tg.runtimeDir}/spark-${kernel.id}.properties`];
    for (const f of files) expect(existsSync(f)).toBe(true);
    await kernel.shutdown();
    for (const f of files) expect(existsSync(f)).toBe(false);
    expect(tg.gateway.spark.session(kernel.id)).toBeUndefined();
  });

  it('a full port range is a clear 403, not a collision', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env' }) });
      expect(res.status, await res.clone().text()).toBe(201);
      ids.push((await res.json()).id);
    }
    const sixth = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env' }) });
    expect(sixth.status).toBe(403);
    expect((await sixth.json()).message).toContain('spark.driverPortRange');
    await Promise.all(ids.map((id) => api(tg, `/api/kernels/${id}`, { method: 'DELETE' })));
  });
});
