/**
 * Spark configuration keys in one place (as kubeflow/spark-operator keeps them in `pkg/common`),
 * plus the two key policies: which keys the gateway owns, and which keys users may set by default.
 *
 * Key references:
 * - https://spark.apache.org/docs/latest/configuration.html
 * - https://spark.apache.org/docs/latest/running-on-kubernetes.html#spark-properties
 * - https://spark.apache.org/docs/latest/security.html
 */
import { LABEL_GATEWAY, LABEL_MANAGED_BY, LABEL_SESSION } from '../labels.js';

export const K = {
  master: 'spark.master',
  deployMode: 'spark.submit.deployMode',
  appName: 'spark.app.name',
  appId: 'spark.app.id',
  driverHost: 'spark.driver.host',
  driverBindAddress: 'spark.driver.bindAddress',
  driverPort: 'spark.driver.port',
  driverBlockManagerPort: 'spark.driver.blockManager.port',
  blockManagerPort: 'spark.blockManager.port',
  uiPort: 'spark.ui.port',
  uiProxyBase: 'spark.ui.proxyBase',
  uiReverseProxy: 'spark.ui.reverseProxy',
  uiReverseProxyUrl: 'spark.ui.reverseProxyUrl',
  portMaxRetries: 'spark.port.maxRetries',
  driverMemory: 'spark.driver.memory',
  executorMemory: 'spark.executor.memory',
  executorCores: 'spark.executor.cores',
  executorInstances: 'spark.executor.instances',
  executorMemoryOverhead: 'spark.executor.memoryOverhead',
  /** Executor failures (pod creations refused included) after which the driver stops the app. */
  executorMaxNumFailures: 'spark.executor.maxNumFailures',
  jars: 'spark.jars',
  jarsPackages: 'spark.jars.packages',
  authenticate: 'spark.authenticate',
  networkCryptoEnabled: 'spark.network.crypto.enabled',
  daEnabled: 'spark.dynamicAllocation.enabled',
  daShuffleTracking: 'spark.dynamicAllocation.shuffleTracking.enabled',
  daMinExecutors: 'spark.dynamicAllocation.minExecutors',
  daMaxExecutors: 'spark.dynamicAllocation.maxExecutors',
  daInitialExecutors: 'spark.dynamicAllocation.initialExecutors',
  k8sNamespace: 'spark.kubernetes.namespace',
  k8sDriverPodName: 'spark.kubernetes.driver.pod.name',
  k8sContainerImage: 'spark.kubernetes.container.image',
  k8sExecutorContainerImage: 'spark.kubernetes.executor.container.image',
  k8sExecutorPodNamePrefix: 'spark.kubernetes.executor.podNamePrefix',
  k8sExecutorPodTemplateFile: 'spark.kubernetes.executor.podTemplateFile',
  k8sExecutorLabelPrefix: 'spark.kubernetes.executor.label.',
  /** Executor pods' service account (Spark >= 3.1; falls back to the driver's account key). */
  k8sExecutorServiceAccount: 'spark.kubernetes.authenticate.executor.serviceAccountName',
  /**
   * Client mode reads API-server credentials under the bare `spark.kubernetes.authenticate`
   * prefix ("Use the exact prefix spark.kubernetes.authenticate for Kubernetes authentication
   * parameters in client mode"); the `.driver.*` / `.driver.mounted.*` keys are cluster mode only.
   */
  k8sAuthPrefix: 'spark.kubernetes.authenticate',
  k8sClientCaCertFile: 'spark.kubernetes.authenticate.caCertFile',
  k8sClientOauthTokenFile: 'spark.kubernetes.authenticate.oauthTokenFile',
  /**
   * Spark 4.3 defaults it to true (SPARK-57351): executors would dial the driver pod's IP (or
   * 0.0.0.0 with bindAddress 0.0.0.0) instead of spark.driver.host, the headless Service name.
   */
  k8sExecutorUseDriverPodIp: 'spark.kubernetes.executor.useDriverPodIP',
} as const;

export const executorLabelKey = (label: string): string => `${K.k8sExecutorLabelPrefix}${label}`;

/**
 * Does `key` fall under `pattern`? A pattern ending in "." is a prefix ("spark.sql." matches
 * "spark.sql.shuffle.partitions"); any other pattern matches that exact key and its dotted
 * sub-keys ("spark.authenticate" matches "spark.authenticate.secret", not "spark.authenticateX").
 */
export function keyMatches(key: string, pattern: string): boolean {
  if (pattern.endsWith('.')) return key.startsWith(pattern);
  return key === pattern || key.startsWith(`${pattern}.`);
}

/**
 * Keys the gateway renders itself. Nobody overrides them: a user setting one gets 403, an
 * operator's `extraConf` naming one fails config validation. `hint` says where the value comes
 * from instead.
 */
export interface ReservedKey {
  readonly pattern: string;
  readonly hint: string;
  /** Match only the key itself, not its dotted sub-keys. */
  readonly exact?: boolean;
}

