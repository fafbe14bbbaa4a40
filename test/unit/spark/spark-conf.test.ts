import { describe, expect, it } from 'vitest';
import {
  type SessionProfile,
  type SparkSettings,
  PortAllocator,
  executorPodNamePrefix,
  kernelspecProfileSchema,
  renderSparkConf,
  resolveProfile,
  toPropertiesFile,
  toPysparkSubmitArgs,
  toSubmitArgs,
} from '../../../src/spark/index.js';
import { PORTS, SESSION_ID, gatewayError, k8sSettings, localSettings } from './fixtures.js';
import { sessionIdOfAppId, sparkAppId } from '../../../src/spark/session-naming.js';

const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The default Kubernetes session, pinned key by key. */
const DEFAULT_K8S_CONF = {
  'spark.app.id': `sparkgate-${SESSION_ID}`,
  'spark.app.name': 'sparkgate-0b6a1f8e',
  'spark.authenticate': 'true',
  'spark.driver.bindAddress': '0.0.0.0',
  'spark.driver.blockManager.port': '40103',
  'spark.driver.host': 'sparkgate-0.sparkgate-drivers.spark.svc.cluster.local',
  'spark.driver.memory': '1g',
  'spark.driver.port': '40003',
  'spark.dynamicAllocation.enabled': 'true',
  'spark.dynamicAllocation.maxExecutors': '10',
  'spark.dynamicAllocation.minExecutors': '0',
  'spark.dynamicAllocation.shuffleTracking.enabled': 'true',
  'spark.executor.cores': '1',
  'spark.executor.maxNumFailures': '2147483647',
  'spark.executor.memory': '2g',
  'spark.kubernetes.authenticate.caCertFile': `${SA}/ca.crt`,
  'spark.kubernetes.authenticate.executor.serviceAccountName': 'sparkgate-executor',
  'spark.kubernetes.authenticate.oauthTokenFile': `${SA}/token`,
  'spark.kubernetes.container.image': 'registry.example.com/spark:3.5.3',
  'spark.kubernetes.driver.pod.name': 'sparkgate-0',
  'spark.kubernetes.executor.label.app.kubernetes.io/managed-by': 'sparkgate',
  'spark.kubernetes.executor.label.sparkgate.io/gateway': 'sparkgate-0',
  'spark.kubernetes.executor.label.sparkgate.io/session': SESSION_ID,
  'spark.kubernetes.executor.podNamePrefix': 'sg-0b6a1f8e',
  'spark.kubernetes.executor.useDriverPodIP': 'false',
  'spark.kubernetes.namespace': 'spark',
  'spark.master': 'k8s://https://kubernetes.default.svc',
  'spark.sql.catalogImplementation': 'in-memory',
  'spark.port.maxRetries': '0',
  'spark.submit.deployMode': 'client',
  'spark.ui.port': '40203',
  'spark.ui.proxyBase': `/api/sparkgate/sessions/${SESSION_ID}/ui`,
};

function render(settings: SparkSettings, env: Record<string, string> = {}, kernelspecProfile?: unknown) {
  const profile = resolveProfile({
    settings,
    env,
    kernelspecProfile: kernelspecProfile === undefined ? undefined : kernelspecProfileSchema.parse(kernelspecProfile),
  });
  return renderSparkConf({ settings, profile, sessionId: SESSION_ID, ports: PORTS });
}

