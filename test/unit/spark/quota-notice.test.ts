/**
 * The ResourceQuota refusal matcher (src/spark/quota-notice.ts) on the lines Spark's driver logs,
 * and the notice file the gateway writes from the driver's stderr (src/spark/spark-notice-file.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchQuotaRefusal, QuotaRefusalScanner, quotaNoticeText, type QuotaRefusal } from '../../../src/spark/quota-notice.js';
import { SparkNoticeFile } from '../../../src/spark/spark-notice-file.js';

const POD = 'sg-0b6a1f8e-exec-1';
const API = 'https://127.0.0.1:6443/api/v1/namespaces/spark-analytics/pods';
const EXCEEDED = `pods "${POD}" is forbidden: exceeded quota: team-quota, requested: limits.cpu=1,pods=1, used: limits.cpu=4,pods=4, limited: limits.cpu=4,pods=4`;

/** fabric8 7's KubernetesClientException message, as Spark 4's driver logs it after "Failed to create executor pod 1." */
const FABRIC8_LINE =
  `io.fabric8.kubernetes.client.KubernetesClientException: Failure executing: POST at: ${API}. Message: ${EXCEEDED}. ` +
  `Received status: Status(apiVersion=v1, code=403, details=StatusDetails(causes=[], group=null, kind=pods, name=${POD}, retryAfterSeconds=null, uid=null, additionalProperties={}), ` +
  `kind=Status, message=${EXCEEDED}, metadata=ListMeta(_continue=null, remainingItemCount=null, resourceVersion=null, selfLink=null, additionalProperties={}), reason=Forbidden, status=Failure, additionalProperties={}).`;

describe('matchQuotaRefusal', () => {
  it('reads the quota, namespace and the API server\'s reason from fabric8\'s exception line', () => {
    expect(matchQuotaRefusal(FABRIC8_LINE)).toEqual({
      resource: 'pods',
      quota: 'team-quota',
      namespace: 'spark-analytics',
      reason: 'exceeded quota: team-quota, requested: limits.cpu=1,pods=1, used: limits.cpu=4,pods=4, limited: limits.cpu=4,pods=4',
    });
  });

  it('reads the bare API message (no URL: no namespace), with quantities and a final full stop', () => {
    const line = `26/01/02 10:00:00 WARN X: pods "${POD}" is forbidden: exceeded quota: q, requested: requests.memory=1408Mi, used: requests.memory=0, limited: requests.memory=1Gi.`;
    expect(matchQuotaRefusal(line)).toEqual({
      resource: 'pods',
      quota: 'q',
      namespace: undefined,
      reason: 'exceeded quota: q, requested: requests.memory=1408Mi, used: requests.memory=0, limited: requests.memory=1Gi',
    });
  });

  it('reads "failed quota: must specify" (a quota on limits the executor pod does not set) and PVC refusals', () => {
    expect(matchQuotaRefusal(`Message: pods "${POD}" is forbidden: failed quota: cpu-quota: must specify limits.cpu for: spark-kubernetes-executor. Received`)).toMatchObject({
      quota: 'cpu-quota',
      reason: 'failed quota: cpu-quota: must specify limits.cpu',
    });
    expect(
      matchQuotaRefusal('persistentvolumeclaims "sg-0b6a1f8e-exec-1-pvc-0" is forbidden: exceeded quota: storage, requested: requests.storage=10Gi, used: requests.storage=95Gi, limited: requests.storage=100Gi'),
    ).toMatchObject({ resource: 'persistentvolumeclaims', quota: 'storage' });
  });

  it('ignores other refusals and ordinary log lines', () => {
    for (const line of [
      '',
      '26/01/02 10:00:00 ERROR ExecutorPodsAllocator: Failed to create executor pod 1. Total failures: 1',
      `pods is forbidden: User "system:serviceaccount:sparkgate:sparkgate" cannot create resource "pods" in API group "" in the namespace "spark-analytics"`,
      `pods "${POD}" is forbidden: [maximum cpu usage per Container is 1, but limit is 2]`,
      'the quota: exceeded quota: of patience',
      `pods "${POD}" is forbidden: exceeded quota: q, requested: nonsense`,
      `${'x'.repeat(20_000)} pods "a" is forbidden: exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0`,
    ]) {
      expect(matchQuotaRefusal(line), line.slice(0, 80)).toBeUndefined();
    }
  });
});

