/**
 * FakeKube's REST surface through the real @kubernetes/client-node 1.4 CoreV1Api: object
 * metadata, errors as Status objects, selectors, patches, deletion semantics and cascade.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeKube } from './index.js';

let fake: FakeKube;
let api: CoreV1Api;
const namespace = 'crud';

beforeAll(async () => {
  fake = await new FakeKube().start();
  api = fake.kubeConfig(namespace).makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await fake.stop();
});

beforeEach(() => {
  fake.setDeletionDelayMs(0);
  for (const r of ['pods', 'configmaps', 'services', 'persistentvolumeclaims'] as const) {
    for (const o of fake.list(r)) fake.delete(r, o.metadata.namespace, o.metadata.name);
  }
});

const pod = (name: string, labels: Record<string, string> = {}, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
  metadata: { name, labels, ...extra },
  spec: { containers: [{ name: 'c', image: 'pause' }] },
});

async function apiError(p: Promise<unknown>): Promise<{ code: number; status: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code: number; body: string; headers: Record<string, string> };
    return { code: e.code, status: JSON.parse(e.body) as Record<string, unknown>, headers: e.headers };
  }
  throw new Error('expected the call to fail');
}

describe('FakeKube REST', () => {
  it('creates objects with uid, resourceVersion, creationTimestamp; reads and lists them', async () => {
    const rv0 = Number(fake.resourceVersion);
    const created = await api.createNamespacedPod({ namespace, body: pod('a', { app: 'x' }) });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBe(rv0 + 1);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.status?.phase).toBe('Pending');
    expect(created).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { namespace } });
    const read = await api.readNamespacedPod({ namespace, name: 'a' });
    expect(read.metadata?.uid).toBe(created.metadata?.uid);
    const list = await api.listNamespacedPod({ namespace });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['a']);
    expect(list.metadata?.resourceVersion).toBe(fake.resourceVersion);
    const cm = await api.createNamespacedConfigMap({ namespace, body: { metadata: { generateName: 'spark-conf-' }, data: { k: 'v' } } });
    expect(cm.metadata?.name).toMatch(/^spark-conf-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(Number(cm.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
  });

  it('answers errors with Status objects: 404 NotFound, 409 AlreadyExists, 422 Invalid, 400 BadRequest', async () => {
    const missing = await apiError(api.readNamespacedPod({ namespace, name: 'nope' }));
    expect(missing.code).toBe(404);
    expect(missing.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'pods' },
      code: 404,
    });
    await api.createNamespacedPod({ namespace, body: pod('dup') });
    const dup = await apiError(api.createNamespacedPod({ namespace, body: pod('dup') }));
    expect(dup).toMatchObject({ code: 409, status: { reason: 'AlreadyExists', message: 'pods "dup" already exists' } });
    const invalid = await apiError(api.createNamespacedPod({ namespace, body: pod('Not_Valid') }));
    expect(invalid).toMatchObject({ code: 422, status: { reason: 'Invalid' } });
    const wrongNs = await apiError(api.createNamespacedPod({ namespace, body: pod('x', {}, { namespace: 'other' }) }));
    expect(wrongNs).toMatchObject({ code: 400, status: { reason: 'BadRequest' } });
    const badSelector = await apiError(api.listNamespacedPod({ namespace, labelSelector: 'a in (x' }));
    expect(badSelector).toMatchObject({ code: 400, status: { reason: 'BadRequest' } });
    const badField = await apiError(api.listNamespacedConfigMap({ namespace, fieldSelector: 'status.phase=Running' }));
    expect(badField).toMatchObject({ code: 400, status: { message: 'field label not supported: status.phase' } });
  });

  it('filters lists by label selector (=, !=, exists, !exists, in, notin; comma = AND) and field selector', async () => {
    await api.createNamespacedPod({ namespace, body: pod('p1', { role: 'executor', session: 's1' }) });
    await api.createNamespacedPod({ namespace, body: pod('p2', { role: 'executor', session: 's2', inactive: 'true' }) });
    await api.createNamespacedPod({ namespace, body: pod('p3', { role: 'driver' }) });
    await api.createNamespacedPod({ namespace, body: pod('p4') });
    fake.setPodPhase(namespace, 'p2', 'Running');
    const names = async (q: { labelSelector?: string; fieldSelector?: string }) =>
      (await api.listNamespacedPod({ namespace, ...q })).items.map((p) => p.metadata?.name);
    expect(await names({ labelSelector: 'role=executor' })).toEqual(['p1', 'p2']);
    expect(await names({ labelSelector: 'role==executor,session!=s1' })).toEqual(['p2']);
    expect(await names({ labelSelector: 'role!=executor' })).toEqual(['p3', 'p4']);
    expect(await names({ labelSelector: 'session' })).toEqual(['p1', 'p2']);
    expect(await names({ labelSelector: '!session' })).toEqual(['p3', 'p4']);
    expect(await names({ labelSelector: 'role in (driver, executor),inactive notin (true)' })).toEqual(['p1', 'p3']);
    expect(await names({ labelSelector: 'session notin (s1)' })).toEqual(['p2', 'p3', 'p4']);
    expect(await names({ fieldSelector: 'metadata.name=p3' })).toEqual(['p3']);
    expect(await names({ fieldSelector: 'status.phase=Running' })).toEqual(['p2']);
    expect(await names({ fieldSelector: 'status.phase!=Running,metadata.name!=p4', labelSelector: 'role' })).toEqual(['p1', 'p3']);
    // cluster-wide list, and pagination with limit/continue
    await fake.create('pods', 'elsewhere', pod('p9'));
    const all = await api.listPodForAllNamespaces({});
    expect(all.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).toContain('elsewhere/p9');
    const page1 = await api.listNamespacedPod({ namespace, limit: 3 });
    expect(page1.items).toHaveLength(3);
    const page2 = await api.listNamespacedPod({ namespace, limit: 3, _continue: page1.metadata?._continue ?? '' });
    expect(page2.items.map((p) => p.metadata?.name)).toEqual(['p4']);
    expect(page2.metadata?._continue).toBeUndefined();
  });

  it('patches: JSON patch (client default), merge patch, and the status subresource', async () => {
    await api.createNamespacedPod({ namespace, body: pod('pp', { a: '1' }) });
    const jp = await api.patchNamespacedPod({ namespace, name: 'pp', body: [{ op: 'add', path: '/metadata/labels/b', value: '2' }] });
    expect(jp.metadata?.labels).toEqual({ a: '1', b: '2' });
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const mp = await api.patchNamespacedPod({ namespace, name: 'pp', body: { metadata: { labels: { a: null, c: '3' } } } }, merge);
    expect(mp.metadata?.labels).toEqual({ b: '2', c: '3' });
    // status changes only through /status, as in a real apiserver
    const ignored = await api.patchNamespacedPod({ namespace, name: 'pp', body: { status: { phase: 'Running' } } }, merge);
    expect(ignored.status?.phase).toBe('Pending');
    const st = await api.patchNamespacedPodStatus({ namespace, name: 'pp', body: { status: { phase: 'Running' } } }, merge);
    expect(st.status?.phase).toBe('Running');
    expect(Number(st.metadata?.resourceVersion)).toBeGreaterThan(Number(mp.metadata?.resourceVersion));
    // replace with a stale resourceVersion conflicts
    const stale = { ...jp, metadata: { ...jp.metadata, labels: { z: '1' } } };
    expect(await apiError(api.replaceNamespacedPod({ namespace, name: 'pp', body: stale }))).toMatchObject({
      code: 409,
      status: { reason: 'Conflict' },
    });
    const fresh = await api.readNamespacedPod({ namespace, name: 'pp' });
    fresh.metadata = { ...fresh.metadata, labels: { z: '1' } };
    expect((await api.replaceNamespacedPod({ namespace, name: 'pp', body: fresh })).metadata?.labels).toEqual({ z: '1' });
  });

  it('deletes immediately by default, or marks deletionTimestamp first with a deletion delay', async () => {
    await api.createNamespacedPod({ namespace, body: pod('d1') });
    const gone = await api.deleteNamespacedPod({ namespace, name: 'd1' });
    expect(gone.metadata?.deletionTimestamp).toBeUndefined();
    expect(fake.get('pods', namespace, 'd1')).toBeUndefined();

    fake.setDeletionDelayMs(100);
    await api.createNamespacedPod({ namespace, body: pod('d2') });
    const marked = await api.deleteNamespacedPod({ namespace, name: 'd2' });
    expect(marked.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(fake.get('pods', namespace, 'd2')?.metadata.deletionTimestamp).toBeDefined();
    // deleting again changes nothing
    const again = await api.deleteNamespacedPod({ namespace, name: 'd2' });
    expect(again.metadata?.resourceVersion).toBe(marked.metadata?.resourceVersion);
    await fake.waitFor(() => fake.get('pods', namespace, 'd2') === undefined, { timeoutMs: 2_000 });
  });

  it('honours uid preconditions and finalizers', async () => {
    const created = await api.createNamespacedPod({ namespace, body: pod('pre', {}, { finalizers: ['example.com/hold'] }) });
    const wrong = await apiError(api.deleteNamespacedPod({ namespace, name: 'pre', body: { preconditions: { uid: 'other-uid' } } }));
    expect(wrong).toMatchObject({ code: 409, status: { reason: 'Conflict' } });
    await api.deleteNamespacedPod({ namespace, name: 'pre', body: { preconditions: { uid: created.metadata?.uid ?? '' } } });
    expect(fake.get('pods', namespace, 'pre')?.metadata.deletionTimestamp).toBeDefined();
    await api.patchNamespacedPod({ namespace, name: 'pre', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    expect(fake.get('pods', namespace, 'pre')).toBeUndefined();
  });

  it('deletecollection deletes by selector and returns the deleted objects', async () => {
    await api.createNamespacedPod({ namespace, body: pod('c1', { s: 'x' }) });
    await api.createNamespacedPod({ namespace, body: pod('c2', { s: 'x' }) });
    await api.createNamespacedPod({ namespace, body: pod('c3', { s: 'y' }) });
    await api.deleteCollectionNamespacedPod({ namespace, labelSelector: 's=x' });
    expect(fake.list('pods', namespace).map((p) => p.metadata.name)).toEqual(['c3']);
    const raw = await fetch(`${fake.url}/api/v1/namespaces/${namespace}/pods?labelSelector=s%3Dy`, { method: 'DELETE' });
    const body = (await raw.json()) as { kind: string; items: { metadata: { name: string } }[] };
    expect(body.kind).toBe('PodList');
    expect(body.items.map((i) => i.metadata.name)).toEqual(['c3']);
  });

  it('cascades deletion to dependents (ownerReferences), in the background; Orphan keeps them', async () => {
    const owner = await api.createNamespacedPod({ namespace, body: pod('owner') });
    const ref = { apiVersion: 'v1', kind: 'Pod', name: 'owner', uid: owner.metadata?.uid ?? '' };
    await api.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'dep-cm', ownerReferences: [ref] } } });
    await api.createNamespacedPersistentVolumeClaim({ namespace, body: { metadata: { name: 'dep-pvc', ownerReferences: [ref] }, spec: {} } });
    await api.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'unrelated' } } });
    await api.deleteNamespacedPod({ namespace, name: 'owner' });
    await fake.waitFor(() => fake.list('configmaps', namespace).length === 1 && fake.list('persistentvolumeclaims', namespace).length === 0);
    expect(fake.list('configmaps', namespace).map((c) => c.metadata.name)).toEqual(['unrelated']);

    const owner2 = await api.createNamespacedPod({ namespace, body: pod('owner2') });
    const ref2 = { apiVersion: 'v1', kind: 'Pod', name: 'owner2', uid: owner2.metadata?.uid ?? '' };
    await api.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'kept', ownerReferences: [ref2] } } });
    await api.deleteNamespacedPod({ namespace, name: 'owner2', propagationPolicy: 'Orphan' });
    await fake.waitFor(() => fake.get('configmaps', namespace, 'kept')?.metadata.ownerReferences === undefined);
  });

  it('serves the namespace, /api and /version for sanity checks', async () => {
    const ns = await api.readNamespace({ name: namespace });
    expect(ns.status?.phase).toBe('Active');
    const version = (await (await fetch(`${fake.url}/version`)).json()) as { gitVersion: string };
    expect(version.gitVersion).toMatch(/fakekube/);
    expect((await fetch(`${fake.url}/api/v1/namespaces/${namespace}/secrets`)).status).toBe(404);
  });
});
