/**
 * The warm pool with real ipykernels: pooled sessions are handed out once, only when the request
 * changes nothing they were started with, refill in the background, stay out of the user quota
 * and the API listing, are replaced when they die, and end (with session-end work) on stop.
 */
import { KernelManager } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEndReason, SessionPlugin } from '../../src/kernels/kernel-launcher.js';
import { api, startGateway, type TestGateway } from '../helpers/gateway.js';
import { alive, execute, waitFor } from '../helpers/kernel-client.js';

const ended: { id: string; reason: SessionEndReason }[] = [];
const recorder: SessionPlugin = {
  name: 'recorder',
  onEnd: async (id, reason) => {
    ended.push({ id, reason });
  },
};

let tg: TestGateway;
let km: KernelManager;

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await api(tg, '/metrics')).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

const pool = () => tg.gateway.kernels.warmPool;
const ready = () => pool().counts().find((c) => c.kernelspec === 'plain-python')?.ready ?? 0;

async function post(body: unknown): Promise<{ status: number; id: string; ms: number }> {
  const t0 = performance.now();
  const res = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify(body) });
  const json = (await res.json()) as { id: string };
  return { status: res.status, id: json.id, ms: performance.now() - t0 };
}

beforeAll(async () => {
  tg = await startGateway({ warmPool: 'plain-python=2', warmPoolMaxTotal: 3, maxKernels: 3 }, { plugins: [recorder] });
  km = new KernelManager({ serverSettings: tg.settings });
  await waitFor(() => ready() === 2, 40_000, 'pool filled');
});

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
});

