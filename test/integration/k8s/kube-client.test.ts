/**
 * Building the client from settings: every validation error names the setting, its env var and
 * an example; in-cluster and kubeconfig credentials; the start-up access probe. FakeKube only
 * where a server is needed (these tests do not depend on KUBECONFIG).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config.js';
import { createKubeClient, probeKubeAccess } from '../../../src/k8s/kube-client.js';
import { FakeKube } from '../../fake-kube/index.js';

const ok = { namespace: 'spark-jobs', podName: 'sparkgate-0' };
let fake: FakeKube;
let dir: string;

beforeAll(async () => {
  fake = await new FakeKube().start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-kube-client-'));
});

afterAll(async () => {
  await fake.stop();
});

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('createKubeClient settings validation', () => {
  it('requires the namespace, naming the setting and the downward API field', () => {
    expect(configError(() => createKubeClient({ podName: 'sparkgate-0', kubeConfig: fake.kubeConfig() }))).toBe(
      'spark.namespace is required in kubernetes mode: set SPARKGATE_SPARK_NAMESPACE (downward API metadata.namespace), e.g. SPARKGATE_SPARK_NAMESPACE=spark-jobs',
    );
    expect(configError(() => createKubeClient({ ...ok, namespace: 'Bad_NS', kubeConfig: fake.kubeConfig() }))).toMatch(
      /^spark\.namespace "Bad_NS" is not a valid namespace name .*SPARKGATE_SPARK_NAMESPACE=spark-jobs/,
    );
  });

  it('requires a pod name usable as a label value, and a well-formed uid', () => {
    expect(configError(() => createKubeClient({ namespace: 'ns', kubeConfig: fake.kubeConfig() }))).toMatch(
      /^spark\.podName is required in kubernetes mode: set SPARKGATE_SPARK_POD_NAME \(downward API metadata\.name\)/,
    );
    expect(configError(() => createKubeClient({ ...ok, podName: 'x'.repeat(64), kubeConfig: fake.kubeConfig() }))).toMatch(
      /spark\.podName .* cannot be a label value/,
    );
    expect(configError(() => createKubeClient({ ...ok, podUid: 'nope', kubeConfig: fake.kubeConfig() }))).toMatch(
      /spark\.podUid "nope" is not a UID .*SPARKGATE_SPARK_POD_UID=/,
    );
  });

  it('explains how to provide credentials when there are none', () => {
    expect(configError(() => createKubeClient(ok))).toMatch(
      /no Kubernetes credentials .*KUBERNETES_SERVICE_HOST.* set spark\.kubeconfig, e\.g\. SPARKGATE_SPARK_KUBECONFIG=/,
    );
  });
});

describe('credentials', () => {
  it('uses an injected KubeConfig as is', async () => {
    const client = createKubeClient({ ...ok, podUid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', kubeConfig: fake.kubeConfig() });
    expect(client).toMatchObject({ source: 'injected', namespace: 'spark-jobs', server: fake.url });
    expect(client.gatewayPod).toEqual({ name: 'sparkgate-0', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' });
    await probeKubeAccess(client);
  });

  it('builds in-cluster credentials from the service account files and service host', () => {
    const sa = path.join(dir, 'sa');
    const missing = configError(() => createKubeClient({ ...ok, serviceHost: '10.96.0.1', serviceAccountDir: sa }));
    expect(missing).toContain(path.join(sa, 'token'));
    writeFileSync(path.join(dir, 'token'), 'token-value');
    writeFileSync(path.join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\n');
    const client = createKubeClient({ ...ok, serviceHost: '10.96.0.1', servicePort: '6443', serviceAccountDir: dir });
    expect(client).toMatchObject({ source: 'in-cluster', server: 'https://10.96.0.1:6443' });
    expect(client.kubeConfig.getCurrentUser()?.authProvider).toEqual({ name: 'tokenFile', config: { tokenFile: path.join(dir, 'token') } });
    const v6 = createKubeClient({ ...ok, serviceHost: 'fd00::1', serviceAccountDir: dir });
    expect(v6.server).toBe('https://[fd00::1]:443');
  });

  it('loads a kubeconfig file and its context, and checks the context exists', async () => {
    const file = path.join(dir, 'kubeconfig.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: fake\n  cluster:\n    server: ${fake.url}\n    insecure-skip-tls-verify: true`,
        'users:',
        '- name: me\n  user:\n    token: abc',
        'contexts:',
        '- name: fake-ctx\n  context:\n    cluster: fake\n    user: me',
        'current-context: fake-ctx',
        '',
      ].join('\n'),
    );
    const client = createKubeClient({ ...ok, kubeconfigPath: file });
    expect(client).toMatchObject({ source: 'kubeconfig', server: fake.url });
    await probeKubeAccess(client);
    expect(configError(() => createKubeClient({ ...ok, kubeconfigPath: file, kubeContext: 'other' }))).toMatch(
      /spark\.kubeContext names context "other", which .* does not define \(it has: fake-ctx\)/,
    );
    expect(configError(() => createKubeClient({ ...ok, kubeconfigPath: path.join(dir, 'absent') }))).toMatch(
      /^spark\.kubeconfig points at .*absent.*, which is not a readable file: set SPARKGATE_SPARK_KUBECONFIG/,
    );
  });

  it('the access probe says what is wrong', async () => {
    const client = createKubeClient({ ...ok, kubeConfig: fake.kubeConfig() });
    fake.injectFault({ verb: 'list', resource: 'pods', status: 403, message: 'pods is forbidden', times: 1 });
    await expect(probeKubeAccess(client)).rejects.toThrow(/may not list pods in spark-jobs: apply the Role .*HTTP 403 Forbidden: pods is forbidden/);
    fake.injectFault({ verb: 'list', resource: 'pods', status: 401, times: 1 });
    await expect(probeKubeAccess(client)).rejects.toThrow(/credentials were rejected/);
  });
});
