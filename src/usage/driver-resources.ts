/**
 * A session's driver, as metered: the cores and memory its rendered Spark conf gives the driver,
 * times its live time (registry startedAt..endedAt). Pure.
 *
 * - cores: `spark.driver.cores` (default 1). In client mode Spark does not enforce it (the driver
 *   is a process in the gateway pod): this is the nominal share the session asked for.
 * - memory: `spark.driver.memory` (default 1g, a bare number is MiB as Spark reads it) and
 *   nothing else: not spark.driver.memoryOverhead, not the Python kernel, not Python workers.
 *   It is the JVM heap the session was granted, not what the process used.
 * A session without a Spark conf (plain python3, a terminal without Spark) has no driver: 0.
 *
 * Error bound: the live time is exact to the registry's timestamps (milliseconds), except that a
 * gateway that crashes loses the interval since its last flush (at most usageFlushSeconds), and
 * a gateway that stops accounts its live sessions up to the moment the usage extension stops
 * (their shutdown after that, bounded by kernelShutdownTimeoutMs, is not counted).
 * Source: https://spark.apache.org/docs/latest/configuration.html#application-properties
 */
import { K } from '../spark/conf-keys.js';
import { parseMemorySize } from '../spark/memory-size.js';

export const DRIVER_CORES_KEY = 'spark.driver.cores';
export const DEFAULT_DRIVER_CORES = 1;
export const DEFAULT_DRIVER_MEMORY_BYTES = 2 ** 30;

export interface DriverResources {
  readonly cores: number;
  readonly memoryBytes: number;
}

export const NO_DRIVER: DriverResources = Object.freeze({ cores: 0, memoryBytes: 0 });

export function driverResources(conf: Readonly<Record<string, string>> | undefined): DriverResources {
  if (!conf) return NO_DRIVER;
  const coresText = conf[DRIVER_CORES_KEY]?.trim();
  const cores = coresText !== undefined && /^\d+(\.\d+)?$/.test(coresText) && Number(coresText) > 0 ? Number(coresText) : DEFAULT_DRIVER_CORES;
  const memoryText = conf[K.driverMemory];
  const memory = memoryText === undefined ? undefined : parseMemorySize(memoryText, { defaultUnit: 'm' });
  return { cores, memoryBytes: memory?.bytes ?? DEFAULT_DRIVER_MEMORY_BYTES };
}

/** The executors' namespace of a session (`spark.kubernetes.namespace`), when it has one. */
export function sessionNamespace(conf: Readonly<Record<string, string>> | undefined): string | null {
  return conf?.[K.k8sNamespace] ?? null;
}

/** The session driver's UI port (`spark.ui.port`), where Spark's REST API answers. */
export function sessionUiPort(conf: Readonly<Record<string, string>> | undefined): number | undefined {
  const text = conf?.[K.uiPort];
  const port = text === undefined ? Number.NaN : Number(text);
  return Number.isInteger(port) && port > 0 && port < 65_536 ? port : undefined;
}
