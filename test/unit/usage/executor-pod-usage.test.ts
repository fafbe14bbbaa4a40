/**
 * Reading executor pods for metering: Kubernetes quantities, the executor container's requests,
 * container times (running, terminated, lastState) as watch events (strings) and list items
 * (client-node's Date objects) carry them.
 */
import { describe, expect, it } from 'vitest';
import { parseUsagePod, toPodSample } from '../../../src/k8s/executor-pod-usage.js';
import { parseQuantity } from '../../../src/k8s/quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['1', 1], ['500m', 0.5], ['1.5', 1.5], ['250m', 0.25], ['2000m', 2],
    ['1408Mi', 1408 * 2 ** 20], ['2Gi', 2 * 2 ** 30], ['1G', 1e9], ['1e3', 1000], ['128974848', 128974848], ['1.5Ki', 1536], ['100k', 100_000],
  ])('%s = %d', (text, value) => expect(parseQuantity(text)).toBe(value));

  it.each(['', 'abc', '1.2.3', '5 Mi', 'Mi'])('rejects %j', (text) => expect(parseQuantity(text)).toBeUndefined());
});

const base = {
  metadata: { name: 'sg-1-exec-1', namespace: 'team-a', uid: 'uid-1', labels: { 'sparkgate.io/session': 'sess', 'spark-role': 'executor' } },
  spec: {
    containers: [
      { name: 'log-shipper', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
      { name: 'spark-kubernetes-executor', args: ['executor'], resources: { requests: { cpu: '2', memory: '1408Mi' }, limits: { memory: '1408Mi' } } },
    ],
  },
};

describe('toPodSample', () => {
  it('takes the executor container\'s requests and the earliest container start', () => {
    const pod = parseUsagePod({
      ...base,
      status: {
        phase: 'Running',
        startTime: '2025-01-31T10:00:00Z',
        containerStatuses: [
          { name: 'log-shipper', state: { running: { startedAt: '2025-01-31T10:00:01Z' } } },
          {
            name: 'spark-kubernetes-executor',
            restartCount: 1,
            state: { running: { startedAt: '2025-01-31T10:05:00Z' } },
            lastState: { terminated: { startedAt: '2025-01-31T10:00:03Z', finishedAt: '2025-01-31T10:04:58Z', exitCode: 1 } },
          },
        ],
      },
    });
    expect(pod).toBeDefined();
    expect(toPodSample(pod!, 'seen', 42)).toEqual({
      uid: 'uid-1', name: 'sg-1-exec-1', namespace: 'team-a', sessionId: 'sess',
      cpuCores: 2, memoryBytes: 1408 * 2 ** 20, phase: 'Running',
      containerStartedMs: Date.parse('2025-01-31T10:00:03Z'),
      podStartedMs: Date.parse('2025-01-31T10:00:00Z'),
      finishedMs: undefined, kind: 'seen', observedMs: 42,
    });
  });

  it('reads finishedAt of a terminated executor container, and Date timestamps of list items', () => {
    const pod = parseUsagePod({
      ...base,
      status: {
        phase: 'Failed',
        startTime: new Date('2025-01-31T10:00:00Z'),
        containerStatuses: [
          { name: 'spark-kubernetes-executor', state: { terminated: { startedAt: new Date('2025-01-31T10:00:02Z'), finishedAt: new Date('2025-01-31T10:01:02Z') } } },
        ],
      },
    });
    const sample = toPodSample(pod!, 'gone', 1);
    expect(sample).toMatchObject({ phase: 'Failed', containerStartedMs: Date.parse('2025-01-31T10:00:02Z'), finishedMs: Date.parse('2025-01-31T10:01:02Z'), kind: 'gone' });
  });

  it('a pending pod without status has no times and zero requests when none are set', () => {
    const pod = parseUsagePod({ metadata: base.metadata, spec: { containers: [{ name: 'spark-kubernetes-executor' }] } });
    expect(toPodSample(pod!, 'seen', 1)).toMatchObject({ cpuCores: 0, memoryBytes: 0, phase: 'Unknown', containerStartedMs: undefined, podStartedMs: undefined });
  });
});
