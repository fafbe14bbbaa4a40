/**
 * Per-team Spark conf (issue 14 item 3): a session of a team with its own namespace creates its
 * executors there, with the team's service account and pod template, and names no driver pod
 * (Spark would look it up in the team namespace and fail); teams without a namespace, or naming
 * the gateway's, render exactly today's conf.
 */
import { describe, expect, it } from 'vitest';
import { executorNamespace, renderSparkConf, resolveProfile, type ExecutorPlacement, type SparkSettings } from '../../../src/spark/index.js';
import { PORTS, SESSION_ID, k8sSettings, localSettings } from './fixtures.js';

function render(settings: SparkSettings, team?: ExecutorPlacement) {
  return renderSparkConf({ settings, profile: resolveProfile({ settings }), sessionId: SESSION_ID, ports: PORTS, team });
}

const DRIVER_POD = 'spark.kubernetes.driver.pod.name';

describe('renderSparkConf for a team', () => {
  it('puts a team with its own namespace there, with its service account and pod template, and names no driver pod', () => {
    const settings = k8sSettings({ executorPodTemplateFile: '/etc/sparkgate/executor/pod-template.yaml' });
    const base = render(settings);
    const conf = render(settings, {
      namespace: 'spark-analytics',
      serviceAccount: 'analytics-executor',
      executorPodTemplateFile: '/etc/sparkgate/templates/analytics.yaml',
    });
    const { [DRIVER_POD]: driverPod, ...rest } = base;
    expect(driverPod).toBe('sparkgate-0');
    expect(conf).toEqual({
      ...rest,
      'spark.kubernetes.namespace': 'spark-analytics',
      'spark.kubernetes.authenticate.executor.serviceAccountName': 'analytics-executor',
      'spark.kubernetes.executor.podTemplateFile': '/etc/sparkgate/templates/analytics.yaml',
    });
    // Executors in the team namespace dial the driver by its fully qualified headless-Service name.
    expect(conf['spark.driver.host']).toBe('sparkgate-0.sparkgate-drivers.spark.svc.cluster.local');
    // The labels the reaper and collector find them by are the same in every namespace.
    expect(conf['spark.kubernetes.executor.label.sparkgate.io/gateway']).toBe('sparkgate-0');
    expect(conf['spark.kubernetes.executor.label.sparkgate.io/session']).toBe(SESSION_ID);
    expect(conf['spark.app.id']).toBe(`sparkgate-${SESSION_ID}`);
  });

  it('falls back to the gateway\'s service account and pod template for what the team does not set', () => {
    const settings = k8sSettings({ executorPodTemplateFile: '/etc/sparkgate/executor/pod-template.yaml' });
    const conf = render(settings, { namespace: 'spark-analytics' });
    expect(conf).toMatchObject({
      'spark.kubernetes.namespace': 'spark-analytics',
      'spark.kubernetes.authenticate.executor.serviceAccountName': 'sparkgate-executor',
      'spark.kubernetes.executor.podTemplateFile': '/etc/sparkgate/executor/pod-template.yaml',
    });
    expect(conf[DRIVER_POD]).toBeUndefined();
  });

  it('renders today\'s conf for a team without a namespace or naming the gateway\'s, with its own account and template', () => {
    const settings = k8sSettings();
    expect(render(settings, {})).toEqual(render(settings));
    expect(render(settings, { namespace: 'spark' })).toEqual(render(settings));
    expect(render(settings, { serviceAccount: 'bi-executor', executorPodTemplateFile: '/t/bi.yaml' })).toEqual({
      ...render(settings),
      'spark.kubernetes.authenticate.executor.serviceAccountName': 'bi-executor',
      'spark.kubernetes.executor.podTemplateFile': '/t/bi.yaml',
    });
  });

  it('uses the pod IP in ip mode for team namespaces too', () => {
    const conf = render(k8sSettings({ driverHostMode: 'ip' }), { namespace: 'spark-analytics' });
    expect(conf['spark.driver.host']).toBe('10.42.0.17');
  });

  it('ignores the team in local mode', () => {
    expect(render(localSettings(), { namespace: 'spark-analytics', serviceAccount: 'x' })).toEqual(render(localSettings()));
  });

  it('executorNamespace: the team\'s, else the gateway\'s', () => {
    expect(executorNamespace(k8sSettings(), { namespace: 'spark-bi' })).toBe('spark-bi');
    expect(executorNamespace(k8sSettings(), undefined)).toBe('spark');
    expect(executorNamespace(k8sSettings(), {})).toBe('spark');
  });
});
