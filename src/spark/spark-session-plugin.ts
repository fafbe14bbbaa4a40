/**
 * Turns a kernel start into a Spark driver start: for kernelspecs with
 * `metadata.sparkgate.spark = true`, resolve the bounded profile, allocate the session's driver,
 * blockManager and UI ports, render the conf and hand it to the kernel process:
 *
 * - `SPARKGATE_SPARK_CONF_FILE`: the conf as a JSON object (the launcher builds the session from it);
 * - `PYSPARK_SUBMIT_ARGS`: `--properties-file <file> pyspark-shell`, so keys that must reach the
 *   driver JVM at launch (spark.driver.memory, spark.ui.proxyBase) do;
 * - `SPARKGATE_SPARK_SUBMIT_ARGS`: the same properties file for REPLs started with spark-submit.
 *
 * Ports are released on every session end (and before each restart re-allocates them).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LaunchContext, SessionContribution, SessionPlugin } from '../kernels/kernel-launcher.js';
import type { PortAllocator, SessionPorts } from './port-allocator.js';
import { renderSparkConf, toPropertiesFile, type SparkConf } from './spark-conf.js';
import { kernelspecProfileSchema, resolveProfile } from './spark-profile.js';
import type { SparkSettings } from './spark-settings.js';
import { errors } from '../errors.js';
import type { Reservation } from '../sessions/session-registry.js';
import { parseMemorySize } from './memory-size.js';

export interface SparkSessionPluginOptions {
  settings: SparkSettings;
  allocator: PortAllocator;
  runtimeDir: string;
  /** Told the conf each (re)start rendered (the session registry keeps it). */
  onRendered?: (sessionId: string, conf: SparkConf) => void;
}

/** Spark's default executor memory overhead on Kubernetes: max(384 MiB, 10%) (spark.executor.memoryOverheadFactor). */
function withOverhead(bytes: number): number {
  return bytes + Math.max(384 * 2 ** 20, Math.ceil(bytes * 0.1));
}

export interface SparkSessionInfo {
  conf: SparkConf;
  ports: SessionPorts;
}

export class SparkSessionPlugin implements SessionPlugin {
  readonly name = 'spark';
  private readonly sessions = new Map<string, SparkSessionInfo>();

  constructor(private readonly options: SparkSessionPluginOptions) {}

  /** The rendered conf and ports of a live Spark session (UI proxy, executor listing). */
  session(id: string): SparkSessionInfo | undefined {
    return this.sessions.get(id);
  }

  /** Validate a start request's profile before anything is spawned (400/403 at the door). */
  check(spec: LaunchContext['spec'], userEnv: Readonly<Record<string, string>>): void {
    if (!spec.sparkgate.spark) return;
    resolveProfile({ settings: this.options.settings, kernelspecProfile: this.kernelspecProfile(spec), env: userEnv });
  }

  /**
   * The worst case of a session of this kernelspec and request (admission.ts): the driver (one
   * core, its memory) plus, on Kubernetes, its dynamic-allocation maximum of executors with their
   * cores and memory (with Spark's default overhead). Local mode runs no executors.
   */
  reservation(spec: LaunchContext['spec'], userEnv: Readonly<Record<string, string>>): Reservation | undefined {
    if (!spec.sparkgate.spark) return undefined;
    const { settings } = this.options;
    const profile = resolveProfile({ settings, kernelspecProfile: this.kernelspecProfile(spec), env: userEnv });
    const driverBytes = parseMemorySize(profile.driverMemory)!.bytes;
    if (settings.mode !== 'kubernetes') return { executors: 0, cores: 1, memoryBytes: driverBytes };
    const executorBytes = withOverhead(parseMemorySize(profile.executorMemory)!.bytes);
    return {
      executors: profile.maxExecutors,
      cores: 1 + profile.maxExecutors * profile.executorCores,
      memoryBytes: driverBytes + profile.maxExecutors * executorBytes,
    };
  }

  private kernelspecProfile(spec: LaunchContext['spec']) {
    const parsed = kernelspecProfileSchema.safeParse(spec.sparkgate.profile);
    if (!parsed.success) {
      throw errors.unavailable(`Kernelspec ${spec.name} has an invalid metadata.sparkgate.profile: ${parsed.error.issues[0]?.message}`);
    }
    return parsed.data;
  }

  async prepare(ctx: LaunchContext): Promise<SessionContribution> {
    if (!ctx.spec.sparkgate.spark) return {};
    const { settings, allocator, runtimeDir } = this.options;
    const profile = resolveProfile({ settings, kernelspecProfile: this.kernelspecProfile(ctx.spec), env: ctx.userEnv });
    const ports = await allocator.allocate(ctx.kernelId);
    try {
      const conf = renderSparkConf({ settings, profile, sessionId: ctx.kernelId, ports, appName: `sparkgate-${ctx.spec.name}-${ctx.kernelId.slice(0, 8)}` });
      mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
      const jsonFile = path.join(runtimeDir, `spark-${ctx.kernelId}.json`);
      const propertiesFile = path.join(runtimeDir, `spark-${ctx.kernelId}.properties`);
      writeFileSync(jsonFile, JSON.stringify(conf, null, 1), { mode: 0o600 });
      writeFileSync(propertiesFile, toPropertiesFile(conf), { mode: 0o600 });
      this.sessions.set(ctx.kernelId, { conf, ports });
      this.options.onRendered?.(ctx.kernelId, conf);
      const env: Record<string, string> = {
        SPARKGATE_SPARK_CONF_FILE: jsonFile,
        SPARKGATE_SPARK_PROPERTIES_FILE: propertiesFile,
        SPARKGATE_SPARK_SUBMIT_ARGS: `--properties-file ${propertiesFile}`,
        PYSPARK_SUBMIT_ARGS: `--properties-file ${propertiesFile} pyspark-shell`,
      };
      // The configured Spark, else the one of the kernels' pyspark (the project venv's by default).
      const sparkHome = settings.sparkHome ?? ctx.sparkHome;
      if (sparkHome) env['SPARK_HOME'] = sparkHome;
      env['SPARK_CONF_DIR'] = settings.confDir;
      // Python workers (UDFs) run the kernel's interpreter, not whatever python3 is on PATH.
      if (ctx.python) {
        env['PYSPARK_PYTHON'] = ctx.python;
        env['PYSPARK_DRIVER_PYTHON'] = ctx.python;
      }
      // Local mode: keep the driver (and its UI) on loopback.
      if (settings.mode === 'local') env['SPARK_LOCAL_IP'] = '127.0.0.1';
      return { env, files: [jsonFile, propertiesFile] };
    } catch (err) {
      allocator.release(ctx.kernelId);
      throw err;
    }
  }

  async onEnd(kernelId: string): Promise<void> {
    this.sessions.delete(kernelId);
    this.options.allocator.release(kernelId);
  }
}