describe('renderSparkConf', () => {
  it('renders the default Kubernetes client-mode session', () => {
    const conf = render(k8sSettings());
    expect(conf).toEqual(DEFAULT_K8S_CONF);
    expect(Object.keys(conf)).toEqual(Object.keys(conf).sort());
    expect(Object.isFrozen(conf)).toBe(true);
  });

  it('renders local mode through the same path: local[*], loopback, no Kubernetes keys, UI port still allocated', () => {
    expect(render(localSettings())).toEqual({
      'spark.app.name': 'sparkgate-0b6a1f8e',
      'spark.authenticate': 'true',
      'spark.driver.bindAddress': '127.0.0.1',
      'spark.driver.blockManager.port': '40103',
      'spark.driver.host': '127.0.0.1',
      'spark.driver.memory': '1g',
      'spark.driver.port': '40003',
      'spark.master': 'local[*]',
      'spark.sql.catalogImplementation': 'in-memory',
      'spark.port.maxRetries': '0',
      'spark.submit.deployMode': 'client',
      'spark.ui.port': '40203',
      'spark.ui.proxyBase': `/api/sparkgate/sessions/${SESSION_ID}/ui`,
    });
  });

  it('uses the pod IP as driver host in ip mode', () => {
    expect(render(k8sSettings({ driverHostMode: 'ip' }))).toEqual({ ...DEFAULT_K8S_CONF, 'spark.driver.host': '10.42.0.17' });
  });

  it('renders a request with resources, packages and user conf, over kernelspec and operator defaults', () => {
    const settings = k8sSettings({
      executorPodTemplateFile: '/etc/sparkgate/executor-pod-template.yaml',
      networkCrypto: true,
      extraConf: { 'spark.eventLog.enabled': 'true', 'spark.sql.shuffle.partitions': '200' },
    });
    const conf = render(
      settings,
      {
        KERNEL_EXECUTOR_MEMORY: '4g',
        KERNEL_EXECUTOR_CORES: '2',
        KERNEL_DRIVER_MEMORY: '2g',
        KERNEL_MAX_EXECUTORS: '6',
        KERNEL_MIN_EXECUTORS: '1',
        KERNEL_SPARK_PACKAGES: 'io.delta:delta-spark_2.12:3.2.0,org.apache.spark:spark-avro_2.12:3.5.3',
        KERNEL_SPARK_JARS: 'local:///opt/jars/udfs.jar',
        KERNEL_SPARK_CONF_SPARK_SQL_SHUFFLE_PARTITIONS: '8',
        KERNEL_SPARK_CONF: '{"spark.dynamicAllocation.executorIdleTimeout":"120s"}',
      },
      { conf: { 'spark.sql.shuffle.partitions': '64', 'spark.sql.session.timeZone': 'UTC' } },
    );
    expect(conf).toEqual({
      ...DEFAULT_K8S_CONF,
      'spark.driver.memory': '2g',
      'spark.dynamicAllocation.executorIdleTimeout': '120s',
      'spark.dynamicAllocation.maxExecutors': '6',
      'spark.dynamicAllocation.minExecutors': '1',
      'spark.eventLog.enabled': 'true',
      'spark.executor.cores': '2',
      'spark.executor.memory': '4g',
      'spark.jars': 'local:///opt/jars/udfs.jar',
      'spark.jars.packages': 'io.delta:delta-spark_2.12:3.2.0,org.apache.spark:spark-avro_2.12:3.5.3',
      'spark.kubernetes.executor.podTemplateFile': '/etc/sparkgate/executor-pod-template.yaml',
      'spark.network.crypto.enabled': 'true',
      'spark.sql.session.timeZone': 'UTC',
      'spark.sql.shuffle.partitions': '8',
    });
  });

  it('refuses an attempt to override a gateway-owned key before anything is rendered', () => {
    const err = gatewayError(() => render(k8sSettings(), { KERNEL_SPARK_CONF: '{"spark.driver.host":"attacker.example.com"}' }));
    expect([err.status, err.message]).toEqual([
      403,
      'spark.driver.host is set by the gateway and cannot be overridden (setting spark.driverHostMode); sent as KERNEL_SPARK_CONF',
    ]);
    const limit = gatewayError(() => render(k8sSettings(), { KERNEL_MAX_EXECUTORS: '100' }));
    expect([limit.status, limit.message]).toEqual([403, 'KERNEL_MAX_EXECUTORS=100 is above the limit 10 (limit: spark.maxExecutors)']);
    const malformed = gatewayError(() => render(k8sSettings(), { KERNEL_EXECUTOR_CORES: 'two' }));
    expect(malformed.status).toBe(400);
  });

  it('layers gateway-owned > bounded profile > user conf > operator extraConf', () => {
    // Input that skipped validation, to show the layering itself holds.
    const settings = {
      ...k8sSettings(),
      extraConf: {
        'spark.master': 'yarn',
        'spark.driver.port': '1',
        'spark.executor.memory': '64g',
        'spark.sql.shuffle.partitions': '200',
        'spark.eventLog.enabled': 'true',
      },
    } satisfies SparkSettings;
    const profile: SessionProfile = {
      ...resolveProfile({ settings: k8sSettings() }),
      executorMemory: '3g',
      conf: { 'spark.sql.shuffle.partitions': '8', 'spark.executor.memory': '32g', 'spark.ui.port': '4040' },
    };
    const conf = renderSparkConf({ settings, profile, sessionId: SESSION_ID, ports: PORTS });
    expect({
      master: conf['spark.master'],
      driverPort: conf['spark.driver.port'],
      uiPort: conf['spark.ui.port'],
      executorMemory: conf['spark.executor.memory'],
      shufflePartitions: conf['spark.sql.shuffle.partitions'],
      eventLog: conf['spark.eventLog.enabled'],
    }).toEqual({
      master: 'k8s://https://kubernetes.default.svc', // gateway-owned beats everything
      driverPort: '40003',
      uiPort: '40203',
      executorMemory: '3g', // bounded profile beats user conf and extraConf
      shufflePartitions: '8', // user conf beats extraConf
      eventLog: 'true', // extraConf fills in what nobody else sets
    });
  });

  it('leaves out optional Kubernetes keys that are not configured', () => {
    const conf = render(
      k8sSettings({ serviceAccount: undefined, kubernetesCaCertFile: '', kubernetesTokenFile: '', authenticate: false }),
    );
    for (const key of [
      'spark.kubernetes.authenticate.executor.serviceAccountName',
      'spark.kubernetes.authenticate.caCertFile',
      'spark.kubernetes.authenticate.oauthTokenFile',
      'spark.authenticate',
    ]) {
      expect(conf).not.toHaveProperty([key]);
    }
  });

  it('renders no secret: Spark generates the per-application auth secret itself', () => {
    const conf = render(k8sSettings({ networkCrypto: true }));
    expect(Object.keys(conf).filter((k) => /secret|token$/i.test(k))).toEqual([]);
  });

  it('wires up with PortAllocator and derives names from the session id', async () => {
    const settings = k8sSettings();
    const ports = await new PortAllocator(settings).allocate(SESSION_ID);
    const conf = renderSparkConf({ settings, profile: resolveProfile({ settings }), sessionId: SESSION_ID, ports, appName: 'team-notebook' });
    expect(conf['spark.driver.port']).toBe('40000');
    expect(conf['spark.app.name']).toBe('team-notebook');
    expect(executorPodNamePrefix('ABCDEF12-0000-4000-8000-000000000000')).toBe('sg-abcdef12');
    const err = gatewayError(() => renderSparkConf({ settings, profile: resolveProfile({ settings }), sessionId: 'not-a-uuid', ports }));
    expect([err.status, err.message]).toEqual([400, 'Session ids must be UUIDs, e.g. "0b6a1f8e-3c1d-4e5f-9a7b-2c3d4e5f6a7b"']);
  });
});

