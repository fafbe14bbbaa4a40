// Tests the FakeKube pods/log stand-in (the main tier has no control plane); the real API server's pods/log is tested in test/integration/control-plane/executor-logs.test.ts.
/**
 * FakeKube's container logs (`pods/{name}/log`) as the real client and the gateway's log
 * request (src/k8s/pod-log-stream.ts) see them: tailLines then sinceTime, timestamps, the
 * API server's errors, follow streams that end with the pod, and cut streams.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKubeError, httpStatusOf } from '../../src/k8s/kube-errors.js';
import { createPodLogFn, PodLogError, type PodLogRequest } from '../../src/k8s/pod-log-stream.js';
import { FakeKube } from './index.js';

let fake: FakeKube;
let api: CoreV1Api;
const namespace = 'logs';
let n = 0;

beforeAll(async () => {
  fake = await new FakeKube().start();
  api = fake.kubeConfig(namespace).makeApiClient(CoreV1Api);
});
afterAll(async () => {
  await fake.stop();
});

function pod(phase = 'Running', containers = ['main']): string {
  const name = `p${++n}`;
  fake.create('pods', namespace, { metadata: { name }, spec: { containers: containers.map((c) => ({ name: c, image: 'x' })) } });
  if (phase !== 'Pending') fake.setPodPhase(namespace, name, phase);
  return name;
}

async function text(stream: AsyncIterable<unknown>): Promise<string> {
  let out = '';
  for await (const c of stream) out += String(c);
  return out;
}

const open = (request: Omit<PodLogRequest, 'namespace' | 'timestamps'> & { timestamps?: boolean }, signal = new AbortController().signal) =>
  createPodLogFn(fake.kubeConfig(namespace))({ namespace, timestamps: false, ...request }, signal);

describe('FakeKube pod logs', () => {
  it('serves the log with tailLines, then sinceTime at one-second precision, and timestamps', async () => {
    const name = pod();
    fake.appendPodLog(namespace, name, 'a\nb\n', { time: '2024-05-01T10:00:00.5Z' });
    fake.appendPodLog(namespace, name, 'c', { time: '2024-05-01T10:00:01.000000002Z' });
    expect(await api.readNamespacedPodLog({ namespace, name })).toBe('a\nb\nc\n');
    expect(await api.readNamespacedPodLog({ namespace, name, tailLines: 2 })).toBe('b\nc\n');
    expect(await api.readNamespacedPodLog({ namespace, name, timestamps: true, tailLines: 1 })).toBe('2024-05-01T10:00:01.000000002Z c\n');
    expect(await text(await open({ pod: name, follow: false, sinceTime: '2024-05-01T10:00:00.9Z' }))).toBe('a\nb\nc\n');
    expect(await text(await open({ pod: name, follow: false, sinceTime: '2024-05-01T10:00:01Z' }))).toBe('c\n');
    expect(await text(await open({ pod: name, follow: false, tailLines: 0 }))).toBe('');
    expect(fake.requests.at(-1)).toMatchObject({ verb: 'get', resource: 'pods/log', name });
  });

  it('answers like the API server: 404 without the pod, 400 while Pending or without a container name', async () => {
    const missing = await open({ pod: 'nope', follow: false }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PodLogError);
    expect(httpStatusOf(missing)).toBe(404);
    expect(describeKubeError(missing)).toContain('pods "nope" not found');
    const pending = pod('Pending');
    expect(describeKubeError(await open({ pod: pending, follow: false }).catch((e: unknown) => e))).toContain('is waiting to start');
    const two = pod('Running', ['a', 'b']);
    expect(httpStatusOf(await open({ pod: two, follow: false }).catch((e: unknown) => e))).toBe(400);
    fake.appendPodLog(namespace, two, 'x\n');
    expect(await text(await open({ pod: two, container: 'b', follow: false }))).toBe('x\n');
  });

  it('follows new lines until the pod ends; the log goes with the pod', async () => {
    const name = pod();
    fake.appendPodLog(namespace, name, 'one\n');
    const stream = await open({ pod: name, follow: true });
    const reading = text(stream);
    await fake.waitFor(() => fake.openPodLogStreams === 1);
    fake.appendPodLog(namespace, name, 'two\n');
    fake.setPodPhase(namespace, name, 'Succeeded');
    expect(await reading).toBe('one\ntwo\n');
    expect(fake.openPodLogStreams).toBe(0);

    const other = pod();
    const deleted = text(await open({ pod: other, follow: true }));
    await fake.waitFor(() => fake.openPodLogStreams === 1);
    fake.appendPodLog(namespace, other, 'bye\n');
    fake.delete('pods', namespace, other);
    expect(await deleted).toBe('bye\n');
    expect(fake.podLog(namespace, other)).toEqual([]);
  });

  it('cuts follow streams now or in the middle of the next line', async () => {
    const name = pod();
    const received: string[] = [];
    const stream = await open({ pod: name, follow: true });
    const reading = (async () => {
      for await (const c of stream) received.push(String(c));
    })();
    await fake.waitFor(() => fake.openPodLogStreams === 1);
    fake.appendPodLog(namespace, name, 'whole\n');
    expect(fake.cutPodLogStreams({ pod: name, midLine: true })).toBe(1);
    fake.appendPodLog(namespace, name, 'cut in half\n');
    await expect(reading).rejects.toThrow();
    expect(received.join('')).toBe('whole\ncut in'); // 6 of 12 bytes

    const again = open({ pod: name, follow: true }).then(text);
    await fake.waitFor(() => fake.openPodLogStreams === 1);
    expect(fake.cutPodLogStreams()).toBe(1);
    await expect(again).rejects.toThrow();
  });

  it('aborting the request ends the stream', async () => {
    const name = pod();
    const abort = new AbortController();
    const stream = await open({ pod: name, follow: true }, abort.signal);
    await fake.waitFor(() => fake.openPodLogStreams === 1);
    abort.abort();
    await expect(text(stream)).rejects.toThrow();
    await fake.waitFor(() => fake.openPodLogStreams === 0);
  });
});
