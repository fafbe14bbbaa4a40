/**
 * Gateway settings: one zod schema, parsed once at start from (lowest to highest precedence)
 * defaults, a JSON/YAML config file, `SPARKGATE_*` environment variables and CLI flags, then
 * frozen and injected. No module reads `process.env` at import time.
 *
 * Environment names: `SPARKGATE_<UPPER_SNAKE_KEY>`, e.g. `maxKernels` -> `SPARKGATE_MAX_KERNELS`;
 * Spark settings nest under `spark`: `spark.driverPortRange` -> `SPARKGATE_SPARK_DRIVER_PORT_RANGE`.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { sparkSettingsSchema } from './spark/index.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ENV_PREFIX = 'SPARKGATE_';

const boolish = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  return v;
}, z.boolean());

const stringList = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(/[,:]/)
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
  z.array(z.string().min(1)),
);

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `{"python3": 2}` in a file, or `python3=2,pyspark=1` (or JSON) in an env var / flag. */
const poolSizes = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const text = v.trim();
  if (text.startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return v;
    }
  }
  const out: Record<string, string> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = item.lastIndexOf('=');
    if (at <= 0) return v; // reported by the record schema below
    out[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return out;
}, z.record(z.string().min(1), int(0, 64), { error: 'expected kernelspec=count pairs, e.g. python3=2,pyspark=1' }));