describe('conf writers', () => {
  const conf = {
    'spark.sql.x': 'a=b:c #d !e',
    'spark.app.name': " it's\tmine\n",
    'spark.weird key=': 'C:\\path',
  };

  it('writes spark-defaults.conf with java.util.Properties escaping, sorted, marked as generated', () => {
    expect(toPropertiesFile(conf)).toBe(
      [
        '# Generated by sparkgate (src/spark/spark-conf.ts); do not edit.',
        "spark.app.name=\\ it's\\tmine\\n",
        'spark.sql.x=a=b:c #d !e',
        'spark.weird\\ key\\==C:\\\\path',
        '',
      ].join('\n'),
    );
  });

  it('writes spark-submit arguments', () => {
    expect(toSubmitArgs({ 'spark.b': '2', 'spark.a': 'x=y' })).toEqual(['--conf', 'spark.a=x=y', '--conf', 'spark.b=2']);
  });

  it('writes PYSPARK_SUBMIT_ARGS for shlex.split, ending in pyspark-shell', () => {
    expect(toPysparkSubmitArgs({ 'spark.master': 'local[*]', 'spark.app.name': "it's mine", 'spark.driver.memory': '1g' })).toBe(
      `--conf 'spark.app.name=it'\\''s mine' --conf spark.driver.memory=1g --conf 'spark.master=local[*]' pyspark-shell`,
    );
  });
});

describe('sparkAppId', () => {
  it('maps a session id to a label-safe app id and back; other Spark app ids map to nothing', () => {
    const appId = sparkAppId(SESSION_ID);
    expect(appId).toBe(`sparkgate-${SESSION_ID}`);
    expect(appId.length).toBeLessThanOrEqual(63);
    expect(sessionIdOfAppId(appId)).toBe(SESSION_ID);
    expect(sessionIdOfAppId('spark-0b6a1f8e3c1d4e5f9a7b2c3d4e5f6a7b')).toBeUndefined();
    expect(sessionIdOfAppId('sparkgate-not-a-uuid')).toBeUndefined();
  });
});