export const RESERVED_KEYS: readonly ReservedKey[] = [
  // identity, networking and ports: per session, from the gateway's own pod and port allocation
  { pattern: K.master, hint: 'setting spark.master' },
  { pattern: K.deployMode, hint: 'always client mode' },
  { pattern: 'spark.submit.', hint: 'set by the gateway' },
  { pattern: K.appName, hint: 'set by the gateway per session' },
  { pattern: K.appId, hint: 'derived from the session id: garbage collection finds the executor ConfigMap by it' },
  { pattern: K.driverHost, hint: 'setting spark.driverHostMode' },
  { pattern: K.driverBindAddress, hint: 'set by the gateway' },
  { pattern: K.driverPort, hint: 'allocated per session from spark.driverPortRange' },
  { pattern: K.driverBlockManagerPort, hint: 'allocated per session from spark.blockManagerPortRange' },
  { pattern: K.blockManagerPort, hint: 'allocated per session from spark.blockManagerPortRange' },
  { pattern: K.uiPort, hint: 'allocated per session from spark.uiPortRange' },
  { pattern: K.uiProxyBase, hint: 'the gateway proxies the Spark UI' },
  { pattern: K.uiReverseProxy, hint: 'the gateway proxies the Spark UI' },
  { pattern: K.uiReverseProxyUrl, hint: 'the gateway proxies the Spark UI' },
  { pattern: K.portMaxRetries, hint: 'must stay 0 so a session never drifts into another session\'s ports' },
  { pattern: K.k8sNamespace, hint: 'setting spark.namespace' },
  { pattern: K.k8sDriverPodName, hint: 'setting spark.podName' },
  { pattern: K.k8sExecutorPodNamePrefix, hint: 'derived from the session id' },
  { pattern: K.k8sExecutorUseDriverPodIp, hint: 'executors reach the driver at spark.driver.host' },
  { pattern: executorLabelKey(LABEL_SESSION), hint: 'garbage collection depends on it' },
  { pattern: executorLabelKey(LABEL_GATEWAY), hint: 'garbage collection depends on it' },
  { pattern: executorLabelKey(LABEL_MANAGED_BY), hint: 'garbage collection depends on it' },
  { pattern: K.k8sAuthPrefix, hint: 'settings spark.serviceAccount, spark.kubernetesCaCertFile, spark.kubernetesTokenFile' },
  { pattern: K.k8sExecutorPodTemplateFile, hint: 'setting spark.executorPodTemplateFile' },
  { pattern: K.authenticate, hint: 'setting spark.authenticate' },
  { pattern: 'spark.network.crypto.', hint: 'setting spark.networkCrypto' },
  { pattern: K.daEnabled, hint: 'executors are always allocated on demand' },
  { pattern: K.daShuffleTracking, hint: 'executors are always allocated on demand' },
  // resources and code: bounded by policy, requested through KERNEL_* variables
  { pattern: K.executorMemory, hint: 'use KERNEL_EXECUTOR_MEMORY' },
  { pattern: K.executorCores, hint: 'use KERNEL_EXECUTOR_CORES' },
  { pattern: K.driverMemory, hint: 'use KERNEL_DRIVER_MEMORY' },
  { pattern: K.executorInstances, hint: 'use KERNEL_MIN_EXECUTORS / KERNEL_MAX_EXECUTORS' },
  { pattern: K.daMinExecutors, hint: 'use KERNEL_MIN_EXECUTORS' },
  { pattern: K.daMaxExecutors, hint: 'use KERNEL_MAX_EXECUTORS' },
  { pattern: K.daInitialExecutors, hint: 'use KERNEL_MIN_EXECUTORS' },
  { pattern: K.k8sContainerImage, hint: 'use KERNEL_IMAGE' },
  { pattern: K.k8sExecutorContainerImage, hint: 'use KERNEL_IMAGE' },
  { pattern: 'spark.kubernetes.driver.container.image', hint: 'use KERNEL_IMAGE' },
  // exact: operators keep spark.jars.repositories / spark.jars.ivySettings for their mirrors
  { pattern: K.jars, hint: 'use KERNEL_SPARK_JARS', exact: true },
  { pattern: K.jarsPackages, hint: 'use KERNEL_SPARK_PACKAGES', exact: true },
];

/** The reserved entry covering `key`, if any. */
export function reservedKey(key: string): ReservedKey | undefined {
  return RESERVED_KEYS.find((r) => (r.exact ? key === r.pattern : keyMatches(key, r.pattern)));
}

/**
 * What users may set through KERNEL_SPARK_CONF* unless the operator says otherwise: tuning
 * knobs that change neither where the session runs nor how much of the cluster it may take.
 * `spark.executor.memoryOverhead` is allowed but bounded by `spark.maxExecutorMemory`.
 */
export const DEFAULT_ALLOWED_SPARK_CONF: readonly string[] = [
  'spark.sql.',
  K.executorMemoryOverhead,
  'spark.dynamicAllocation.executorIdleTimeout',
  'spark.dynamicAllocation.cachedExecutorIdleTimeout',
  'spark.dynamicAllocation.schedulerBacklogTimeout',
  'spark.dynamicAllocation.sustainedSchedulerBacklogTimeout',
  'spark.dynamicAllocation.shuffleTracking.timeout',
  'spark.default.parallelism',
  'spark.serializer',
  'spark.kryo.',
  'spark.kryoserializer.buffer',
  'spark.task.maxFailures',
  'spark.speculation',
  'spark.locality.wait',
  'spark.scheduler.mode',
  'spark.memory.fraction',
  'spark.memory.storageFraction',
  'spark.network.timeout',
  'spark.executor.heartbeatInterval',
  'spark.rdd.compress',
  'spark.shuffle.compress',
  'spark.io.compression.codec',
  'spark.python.worker.reuse',
];

/** Spark configuration keys: "spark." then letters, digits and `._-/:`. */
export const SPARK_KEY_PATTERN = /^spark\.[A-Za-z0-9][A-Za-z0-9._\-/:]*$/;
export const MAX_KEY_LENGTH = 256;
export const MAX_VALUE_LENGTH = 4096;
