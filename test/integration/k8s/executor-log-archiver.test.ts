/**
 * Executor logs through the API (`pods/log`) into the ring on disk, against FakeKube: a running
 * executor's log is archived as it grows and stays readable after the pod is deleted; a cut
 * stream (also in the middle of a line, also between lines with the same timestamp) resumes
 * from sinceTime without repeating or losing a line; API errors are retried; streams are
 * bounded; team namespaces are watched; other gateways' pods are not; a restarted archiver
 * resumes where it stopped; logs go `logRetentionSeconds` after their pod (timer and start sweep).
 */
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExecutorLogArchiver, type ExecutorLogArchiverOptions } from '../../../src/k8s/executor-log-archiver.js';
import { ExecutorLogStore } from '../../../src/logs/executor-log-store.js';
import type { FakeKube } from '../../fake-kube/index.js';
import { newGatewayName, newSessionId, REAL_CLUSTER, startTestCluster, TEST_BACKOFF, type TestCluster } from './cluster.js';
import { nextEvents } from './events.js';
import { ManualClock } from './manual-clock.js';
import { executorPodBody, type SessionIds } from './spark-objects.js';

let cluster: TestCluster;
let fake: FakeKube;
let stateDir: string;
const archivers: ExecutorLogArchiver[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
  fake = cluster.fake!;
});
afterAll(async () => {
  await cluster?.stop();
});
beforeEach(() => {
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-exec-logs-'));
});
afterEach(async () => {
  await Promise.all(archivers.splice(0).map((a) => a.stop()));
  fake.clearFaults();
  rmSync(stateDir, { recursive: true, force: true });
});

function startArchiver(gatewayPod: string, extra: Partial<ExecutorLogArchiverOptions> = {}): ExecutorLogArchiver {
  const archiver = new ExecutorLogArchiver({
    client: cluster.client(gatewayPod),
    stateDir,
    maxBytes: 64 * 1024,
    retentionSeconds: 3600,
    backoff: TEST_BACKOFF,
    cursorFlushMs: 10,
    goneGraceMs: 500,
    ...extra,
  });
  archivers.push(archiver);
  archiver.start();
  return archiver;
}

async function createExecutor(ids: SessionIds, n: number, options: { namespace?: string; running?: boolean; body?: (b: V1Pod) => V1Pod } = {}) {
  const namespace = options.namespace ?? cluster.namespace;
  const base = executorPodBody(cluster, ids, n);
  const pod = await cluster.core.createNamespacedPod({ namespace, body: options.body ? options.body(base) : base });
  const name = pod.metadata!.name!;
  if (options.running ?? true) fake.setPodPhase(namespace, name, 'Running');
  return name;
}

function archivedText(ids: SessionIds, executorId: string): string {
  try {
    return readFileSync(new ExecutorLogStore({ stateDir, maxBytes: 1 }).logPath(ids.sessionId, executorId), 'utf8');
  } catch {
    return '';
  }
}

async function waitArchived(ids: SessionIds, executorId: string, expected: string, timeout = 10_000): Promise<void> {
  await vi.waitFor(() => expect(archivedText(ids, executorId)).toBe(expected), { timeout, interval: 10 });
}

type ReadOptions = { tail?: number; follow?: boolean; signal?: AbortSignal };

async function readAll(archiver: ExecutorLogArchiver, ids: SessionIds, executorId: string, options: ReadOptions = {}) {
  const body = await archiver.read(ids.sessionId, executorId, { follow: false, signal: new AbortController().signal, ...options });
  if (!body) return undefined;
  let text = '';
  for await (const line of body) text += line;
  return text;
}

const lines = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => `${prefix} ${from + k}\n`).join('');

