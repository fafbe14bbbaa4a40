/**
 * FakeKube's knobs as the real client sees them: injected statuses (with Retry-After on 429),
 * cut connections, latency, dropped watches, the request log, and start/stop.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeKube } from './index.js';
import { collectWatch } from './watch-helpers.js';

let fake: FakeKube;
let api: CoreV1Api;
const namespace = 'faults';

beforeAll(async () => {
  fake = await new FakeKube().start();
  api = fake.kubeConfig(namespace).makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await fake.stop();
});

beforeEach(() => {
  fake.clearFaults();
  fake.clearRequests();
  fake.setLatencyMs(0);
});

async function failure(p: Promise<unknown>): Promise<Record<string, any>> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, any>;
  }
  throw new Error('expected the call to fail');
}

describe('FakeKube fault injection', () => {
  it('fails the next N matching requests with a Status of the given code', async () => {
    const fault = fake.injectFault({ verb: 'list', resource: 'pods', status: 500, times: 2 });
    expect((await failure(api.listNamespacedPod({ namespace }))).code).toBe(500);
    const second = await failure(api.listNamespacedPod({ namespace }));
    expect(JSON.parse(second['body'] as string)).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    await api.listNamespacedPod({ namespace });
    await api.listNamespacedConfigMap({ namespace }); // other resources were never affected
    expect(fault).toMatchObject({ hits: 2, remaining: 0 });
    expect(fake.pendingFaults).toEqual([]);
  });

  it('matches on verb, resource and namespace', async () => {
    fake.injectFault({ verb: 'create', resource: 'configmaps', namespace: 'elsewhere', status: 503, times: Infinity });
    await api.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'fine' } } });
    const err = await failure(api.createNamespacedConfigMap({ namespace: 'elsewhere', body: { metadata: { name: 'x' } } }));
    expect(err['code']).toBe(503);
    expect(fake.pendingFaults).toHaveLength(1);
  });

  it('sends Retry-After with 429 (header and Status details)', async () => {
    fake.injectFault({ verb: 'deletecollection', status: 429, retryAfterSeconds: 7 });
    const err = await failure(api.deleteCollectionNamespacedPod({ namespace, labelSelector: 'a=b' }));
    expect(err['code']).toBe(429);
    expect(err['headers']['retry-after']).toBe('7');
    expect(JSON.parse(err['body'] as string)).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 7 } });
  });

  it('cuts the connection without an answer', async () => {
    fake.injectFault({ verb: 'get', resource: 'pods', status: 0, reset: true });
    const err = await failure(api.readNamespacedPod({ namespace, name: 'x' }));
    expect(err['name']).toBe('FetchError');
    expect(err['code']).toBe('ECONNRESET');
  });

  it('fails a watch request with an HTTP error (client-node passes statusCode to done)', async () => {
    fake.injectFault({ verb: 'watch', status: 500 });
    const w = collectWatch(fake.kubeConfig(), `/api/v1/namespaces/${namespace}/pods`, { resourceVersion: fake.resourceVersion });
    expect(await w.done).toMatchObject({ statusCode: 500 });
  });

  it('slows every response by the configured latency', async () => {
    fake.setLatencyMs(120);
    const t0 = Date.now();
    await api.listNamespacedService({ namespace });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
  });

  it('drops open watches abruptly (client-node reports a premature close)', async () => {
    const w = collectWatch(fake.kubeConfig(), `/api/v1/namespaces/${namespace}/pods`, { resourceVersion: fake.resourceVersion });
    await fake.waitFor(() => fake.openWatches === 1);
    expect(fake.dropWatches()).toBe(1);
    expect(await w.done).toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(fake.openWatches).toBe(0);
  });

  it('logs every request with its Kubernetes verb', async () => {
    await api.createNamespacedPod({ namespace, body: { metadata: { name: 'logged' }, spec: { containers: [] } } });
    await api.readNamespacedPod({ namespace, name: 'logged' });
    await api.listNamespacedPod({ namespace, labelSelector: 'x=y' });
    await api.deleteNamespacedPod({ namespace, name: 'logged', gracePeriodSeconds: 0 });
    expect(fake.requests.map((r) => `${r.method} ${r.verb} ${r.resource} ${r.name ?? '-'}`)).toEqual([
      'POST create pods -',
      'GET get pods logged',
      'GET list pods -',
      'DELETE delete pods logged',
    ]);
    expect(fake.requests[2]?.query).toMatchObject({ labelSelector: 'x=y' });
    expect(fake.requests[3]?.query).toMatchObject({ gracePeriodSeconds: '0' });
  });

  it('stop() closes open watches and is idempotent; start() is idempotent', async () => {
    const other = await new FakeKube().start();
    await other.start();
    const url = other.url;
    const w = collectWatch(other.kubeConfig(), '/api/v1/namespaces/x/pods', { resourceVersion: other.resourceVersion });
    await other.waitFor(() => other.openWatches === 1);
    await other.stop();
    await other.stop();
    expect(await w.done).toBeNull();
    await expect(fetch(`${url}/version`)).rejects.toThrow();
  });
});
