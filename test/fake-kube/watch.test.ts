/**
 * FakeKube's watch protocol through client-node 1.4's `Watch` and `makeInformer`: streamed
 * events, replay from a resourceVersion, selector transitions, 410 Expired after compaction,
 * timeouts with bookmarks, and informer relists.
 */
import { CoreV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKube } from './index.js';
import { collectWatch } from './watch-helpers.js';

let fake: FakeKube;
let api: CoreV1Api;
let nsCounter = 0;

beforeAll(async () => {
  fake = await new FakeKube().start();
  api = fake.kubeConfig().makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await fake.stop();
});

const newNs = () => `w${++nsCounter}`;
const pod = (name: string, labels: Record<string, string> = {}): V1Pod => ({ metadata: { name, labels }, spec: { containers: [] } });

describe('FakeKube watch', () => {
  it('streams ADDED, MODIFIED, DELETED for a namespace, with resourceVersions', async () => {
    const ns = newNs();
    const list = await api.listNamespacedPod({ namespace: ns });
    const w = collectWatch(fake.kubeConfig(), `/api/v1/namespaces/${ns}/pods`, { resourceVersion: list.metadata?.resourceVersion });
    await fake.waitFor(() => fake.openWatches > 0);
    await api.createNamespacedPod({ namespace: ns, body: pod('a') });
    await fake.create('pods', 'other-ns', pod('ignored'));
    fake.setPodPhase(ns, 'a', 'Running');
    await api.deleteNamespacedPod({ namespace: ns, name: 'a' });
    await w.waitForEvents(3);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.status?.phase ?? ''}`)).toEqual([
      'ADDED a Pending',
      'MODIFIED a Running',
      'DELETED a Running',
    ]);
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((x, y) => x - y));
    expect(w.events[0]?.object.kind).toBe('Pod');
    w.abort();
    expect(await w.done).toBeTruthy(); // client-node reports its own abort as an AbortError
  });

  it('replays history after the given resourceVersion; without one, sends the current state first', async () => {
    const ns = newNs();
    const a = await api.createNamespacedPod({ namespace: ns, body: pod('a') });
    await api.createNamespacedPod({ namespace: ns, body: pod('b') });
    await api.deleteNamespacedPod({ namespace: ns, name: 'b' });
    const replay = collectWatch(fake.kubeConfig(), `/api/v1/namespaces/${ns}/pods`, { resourceVersion: a.metadata?.resourceVersion });
    await replay.waitForEvents(2);
    expect(replay.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED b', 'DELETED b']);
    const fresh = collectWatch(fake.kubeConfig(), `/api/v1/namespaces/${ns}/pods`);
    await fresh.waitForEvents(1);
    expect(fresh.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a']);
    replay.abort();
    fresh.abort();
  });

  it('turns label changes into ADDED/DELETED for a selector watch', async () => {
    const ns = newNs();
    await api.createNamespacedPod({ namespace: ns, body: pod('p', { s: 'no' }) });
    const w = collectWatch(fake.kubeConfig(), `/api/v1/namespaces/${ns}/pods`, {
      resourceVersion: fake.resourceVersion,
      labelSelector: 's=yes',
    });
    await fake.waitFor(() => fake.openWatchesMatching('s=yes') === 1);
    fake.mutate('pods', ns, 'p', (o) => (o.metadata.labels = { s: 'yes' }));
    fake.mutate('pods', ns, 'p', (o) => (o.metadata.labels = { s: 'yes', t: '1' }));
    fake.mutate('pods', ns, 'p', (o) => (o.metadata.labels = { s: 'no' }));
    await w.waitForEvents(3);
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    w.abort();
  });

  it('answers a resourceVersion older than the history with an ERROR event: Status 410 Expired', async () => {
    const ns = newNs();
    const before = fake.resourceVersion;
    await api.createNamespacedPod({ namespace: ns, body: pod('a') });
    fake.compact();
    const w = collectWatch(fake.kubeConfig(), `/api/v1/namespaces/${ns}/pods`, { resourceVersion: before });
    expect(await w.done).toBeNull(); // the stream ends after the ERROR event
    expect(w.events).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 }),
      },
    ]);
    // the list's resourceVersion after compaction is fine
    const list = await api.listNamespacedPod({ namespace: ns });
    const ok = collectWatch(fake.kubeConfig(), `/api/v1/namespaces/${ns}/pods`, { resourceVersion: list.metadata?.resourceVersion });
    await fake.waitFor(() => fake.openWatchList().some((x) => x.namespace === ns));
    ok.abort();
  });

  it('expires old resourceVersions once the bounded history overflows', async () => {
    const small = await new FakeKube({ historyLimit: 3 }).start();
    try {
      const rv = small.resourceVersion;
      for (let i = 0; i < 5; i++) small.create('configmaps', 'ns', { metadata: { name: `c${i}` } });
      const w = collectWatch(small.kubeConfig(), '/api/v1/namespaces/ns/configmaps', { resourceVersion: rv });
      await w.done;
      expect(w.events[0]?.object.code).toBe(410);
      const recent = collectWatch(small.kubeConfig(), '/api/v1/namespaces/ns/configmaps', { resourceVersion: String(Number(small.resourceVersion) - 2) });
      await recent.waitForEvents(2);
      expect(recent.events.map((e) => e.object.metadata.name)).toEqual(['c3', 'c4']);
      recent.abort();
    } finally {
      await small.stop();
    }
  });

  it('ends the stream after timeoutSeconds with a BOOKMARK when asked for; sends bookmarks on demand', async () => {
    const ns = newNs();
    const w = collectWatch(fake.kubeConfig(), `/api/v1/namespaces/${ns}/pods`, {
      resourceVersion: fake.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: 1,
    });
    await fake.waitFor(() => fake.openWatchList().some((x) => x.namespace === ns));
    fake.sendBookmarks();
    await w.waitForEvents(1);
    expect(await w.done).toBeNull();
    expect(w.events.map((e) => e.type)).toEqual(['BOOKMARK', 'BOOKMARK']);
    expect(w.events[1]?.object.metadata.resourceVersion).toBe(fake.resourceVersion);
  });

  it('watches all namespaces on the cluster-wide path', async () => {
    const w = collectWatch(fake.kubeConfig(), '/api/v1/services', { resourceVersion: fake.resourceVersion });
    await fake.waitFor(() => fake.openWatchList().some((x) => x.resource === 'services' && x.namespace === undefined));
    fake.create('services', 'one', { metadata: { name: 's' }, spec: {} });
    fake.create('services', 'two', { metadata: { name: 's' }, spec: {} });
    await w.waitForEvents(2);
    expect(w.events.map((e) => e.object.metadata.namespace)).toEqual(['one', 'two']);
    w.abort();
  });

  it("works with client-node's makeInformer, including a relist after compaction and a dropped watch", async () => {
    const ns = newNs();
    const kc = fake.kubeConfig(ns);
    // client-node 1.4 quirk: makeInformer's labelSelector applies to the watch only; the list
    // function must apply it too.
    const informer = makeInformer(
      kc,
      `/api/v1/namespaces/${ns}/pods`,
      () => api.listNamespacedPod({ namespace: ns, labelSelector: 'app=x' }),
      'app=x',
    );
    const seen: string[] = [];
    const waiters: { what: string; resolve: () => void }[] = [];
    const record = (entry: string) => {
      seen.push(entry);
      for (const w of waiters.filter((w) => w.what === entry)) w.resolve();
    };
    const saw = (what: string) => (seen.includes(what) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ what, resolve })));
    informer.on('add', (p) => record(`add ${p.metadata?.name}`));
    informer.on('update', (p) => record(`update ${p.metadata?.name}`));
    informer.on('delete', (p) => record(`delete ${p.metadata?.name}`));
    // client-node 1.4 quirk: ListWatch stops on a watch error; restarting is the caller's job.
    const errors: unknown[] = [];
    informer.on('error', (err) => {
      errors.push(err);
      void informer.start();
    });
    fake.create('pods', ns, pod('before', { app: 'x' }));
    await informer.start();
    await fake.waitFor(() => fake.openWatchesMatching('app=x') === 1);
    fake.create('pods', ns, pod('during', { app: 'x' }));
    fake.create('pods', ns, pod('other', { app: 'y' }));
    fake.setPodPhase(ns, 'during', 'Running');
    await saw('update during');
    expect(seen).toEqual(['add before', 'add during', 'update during']);

    fake.compact();
    fake.delete('pods', ns, 'before'); // happens while the informer is blind
    fake.dropWatches();
    // drop -> error -> restart -> watch from the old rv -> 410 ERROR event -> relist
    await saw('delete before');
    expect(errors).toHaveLength(1);
    expect(informer.list().map((p) => p.metadata?.name)).toEqual(['during']);
    expect(fake.requests.filter((r) => r.verb === 'list' && r.namespace === ns)).toHaveLength(2);
    await informer.stop();
  });
});