export const configSchema = z
  .object({
    /** Interface to listen on; 0.0.0.0 in a pod. */
    host: z.string().min(1).default('127.0.0.1'),
    port: int(0, 65535).default(8888),
    /** API token; generated at start when empty (and printed once, never logged). */
    token: z.string().default(''),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Python interpreter that has ipykernel; found automatically when empty. */
    python: z.string().default(''),
    kernelspecDirs: stringList.default([path.join(REPO_ROOT, 'kernel', 'specs')]),
    /** Put first on the kernels' PYTHONPATH (the sparkgate_kernel launcher package). */
    kernelPythonPath: z.string().default(path.join(REPO_ROOT, 'kernel', 'python')),
    defaultKernelName: z.string().default('python3'),
    /** Connection files and per-session conf files live here (mode 0700). */
    runtimeDir: z.string().default(path.join(os.tmpdir(), `sparkgate-${process.getuid?.() ?? 'user'}`)),
    /** Working directory of kernels. */
    workDir: z.string().default(process.cwd()),
    /** Honour KERNEL_WORKING_DIR from clients (Enterprise Gateway's EG_MIRROR_WORKING_DIRS). */
    mirrorWorkingDirs: boolish.default(false),
    maxKernels: int(1, 10_000).default(32),
    kernelStartTimeoutMs: int(1_000, 600_000).default(60_000),
    kernelShutdownTimeoutMs: int(100, 120_000).default(5_000),
    /** Jupyter's restart_limit: a kernel that dies is restarted in place this many times in a row; 0 = never. */
    kernelRestartLimit: int(0, 100).default(5),
    /** Jupyter's cull_idle_timeout: shut kernels idle this long; 0 disables culling. */
    cullIdleTimeoutSeconds: int(0, 10_000_000).default(0),
    cullIntervalSeconds: int(1, 86_400).default(300),
    cullConnected: boolish.default(false),
    /** Terminals (websocket shells) at once; 403 `max_terminals` beyond. */
    maxTerminals: int(1, 10_000).default(16),
    /** End terminals idle this long; unset = cullIdleTimeoutSeconds; 0 = never. */
    terminalIdleTimeoutSeconds: int(0, 10_000_000).optional(),
    /** End a terminal this long after its last websocket closed (reattach within it keeps the REPL); 0 = never. */
    terminalDetachedGraceSeconds: int(0, 2_000_000).default(900),
    /**
     * Websockets at once on one kernel or one terminal; 403 `max_connections` beyond. Each kernel
     * websocket holds about seven file descriptors (TCP plus three ZeroMQ sockets), so this bound
     * times maxKernels keeps one client from exhausting the gateway's descriptors.
     */
    maxConnectionsPerSession: int(1, 10_000).default(32),
    maxBodyBytes: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
    maxWsMessageBytes: int(1024, 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    /** iopub messages kept per client session while it is disconnected, replayed on reconnect. */
    offlineBufferMessages: int(0, 100_000).default(1_000),
    /**
     * Pre-started sessions per kernelspec, handed out by POST /api/kernels when the request
     * changes nothing the kernel was started with; refilled in the background.
     */
    warmPool: poolSizes.default({}),
    /** Upper bound on pooled sessions across all kernelspecs (they do not count toward maxKernels). */
    warmPoolMaxTotal: int(0, 1_000).default(8),
    /**
     * After a claim, wait this long before refilling that kernelspec's pool, so the claimed
     * session's first cells do not share the CPU with a refill's kernel (and JVM) start.
     */
    warmPoolRefillDelayMs: int(0, 3_600_000).default(5_000),
    /**
     * KERNEL_* variables a pooled session may be handed out despite: they do not shape the
     * launch. Python kernels get them in os.environ when claimed; other kernels do not see them.
     * KERNEL_WORKING_DIR always forces a cold start when mirrorWorkingDirs is on.
     */
    warmPoolIgnoredEnv: stringList.default(['KERNEL_USERNAME', 'KERNEL_LAUNCH_TIMEOUT', 'KERNEL_WORKING_DIR']),
    /**
     * Multi-user mode: the users-and-teams file (src/users/policy-file.ts): per-user tokens
     * (SHA-256), teams with their executor namespace and limits. Mount it from a Secret.
     */
    usersFile: z.string().min(1).optional(),
    /** Multi-user mode: check tokens against this JupyterHub API, e.g. http://hub:8081/hub/api. */
    jupyterhubApiUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. "http://hub:8081/hub/api"' }).optional(),
    /** How long a token the Hub accepted is trusted without asking again. */
    jupyterhubCacheSeconds: int(0, 3600).default(60),
    /**
     * What outlives the gateway process: usage records and session logs. In a pod, a volume
     * (the StatefulSet's volumeClaimTemplate); default ~/.local/state/sparkgate.
     */
    stateDir: z.string().min(1).default(path.join(os.homedir(), '.local', 'state', 'sparkgate')),
    /** Session logs (driver output, executor logs) are kept this long after the session or executor ended. */
    logRetentionSeconds: int(0, 90 * 86_400).default(86_400),
    /** Driver output kept per session on disk (a ring: the oldest half goes when it is full). */
    driverLogMaxBytes: int(64 * 1024, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
    /** Log kept per executor pod on disk (same ring). */
    executorLogMaxBytes: int(64 * 1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
    /** Usage records are written to stateDir this often (a gateway crash loses at most this much). */
    usageFlushSeconds: int(1, 3600).default(60),
    spark: sparkSettingsSchema.default(sparkSettingsSchema.parse({})),
  })
  .strict();

export type GatewayConfig = Readonly<z.infer<typeof configSchema>>;
export type ConfigInput = z.input<typeof configSchema>;

function toSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Map SPARKGATE_* variables onto the schema's keys (one level of nesting for `spark`). */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const spark: Record<string, unknown> = {};
  const sparkKeys = Object.keys(sparkSettingsSchema.shape);
  for (const key of Object.keys(configSchema.shape)) {
    if (key === 'spark') continue;
    const value = env[ENV_PREFIX + toSnake(key)];
    if (value !== undefined) out[key] = value;
  }
  for (const key of sparkKeys) {
    const value = env[`${ENV_PREFIX}SPARK_${toSnake(key)}`];
    if (value !== undefined) spark[key] = value;
  }
  if (Object.keys(spark).length > 0) out['spark'] = spark;
  return out;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`config file ${file} must hold an object`);
  return value as Record<string, unknown>;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function merge(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      if (k === 'spark' && typeof v === 'object' && v !== null) {
        out[k] = { ...((out[k] as object | undefined) ?? {}), ...(v as object) };
      } else {
        out[k] = v;
      }
    }
  }
  return out;
}

function describe(issue: z.core.$ZodIssue): string {
  const key = issue.path.join('.');
  const envName =
    issue.path[0] === 'spark' && issue.path[1] !== undefined
      ? `${ENV_PREFIX}SPARK_${toSnake(String(issue.path[1]))}`
      : `${ENV_PREFIX}${toSnake(String(issue.path[0] ?? ''))}`;
  return `setting ${key || '(root)'} (env ${envName}): ${issue.message}`;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  file?: string;
  overrides?: Record<string, unknown>;
}

/** Parse, validate and freeze the configuration. Errors name the setting and its env var. */
export function loadConfig(options: LoadConfigOptions = {}): GatewayConfig {
  const env = options.env ?? {};
  const file = options.file ?? env[`${ENV_PREFIX}CONFIG`];
  const merged = merge(file ? readConfigFile(file) : {}, configFromEnv(env), options.overrides ?? {});
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration:\n  ${parsed.error.issues.map(describe).join('\n  ')}`);
  }
  return deepFreeze(parsed.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