describe('warm pool', () => {
  it('keeps pooled sessions out of the API and reports them in /metrics', async () => {
    expect(await (await api(tg, '/api/kernels')).json()).toEqual([]);
    expect(await metric('sparkgate_warm_pool_kernels', { kernelspec: 'plain-python', state: 'ready' })).toBe(2);
    expect(await metric('sparkgate_warm_pool_kernels', { kernelspec: 'plain-python', state: 'target' })).toBe(2);
    const pooledId = pool().kernels()[0]!.id;
    expect((await api(tg, `/api/kernels/${pooledId}`)).status).toBe(404);
    expect(tg.gateway.kernels.isLive(pooledId)).toBe(true); // the executor reaper keeps its pods
  });

  it('hands out a pooled session, which works and is fresh, and refills', async () => {
    const pooledIds = pool().kernels().map((k) => k.id);
    const { status, id } = await post({ name: 'plain-python' });
    expect(status).toBe(201);
    expect(pooledIds).toContain(id);
    expect(pool().kernels().map((k) => k.id)).not.toContain(id);
    expect(await metric('sparkgate_warm_pool_claims_total', { kernelspec: 'plain-python', result: 'hit' })).toBe(1);

    const kernel = km.connectTo({ model: { id, name: 'plain-python' } });
    const first = await execute(kernel, 'secret = 42\nimport os\nprint(os.getpid(), len([k for k in globals() if not k.startswith("_")]))');
    expect(first.errors).toEqual([]);
    expect(first.reply.content.execution_count).toBe(1); // nothing ran in it before the user
    kernel.dispose();
    expect((await api(tg, '/api/kernels')).status).toBe(200);
    expect(((await (await api(tg, '/api/kernels')).json()) as { id: string }[]).map((k) => k.id)).toEqual([id]);
    await api(tg, `/api/kernels/${id}`, { method: 'DELETE' });
    await waitFor(() => ready() === 2, 40_000, 'pool refilled');

    // A session never goes back to the pool: the next user starts clean.
    const next = await post({ name: 'plain-python' });
    expect(next.id).not.toBe(id);
    const k2 = km.connectTo({ model: { id: next.id, name: 'plain-python' } });
    const probe = await execute(k2, "print('secret' in globals())");
    expect(probe.stdout.trim()).toBe('False');
    k2.dispose();
    await api(tg, `/api/kernels/${next.id}`, { method: 'DELETE' });
    await waitFor(() => ready() === 2, 40_000, 'pool refilled');
  });

  it('never hands the same session out twice under concurrent requests', async () => {
    const results = await Promise.all([1, 2, 3].map(() => post({ name: 'plain-python' })));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    const ids = results.map((r) => r.id);
    expect(new Set(ids).size).toBe(3);
    const hits = await metric('sparkgate_warm_pool_claims_total', { kernelspec: 'plain-python', result: 'hit' });
    expect(hits).toBe(4); // 2 before + the 2 ready ones; the third started cold
    expect(await metric('sparkgate_warm_pool_claims_total', { kernelspec: 'plain-python', result: 'empty' })).toBe(1);
    await Promise.all(ids.map((id) => api(tg, `/api/kernels/${id}`, { method: 'DELETE' })));
    await waitFor(() => ready() === 2, 60_000, 'pool refilled');
  });

  it('excludes pooled sessions from the user quota, which still applies', async () => {
    // maxKernels is 3 and 2 sessions are pooled: the user still gets 3.
    const started = [];
    for (let i = 0; i < 3; i++) started.push(await post({ name: 'plain-python' }));
    expect(started.map((s) => s.status)).toEqual([201, 201, 201]);
    const refused = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) });
    expect(refused.status).toBe(403);
    expect((await refused.json()).reason).toBe('max_kernels');
    await Promise.all(started.map((s) => api(tg, `/api/kernels/${s.id}`, { method: 'DELETE' })));
    await waitFor(() => ready() === 2, 60_000, 'pool refilled');
  });

  it('starts cold when the request changes the launch, and carries habitual variables into a pooled session', async () => {
    const changedBefore = await metric('sparkgate_warm_pool_claims_total', { kernelspec: 'plain-python', result: 'changed' });
    const pooledIds = pool().kernels().map((k) => k.id);
    const cold = await post({ name: 'plain-python', env: { KERNEL_EXTRA_SETTING: 'on', KERNEL_USERNAME: 'bob' } });
    expect(cold.status).toBe(201);
    expect(pooledIds).not.toContain(cold.id);
    expect(await metric('sparkgate_warm_pool_claims_total', { kernelspec: 'plain-python', result: 'changed' })).toBe(changedBefore + 1);
    const kc = km.connectTo({ model: { id: cold.id, name: 'plain-python' } });
    expect((await execute(kc, "import os; print(os.environ.get('KERNEL_EXTRA_SETTING'))")).stdout.trim()).toBe('on');
    kc.dispose();

    const warm = await post({ name: 'plain-python', env: { KERNEL_USERNAME: 'alice', KERNEL_LAUNCH_TIMEOUT: '40' } });
    expect(pooledIds).toContain(warm.id);
    const kw = km.connectTo({ model: { id: warm.id, name: 'plain-python' } });
    const out = await execute(kw, "import os; print(os.environ.get('KERNEL_USERNAME'))");
    expect(out.stdout.trim()).toBe('alice');
    expect(out.reply.content.execution_count).toBe(1); // the environment update was silent
    // A restart launches with the request's variables, as a cold start for it would.
    await kw.restart();
    expect(tg.gateway.kernels.get(warm.id).userEnv).toEqual({ KERNEL_USERNAME: 'alice', KERNEL_LAUNCH_TIMEOUT: '40' });
    expect((await execute(kw, "import os; print(os.environ.get('KERNEL_USERNAME'))")).stdout.trim()).toBe('alice');
    kw.dispose();
    await Promise.all([cold.id, warm.id].map((id) => api(tg, `/api/kernels/${id}`, { method: 'DELETE' })));
    await waitFor(() => ready() === 2, 60_000, 'pool refilled');
  });

  it('restarts a pooled session that dies, in place, after its session-end work', async () => {
    const victim = pool().kernels()[0]!;
    const pid = victim.pid!;
    process.kill(-pid, 'SIGKILL');
    await waitFor(() => ended.some((e) => e.id === victim.id && e.reason === 'crashed'), 10_000, 'session-end work for the dead run');
    await waitFor(() => victim.state === 'idle' && victim.pid !== pid, 20_000, 'restarted');
    expect(alive(pid)).toBe(false);
    expect(pool().kernels()).toContain(victim);
    expect(ready()).toBe(2);
  });

  it('shuts pooled sessions down, with their session-end work, when the gateway stops', async () => {
    const pooled = pool().kernels();
    expect(pooled).toHaveLength(2);
    const pids = pooled.map((k) => k.pid!);
    await tg.stop();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    for (const k of pooled) expect(ended).toContainEqual({ id: k.id, reason: 'gateway_stop' });
    expect(pool().kernels()).toEqual([]);
  });
});

