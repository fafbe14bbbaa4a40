/** Public API of the Spark layer: settings, profile, port allocation, conf rendering. */
export {
  DEFAULT_K8S_MASTER,
  LOCAL_MASTER,
  SERVICE_ACCOUNT_DIR,
  formatPortRange,
  parsePortRange,
  portRangeSize,
  portSlotCount,
  sparkMaster,
  sparkSettingsSchema,
  type PortRange,
  type SparkSettings,
  type SparkSettingsInput,
} from './spark-settings.js';
export {
  kernelspecProfileSchema,
  resolveProfile,
  type KernelspecProfile,
  type ResolveProfileInput,
  type SessionProfile,
} from './spark-profile.js';
export { KERNEL_SPARK_CONF, KERNEL_SPARK_CONF_PREFIX, confKeyFromEnvSuffix, parseUserSparkConf } from './user-conf.js';
export { PortAllocator, type PortAllocatorOptions, type SessionPorts } from './port-allocator.js';
export { isPortFree } from './port-probe.js';
export {
  driverHost,
  executorNamespace,
  renderSparkConf,
  toPropertiesFile,
  toPysparkSubmitArgs,
  toSubmitArgs,
  type ExecutorPlacement,
  type RenderSparkConfInput,
  type SparkConf,
} from './spark-conf.js';
export { SPARK_UI_PROXY_ROOT, assertSessionId, executorPodNamePrefix, isSessionId, sparkUiProxyBase } from './session-naming.js';
export { DEFAULT_ALLOWED_SPARK_CONF, K as SPARK_KEYS, RESERVED_KEYS, keyMatches, reservedKey, type ReservedKey } from './conf-keys.js';
export { MEMORY_SIZE_EXAMPLE, parseMemorySize, type MemorySize } from './memory-size.js';
export type { KernelEnv } from './env-values.js';