describe('quotaNoticeText', () => {
  const refusal: QuotaRefusal = { resource: 'pods', quota: 'q', namespace: undefined, reason: 'exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0' };

  it('says in one line which namespace\'s quota refuses the executors, and the API server\'s figures', () => {
    expect(quotaNoticeText(refusal, 'spark-analytics')).toBe(
      'Spark cannot start executors: namespace spark-analytics\'s ResourceQuota "q" refuses them (exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0)',
    );
    expect(quotaNoticeText({ ...refusal, namespace: 'spark-bi' }, 'spark-analytics')).toContain('namespace spark-bi\'s');
    expect(quotaNoticeText({ ...refusal, resource: 'persistentvolumeclaims' }, 'ns')).toContain('refuses their persistentvolumeclaims (');
  });
});

describe('QuotaRefusalScanner', () => {
  it('finds refusals in a stream whose chunks split lines, once per complete line', () => {
    const found: QuotaRefusal[] = [];
    const scanner = new QuotaRefusalScanner((r) => found.push(r));
    const text = `26/01/02 10:00:00 ERROR ExecutorPodsAllocator: Failed to create executor pod 1. Total failures: 1\n${FABRIC8_LINE}\n\tat io.fabric8...\n`;
    for (let i = 0; i < text.length; i += 7) scanner.push(text.slice(i, i + 7));
    expect(found.map((r) => r.quota)).toEqual(['team-quota']);
    scanner.push(FABRIC8_LINE.slice(0, 100));
    expect(found).toHaveLength(1); // not a complete line yet
    scanner.push(`${FABRIC8_LINE.slice(100)}\n`);
    expect(found).toHaveLength(2);
  });

  it('drops a line that grows past the limit without a newline instead of buffering it forever', () => {
    const found: QuotaRefusal[] = [];
    const scanner = new QuotaRefusalScanner((r) => found.push(r), 1_000);
    scanner.push('y'.repeat(5_000));
    scanner.push(`\n${EXCEEDED}\n`);
    expect(found).toHaveLength(1);
  });
});

describe('SparkNoticeFile', () => {
  it('writes the notice at the first refusal, again at most every minIntervalMs while it repeats, and at once when it changes', () => {
    const writes: { file: string; content: unknown }[] = [];
    let now = 1_700_000_000_000;
    const notices = new SparkNoticeFile({
      path: '/run/spark-x.notice',
      namespace: 'spark-analytics',
      minIntervalMs: 1_000,
      now: () => now,
      write: (file, content) => writes.push({ file, content: JSON.parse(content) as unknown }),
    });
    notices.push('starting...\n');
    expect(writes).toEqual([]);
    notices.push(`${FABRIC8_LINE}\n`);
    expect(writes).toEqual([
      {
        file: '/run/spark-x.notice',
        content: {
          time: 1_700_000_000,
          text: 'Spark cannot start executors: namespace spark-analytics\'s ResourceQuota "team-quota" refuses them (exceeded quota: team-quota, requested: limits.cpu=1,pods=1, used: limits.cpu=4,pods=4, limited: limits.cpu=4,pods=4)',
        },
      },
    ]);
    now += 500;
    notices.push(`${FABRIC8_LINE}\n`);
    expect(writes).toHaveLength(1);
    now += 600;
    notices.push(`${FABRIC8_LINE}\n`);
    expect(writes).toHaveLength(2);
    notices.push(`${FABRIC8_LINE.replaceAll('used: limits.cpu=4,pods=4', 'used: limits.cpu=3,pods=3')}\n`);
    expect(writes).toHaveLength(3);
  });

  it('replaces the file on disk atomically, and reports a failed write instead of throwing into the stream', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-notice-'));
    try {
      const file = path.join(dir, 'spark-x.notice');
      new SparkNoticeFile({ path: file, namespace: 'ns' }).push(`${EXCEEDED}\n`);
      const content = JSON.parse(readFileSync(file, 'utf8')) as { time: number; text: string };
      expect(content.text).toMatch(/^Spark cannot start executors: namespace ns's ResourceQuota "team-quota"/);
      expect(Math.abs(content.time * 1000 - Date.now())).toBeLessThan(5_000);
      const errors: unknown[] = [];
      new SparkNoticeFile({ path: path.join(dir, 'gone', 'x.notice'), namespace: 'ns', onError: (e) => errors.push(e) }).push(`${EXCEEDED}\n`);
      expect(errors).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