describe('warm pool failures', () => {
  it('replaces a pooled session that dies for good', async () => {
    const g = await startGateway({ warmPool: 'plain-python=1', kernelRestartLimit: 0 });
    try {
      const count = () => g.gateway.kernels.warmPool.counts()[0]!.ready;
      await waitFor(() => count() === 1, 40_000, 'pool filled');
      const victim = g.gateway.kernels.warmPool.kernels()[0]!;
      process.kill(-victim.pid!, 'SIGKILL');
      await waitFor(() => !g.gateway.kernels.warmPool.kernels().includes(victim), 10_000, 'dead session dropped');
      await waitFor(() => victim.state === 'ended', 10_000, 'dead session cleaned up');
      await waitFor(() => count() === 1, 40_000, 'pool refilled');
      expect(g.gateway.kernels.warmPool.kernels()[0]!.id).not.toBe(victim.id);
    } finally {
      await g.stop();
    }
  });

  it('retries a kernelspec that cannot start, with backoff, and keeps serving', async () => {
    const g = await startGateway({ warmPool: { 'broken-exits': 1, 'no-such-spec': 1 } });
    try {
      const failures = async (): Promise<number> => {
        const text = await (await api(g, '/metrics')).text();
        const line = text.split('\n').find((l) => l.startsWith('sparkgate_warm_pool_start_failures_total{kernelspec="broken-exits"}'));
        return line ? Number(line.split(' ').pop()) : 0;
      };
      const deadline = Date.now() + 20_000;
      while ((await failures()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await failures()).toBeGreaterThanOrEqual(2);
      expect(g.logLines.some((l) => l.includes('no-such-spec') && l.includes('"level":"error"'))).toBe(true);
      const res = await api(g, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) });
      expect(res.status).toBe(201);
      expect((await api(g, '/readyz')).status).toBe(200);
    } finally {
      await g.stop();
    }
  });
});

describe('warm pool for Spark sessions', () => {
  it('pre-renders the driver conf for the pooled session id and starts cold when the request changes it', async () => {
    const g = await startGateway({
      warmPool: { 'spark-env': 1 },
      spark: { driverPortRange: '19300-19304', blockManagerPortRange: '19400-19404', uiPortRange: '19500-19504' },
    });
    const m = new KernelManager({ serverSettings: g.settings });
    try {
      const sparkPool = () => g.gateway.kernels.warmPool.counts().find((c) => c.kernelspec === 'spark-env')?.ready ?? 0;
      await waitFor(() => sparkPool() === 1, 40_000, 'spark pool filled');
      const pooledId = g.gateway.kernels.warmPool.kernels()[0]!.id;
      const res = await api(g, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env' }) });
      const { id } = (await res.json()) as { id: string };
      expect(id).toBe(pooledId);
      const kernel = m.connectTo({ model: { id, name: 'spark-env' } });
      const out = await execute(kernel, "import json, os; c = json.load(open(os.environ['SPARKGATE_SPARK_CONF_FILE'])); print(c['spark.ui.proxyBase'], c['spark.driver.memory'])");
      expect(out.errors).toEqual([]);
      expect(out.stdout.trim()).toBe(`/api/sparkgate/sessions/${id}/ui 2g`);
      expect(g.gateway.spark.session(id)?.ports.uiPort).toBeGreaterThanOrEqual(19500);
      kernel.dispose();

      // A request for another driver size cannot use a driver that is already running.
      await waitFor(() => sparkPool() === 1, 40_000, 'spark pool refilled');
      const refilled = g.gateway.kernels.warmPool.kernels()[0]!.id;
      const custom = await api(g, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env', env: { KERNEL_DRIVER_MEMORY: '3g' } }) });
      const customId = ((await custom.json()) as { id: string }).id;
      expect(customId).not.toBe(refilled);
      const k2 = m.connectTo({ model: { id: customId, name: 'spark-env' } });
      const out2 = await execute(k2, "import json, os; print(json.load(open(os.environ['SPARKGATE_SPARK_CONF_FILE']))['spark.driver.memory'])");
      expect(out2.stdout.trim()).toBe('3g');
      k2.dispose();
    } finally {
      m.dispose();
      await g.stop();
    }
  });
});
