import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ALLOWED_SPARK_CONF,
  portSlotCount,
  sparkMaster,
  sparkSettingsSchema,
} from '../../../src/spark/index.js';
import { K8S_INPUT, k8sSettings, localSettings, settingsIssues } from './fixtures.js';

describe('sparkSettingsSchema', () => {
  it('parses {} to the embedded local mode, every field defaulted', () => {
    expect(sparkSettingsSchema.parse({})).toEqual({
      mode: 'local',
      gcTimeoutMs: 60_000,
      reaperGraceMs: 30_000,
      clusterDomain: 'cluster.local',
      confDir: expect.stringMatching(/kernel\/spark-conf$/),
      driverHostMode: 'service',
      kubernetesCaCertFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
      kubernetesTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      driverPortRange: { start: 40000, end: 40049 },
      blockManagerPortRange: { start: 40100, end: 40149 },
      uiPortRange: { start: 40200, end: 40249 },
      authenticate: true,
      networkCrypto: false,
      maxExecutors: 10,
      maxExecutorMemory: '8g',
      maxExecutorCores: 4,
      maxDriverMemory: '4g',
      allowedImages: [],
      allowPackages: true,
      allowedSparkConf: [...DEFAULT_ALLOWED_SPARK_CONF],
      defaultExecutorMemory: '2g',
      defaultExecutorCores: 1,
      defaultDriverMemory: '1g',
      extraConf: {},
    });
  });

  it('keeps a ZodObject so the config loader can map SPARKGATE_SPARK_* names from .shape', () => {
    expect(Object.keys(sparkSettingsSchema.shape)).toContain('driverPortRange');
    expect(Object.keys(sparkSettingsSchema.shape)).toContain('allowedSparkConf');
  });

  it('derives the master from the mode unless set', () => {
    expect(sparkMaster(localSettings())).toBe('local[*]');
    expect(sparkMaster(k8sSettings())).toBe('k8s://https://kubernetes.default.svc');
    expect(sparkMaster(k8sSettings({ master: 'k8s://https://10.0.0.1:6443' }))).toBe('k8s://https://10.0.0.1:6443');
    expect(sparkMaster(localSettings({ master: 'local[2]' }))).toBe('local[2]');
  });

  it('accepts the string forms environment variables carry', () => {
    const s = sparkSettingsSchema.parse({
      ...K8S_INPUT,
      maxExecutors: '20',
      maxExecutorCores: '8',
      allowPackages: 'false',
      authenticate: 'yes',
      allowedImages: 'registry.example.com/spark:*, registry.example.com/spark-gpu:3.5.3',
      allowedSparkConf: 'spark.sql.,spark.speculation',
      extraConf: '{"spark.eventLog.enabled":true,"spark.eventLog.dir":"s3a://logs/spark"}',
      driverPortRange: '41000-41009',
      blockManagerPortRange: '41100 - 41109',
      uiPortRange: { start: 41200, end: 41209 },
      maxExecutorMemory: '16G',
    });
    expect(s).toMatchObject({
      maxExecutors: 20,
      maxExecutorCores: 8,
      allowPackages: false,
      authenticate: true,
      allowedImages: ['registry.example.com/spark:*', 'registry.example.com/spark-gpu:3.5.3'],
      allowedSparkConf: ['spark.sql.', 'spark.speculation'],
      extraConf: { 'spark.eventLog.enabled': 'true', 'spark.eventLog.dir': 's3a://logs/spark' },
      driverPortRange: { start: 41000, end: 41009 },
      blockManagerPortRange: { start: 41100, end: 41109 },
      uiPortRange: { start: 41200, end: 41209 },
      maxExecutorMemory: '16g',
    });
    expect(portSlotCount(s)).toBe(10);
  });

  it('names each missing kubernetes-mode setting with an example', () => {
    expect(settingsIssues({ mode: 'kubernetes' })).toEqual([
      'namespace: is required in kubernetes mode (downward API metadata.namespace), e.g. "spark"',
      'podName: is required in kubernetes mode (downward API metadata.name), e.g. "sparkgate-0"',
      'headlessService: is required when driverHostMode is "service", e.g. "sparkgate-drivers"',
      'image: is required in kubernetes mode, e.g. "registry.example.com/spark:3.5.3"',
    ]);
    const { podIp: _ip, ...noIp } = K8S_INPUT;
    expect(settingsIssues({ ...noIp, driverHostMode: 'ip' })).toEqual([
      'podIp: is required when driverHostMode is "ip" (downward API status.podIP), e.g. "10.42.0.17"',
    ]);
  });

  it('checks the master against the mode', () => {
    expect(settingsIssues({ ...K8S_INPUT, master: 'local[*]' })).toEqual([
      'master: must be a k8s:// URL in kubernetes mode, e.g. "k8s://https://kubernetes.default.svc"',
    ]);
    expect(settingsIssues({ master: 'spark://host:7077' })).toEqual([
      'master: must be a local master in local mode, e.g. "local[*]"',
    ]);
  });

  it('explains malformed port ranges', () => {
    const hint = 'must be "start-end" with 1024 <= start <= end <= 65535, e.g. "40000-40049"';
    for (const bad of ['40000', '40049-40000', '80-90', '40000-70000', 'ports', 40000]) {
      expect(settingsIssues({ driverPortRange: bad }), String(bad)).toEqual([`driverPortRange: ${hint}`]);
    }
  });

  it('refuses overlapping ranges and ranges of different sizes', () => {
    expect(settingsIssues({ uiPortRange: '40040-40089' })).toEqual([
      'uiPortRange: overlaps driverPortRange (40000-40049); use disjoint ranges, e.g. "40000-40049", "40100-40149", "40200-40249"',
    ]);
    expect(settingsIssues({ blockManagerPortRange: '40100-40119' })).toEqual([
      'blockManagerPortRange: must hold as many ports as driverPortRange (50): session i uses port start+i of every range, e.g. "40100-40149"',
    ]);
  });

  it('explains malformed values by setting, with examples', () => {
    expect(settingsIssues({ maxExecutorMemory: '8 gigs' })).toEqual([
      'maxExecutorMemory: must be a Spark memory size: a whole number and a unit k, m, g or t, e.g. "8g"',
    ]);
    expect(settingsIssues({ maxExecutors: 'ten' })).toEqual(['maxExecutors: must be a whole number, e.g. 10']);
    expect(settingsIssues({ maxExecutors: 0 })).toEqual(['maxExecutors: must be at least 1, e.g. 10']);
    expect(settingsIssues({ allowPackages: 'maybe' })).toEqual(['allowPackages: must be true or false, e.g. "true"']);
    expect(settingsIssues({ mode: 'yarn' })).toEqual(['mode: must be "local" or "kubernetes", e.g. "kubernetes"']);
    expect(settingsIssues({ extraConf: '{not json' })).toEqual([
      'extraConf: must be an object (JSON in the environment) of Spark keys to values, e.g. {"spark.eventLog.enabled":"true"}',
    ]);
    expect(settingsIssues({ ...K8S_INPUT, namespace: 'Spark_NS' })).toEqual([
      'namespace: must be a DNS-1123 label (lower-case letters, digits, "-"; at most 63), e.g. "spark"',
    ]);
    expect(settingsIssues({ ...K8S_INPUT, podIp: '10.0.0.999' })).toEqual(['podIp: must be an IP address, e.g. "10.42.0.17"']);
  });

  it('keeps defaults within the limits', () => {
    expect(settingsIssues({ defaultExecutorMemory: '16g' })).toEqual([
      'defaultExecutorMemory: must not exceed maxExecutorMemory (8g), e.g. "2g"',
    ]);
    expect(settingsIssues({ defaultDriverMemory: '8g' })).toEqual([
      'defaultDriverMemory: must not exceed maxDriverMemory (4g), e.g. "1g"',
    ]);
    expect(settingsIssues({ defaultExecutorCores: 5 })).toEqual([
      'defaultExecutorCores: must not exceed maxExecutorCores (4), e.g. 1',
    ]);
  });

  it('refuses operator extraConf that names a key the gateway renders', () => {
    expect(settingsIssues({ extraConf: { 'spark.master': 'yarn', 'spark.executor.memory': '64g', 'spark.sql.x': '1' } })).toEqual([
      'extraConf.spark.master: spark.master is rendered by the gateway (setting spark.master); remove it',
      'extraConf.spark.executor.memory: spark.executor.memory is rendered by the gateway (use KERNEL_EXECUTOR_MEMORY); remove it',
    ]);
    // but leaves operators their Maven mirror and other spark.kubernetes.* tuning
    expect(
      settingsIssues({
        extraConf: { 'spark.jars.repositories': 'https://maven.example.com', 'spark.kubernetes.executor.request.cores': '500m' },
      }),
    ).toEqual([]);
    expect(settingsIssues({ extraConf: { 'not a key': 'x' } })).toEqual([
      'extraConf.not a key: keys must be Spark keys, e.g. {"spark.eventLog.enabled":"true"}',
    ]);
  });

  it('refuses unknown settings (typos in a config file)', () => {
    expect(settingsIssues({ maxExecutor: 3 })).toEqual([': Unrecognized key: "maxExecutor"']);
  });
});