describe.skipIf(REAL_CLUSTER)('ExecutorLogArchiver (FakeKube)', () => {
  it('archives a running executor as its log grows and keeps it readable after the pod is deleted', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const archiver = startArchiver(ids.gatewayPod);
    await archiver.whenSynced();
    const pending = await createExecutor(ids, 1, { running: false });
    expect(await archiver.executors(ids.sessionId)).toEqual([{ id: '1', pod: pending, namespace: cluster.namespace, live: true, endedAt: null }]);
    fake.setPodPhase(cluster.namespace, pending, 'Running');
    fake.appendPodLog(cluster.namespace, pending, lines('start', 1, 3));
    await waitArchived(ids, '1', lines('start', 1, 3));
    fake.appendPodLog(cluster.namespace, pending, lines('task', 1, 2));
    await waitArchived(ids, '1', lines('start', 1, 3) + lines('task', 1, 2));
    const logRequests = fake.requests.filter((r) => r.resource === 'pods/log' && r.name === pending);
    expect(logRequests[0]?.query).toMatchObject({ follow: 'true', timestamps: 'true' });

    const archived = nextEvents(archiver, 'archived', 1);
    await cluster.core.deleteNamespacedPod({ namespace: cluster.namespace, name: pending });
    expect((await archived)[0]![0]).toMatchObject({ sessionId: ids.sessionId, executorId: '1', pod: pending });
    await vi.waitFor(async () => expect((await archiver.executors(ids.sessionId))[0]?.live).toBe(false));
    const [entry] = await archiver.executors(ids.sessionId);
    expect(entry).toMatchObject({ id: '1', pod: pending, namespace: cluster.namespace, live: false });
    expect(Date.parse(entry!.endedAt ?? '')).not.toBeNaN();
    expect(await readAll(archiver, ids, '1')).toBe(lines('start', 1, 3) + lines('task', 1, 2));
    expect(await readAll(archiver, ids, '1', { tail: 2 })).toBe(lines('task', 1, 2));
    expect(await readAll(archiver, ids, '2')).toBeUndefined();
    expect(await readAll(archiver, { ...ids, sessionId: newSessionId() }, '1')).toBeUndefined();
    expect(await readAll(archiver, { ...ids, sessionId: '../etc' }, '1')).toBeUndefined();
  });

  it('resumes a cut stream (between and inside lines, and among lines with one timestamp) without repeating or losing a line', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const archiver = startArchiver(ids.gatewayPod);
    const name = await createExecutor(ids, 1);
    // Three lines with exactly the same runtime time: resuming from that second resends them.
    const same = new Date(Math.floor(Date.now() / 1000) * 1000 + 1).toISOString();
    fake.appendPodLog(cluster.namespace, name, lines('same', 1, 3), { time: same });
    await waitArchived(ids, '1', lines('same', 1, 3));
    await fake.waitFor(() => fake.openPodLogStreams === 1);
    expect(fake.cutPodLogStreams({ pod: name })).toBe(1);
    fake.appendPodLog(cluster.namespace, name, lines('same', 4, 4), { time: same });
    fake.appendPodLog(cluster.namespace, name, lines('after', 1, 2));
    await waitArchived(ids, '1', lines('same', 1, 4) + lines('after', 1, 2));

    // Cut in the middle of the next line: the half line is dropped and comes again in full.
    await fake.waitFor(() => fake.openPodLogStreams === 1);
    expect(fake.cutPodLogStreams({ pod: name, midLine: true })).toBe(1);
    fake.appendPodLog(cluster.namespace, name, `a long line cut in the middle ${'x'.repeat(200)}\n`);
    fake.appendPodLog(cluster.namespace, name, lines('end', 1, 2));
    const expected = `${lines('same', 1, 4)}${lines('after', 1, 2)}a long line cut in the middle ${'x'.repeat(200)}\n${lines('end', 1, 2)}`;
    await waitArchived(ids, '1', expected);

    const resumed = fake.requests.filter((r) => r.resource === 'pods/log' && r.name === name).slice(1);
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    for (const r of resumed) expect(r.query['sinceTime']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    fake.setPodPhase(cluster.namespace, name, 'Succeeded');
    await nextEvents(archiver, 'archived', 1, (e) => e.complete);
    await cluster.core.deleteNamespacedPod({ namespace: cluster.namespace, name });
    await vi.waitFor(() => expect(fake.get('pods', cluster.namespace, name)).toBeUndefined());
    expect(await readAll(archiver, ids, '1')).toBe(expected);
  });

  it('retries API errors with backoff, reports them, and picks the executor container of a multi-container pod', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const failures: string[] = [];
    const archiver = startArchiver(ids.gatewayPod);
    archiver.on('failure', ({ what }) => failures.push(what));
    fake.injectFault({ verb: 'get', resource: 'pods/log', status: 500, times: 2 });
    const name = await createExecutor(ids, 3, {
      body: (b) => ({ ...b, spec: { ...b.spec!, containers: [{ name: 'sidecar', image: 'busybox' }, ...b.spec!.containers] } }),
    });
    fake.appendPodLog(cluster.namespace, name, lines('exec', 1, 2));
    await waitArchived(ids, '3', lines('exec', 1, 2));
    expect(failures.filter((f) => f.includes(name))).toHaveLength(2);
    const last = fake.requests.filter((r) => r.resource === 'pods/log' && r.name === name).at(-1);
    expect(last?.query['container']).toBe('spark-kubernetes-executor');
  });

  it('follows a running executor for a reader: archived text, then new lines, ending when the pod ends', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const archiver = startArchiver(ids.gatewayPod);
    const name = await createExecutor(ids, 2);
    fake.appendPodLog(cluster.namespace, name, lines('old', 1, 5));
    await waitArchived(ids, '2', lines('old', 1, 5));
    const reading = readAll(archiver, ids, '2', { tail: 2, follow: true });
    await new Promise((r) => setTimeout(r, 50));
    fake.appendPodLog(cluster.namespace, name, lines('new', 1, 3));
    await waitArchived(ids, '2', lines('old', 1, 5) + lines('new', 1, 3));
    fake.setPodPhase(cluster.namespace, name, 'Failed');
    expect(await reading).toBe(lines('old', 4, 5) + lines('new', 1, 3));
    // Not following a pod that ended: the archive only.
    expect(await readAll(archiver, ids, '2', { follow: true })).toBe(lines('old', 1, 5) + lines('new', 1, 3));
  });

  it('watches team namespaces, bounds concurrent streams, and leaves other gateways\' pods alone', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const other = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const archiver = startArchiver(ids.gatewayPod, { namespaces: ['team-a'], maxConcurrentStreams: 1 });
    const first = await createExecutor(ids, 1);
    fake.appendPodLog(cluster.namespace, first, lines('one', 1, 2));
    await waitArchived(ids, '1', lines('one', 1, 2));
    const second = await createExecutor(ids, 2, { namespace: 'team-a' });
    fake.appendPodLog('team-a', second, lines('two', 1, 2));
    const foreign = await createExecutor(other, 1);
    fake.appendPodLog(cluster.namespace, foreign, lines('foreign', 1, 1));
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.openPodLogStreams).toBe(1); // the second waits its turn
    expect(archivedText(ids, '2')).toBe('');
    fake.setPodPhase(cluster.namespace, first, 'Succeeded');
    await waitArchived(ids, '2', lines('two', 1, 2));
    expect((await archiver.executors(ids.sessionId)).map((e) => [e.id, e.namespace, e.live])).toEqual([
      ['1', cluster.namespace, false],
      ['2', 'team-a', true],
    ]);
    expect(await archiver.executors(other.sessionId)).toEqual([]);
    expect(archivedText(other, '1')).toBe('');
  });

  it('a restarted archiver resumes from where the last one stopped', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const first = startArchiver(ids.gatewayPod);
    const name = await createExecutor(ids, 1);
    fake.appendPodLog(cluster.namespace, name, lines('before', 1, 3));
    await waitArchived(ids, '1', lines('before', 1, 3));
    await first.stop();
    fake.appendPodLog(cluster.namespace, name, lines('while down', 1, 2));
    const second = startArchiver(ids.gatewayPod);
    fake.appendPodLog(cluster.namespace, name, lines('after', 1, 1));
    await waitArchived(ids, '1', lines('before', 1, 3) + lines('while down', 1, 2) + lines('after', 1, 1));
    const last = fake.requests.filter((r) => r.resource === 'pods/log' && r.name === name).at(-1);
    expect(last?.query['sinceTime']).toBeDefined();
    expect(await readAll(second, ids, '1')).toBe(lines('before', 1, 3) + lines('while down', 1, 2) + lines('after', 1, 1));
  });

  it('removes a log logRetentionSeconds after its pod is gone', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const clock = new ManualClock();
    const archiver = startArchiver(ids.gatewayPod, { clock, retentionSeconds: 60 });
    const name = await createExecutor(ids, 1);
    fake.appendPodLog(cluster.namespace, name, lines('kept', 1, 2));
    await waitArchived(ids, '1', lines('kept', 1, 2));
    const archived = nextEvents(archiver, 'archived', 1);
    await cluster.core.deleteNamespacedPod({ namespace: cluster.namespace, name });
    await archived;
    await vi.waitFor(() => expect(clock.pendingDelays).toContain(60_000));
    await clock.advance(59_000);
    expect(await readAll(archiver, ids, '1')).toBe(lines('kept', 1, 2));
    const removed = nextEvents(archiver, 'removed', 1);
    await clock.advance(1_000);
    expect((await removed)[0]![0]).toEqual({ sessionId: ids.sessionId, executorId: '1' });
    expect(await readAll(archiver, ids, '1')).toBeUndefined();
    expect(await archiver.executors(ids.sessionId)).toEqual([]);
  });

  it('at start removes logs whose pod went longer ago than the retention and schedules the rest', async () => {
    const ids = { gatewayPod: newGatewayName(), sessionId: newSessionId() };
    const clock = new ManualClock();
    await clock.advance(Date.now() - clock.now());
    const store = new ExecutorLogStore({ stateDir, maxBytes: 1024 });
    const meta = (executorId: string, goneAgoMs: number) => ({
      ...{ sessionId: ids.sessionId, executorId, namespace: cluster.namespace, pod: `p-${executorId}`, uid: `u-${executorId}`, container: null },
      ...{ cursor: null, endedAt: null, goneAt: new Date(clock.now() - goneAgoMs).toISOString(), complete: true },
    });
    for (const [id, ago] of [['1', 2 * 3600_000], ['2', 1800_000]] as const) {
      await (await store.file(ids.sessionId, id)).append(`log ${id}\n`);
      await store.writeMeta(meta(id, ago));
    }
    // A log without metadata (a gateway killed early): its last write counts.
    const bare = store.logPath(ids.sessionId, '3');
    writeFileSync(bare, 'log 3\n');
    utimesSync(bare, new Date(clock.now() - 600_000), new Date(clock.now() - 600_000));

    const archiver = startArchiver(ids.gatewayPod, { clock, retentionSeconds: 3600 });
    await nextEvents(archiver, 'removed', 1);
    expect((await archiver.executors(ids.sessionId)).map((e) => e.id)).toEqual(['2', '3']);
    expect(await readAll(archiver, ids, '2')).toBe('log 2\n');
    await clock.advance(1800_000);
    await vi.waitFor(async () => expect((await archiver.executors(ids.sessionId)).map((e) => e.id)).toEqual(['3']));
    await clock.advance(1200_000);
    await vi.waitFor(async () => expect(await archiver.executors(ids.sessionId)).toEqual([]));
  });

  it('start and stop are safe to call twice', async () => {
    const archiver = startArchiver(newGatewayName());
    archiver.start();
    await archiver.whenSynced();
    await archiver.stop();
    await archiver.stop();
  });
});
