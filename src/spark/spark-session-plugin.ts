/**
 * Turns a kernel start into a Spark driver start: for kernelspecs with
 * `metadata.sparkgate.spark = true`, resolve the bounded profile, allocate the session's driver,
 * blockManager and UI ports, render the conf and hand it to the kernel process:
 *
 * - `SPARKGATE_SPARK_CONF_FILE`: the conf as a JSON object (the launcher builds the session from it);
 * - `PYSPARK_SUBMIT_ARGS`: `--properties-file <file> pyspark-shell`, so keys that must reach the
 *   driver JVM at launch (spark.driver.memory, spark.ui.proxyBase) do;
 * - `SPARKGATE_SPARK_SUBMIT_ARGS`: the same properties file for REPLs started with spark-submit;
 * - `SPARKGATE_SPARK_NOTICE_FILE` (Kubernetes mode): where the gateway writes what the driver's log
 *   says that the notebook should see (a ResourceQuota refusing executors, spark-notice-file.ts),
 *   fed by `onOutput` with the kernel process's stderr.
 *
 * A session's executors run in its owner's team namespace, with the team's service account and
 * pod template (`ctx.team`, rendered by spark-conf.ts).
 *
 * Ports are released on every session end (and before each restart re-allocates them).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LaunchContext, SessionContribution, SessionPlugin } from '../kernels/kernel-launcher.js';
import type { PortAllocator, SessionPorts } from './port-allocator.js';
import { K } from './conf-keys.js';
import { renderSparkConf, toPropertiesFile, type SparkConf } from './spark-conf.js';
import { SPARK_NOTICE_FILE_ENV, SparkNoticeFile } from './spark-notice-file.js';
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
  /** Writing a session's notice file failed (logged by the caller). */
  onNoticeError?: (sessionId: string, err: unknown) => void;
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
  private readonly notices = new Map<string, SparkNoticeFile>();

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
      const conf = renderSparkConf({
        settings,
        profile,
        sessionId: ctx.kernelId,
        ports,
        appName: `sparkgate-${ctx.spec.name}-${ctx.kernelId.slice(0, 8)}`,
        team: ctx.team,
      });
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
      const files = [jsonFile, propertiesFile];
      if (settings.mode === 'kubernetes') {
        const noticeFile = path.join(runtimeDir, `spark-${ctx.kernelId}.notice`);
        const id = ctx.kernelId;
        this.notices.set(
          id,
          new SparkNoticeFile({ path: noticeFile, namespace: conf[K.k8sNamespace] ?? '', onError: (err) => this.options.onNoticeError?.(id, err) }),
        );
        env[SPARK_NOTICE_FILE_ENV] = noticeFile;
        files.push(noticeFile);
      }
      return { env, files };
    } catch (err) {
      allocator.release(ctx.kernelId);
      throw err;
    }
  }

  /** The kernel process's output (its driver JVM's log is on stderr): feeds the notice file. */
  onOutput(kernelId: string, stream: 'stdout' | 'stderr', text: string): void {
    if (stream === 'stderr') this.notices.get(kernelId)?.push(text);
  }

  async onEnd(kernelId: string): Promise<void> {
    this.sessions.delete(kernelId);
    this.notices.delete(kernelId);
    this.options.allocator.release(kernelId);
  }
}
