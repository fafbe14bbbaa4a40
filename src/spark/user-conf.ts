/**
 * Spark settings users ask for with `POST /api/kernels`, checked against the gateway's policy.
 *
 * Two forms, both optional:
 * - `KERNEL_SPARK_CONF='{"spark.sql.shuffle.partitions":"8"}'`: a JSON object, exact keys. Use it
 *   for any key with capitals or underscores. It wins over the per-key form for the same key.
 * - `KERNEL_SPARK_CONF_<KEY>=<value>`, one variable per key. Environment names cannot carry ".",
 *   so <KEY> is mapped: "__" -> "_", then "_" -> ".", then lower-cased; finally the casing of
 *   the longest matching allowed (or gateway-owned) key pattern is restored. So
 *   `KERNEL_SPARK_CONF_SPARK_SQL_SHUFFLE_PARTITIONS=8` -> `spark.sql.shuffle.partitions=8` and
 *   `KERNEL_SPARK_CONF_SPARK_DYNAMICALLOCATION_EXECUTORIDLETIMEOUT=60s` ->
 *   `spark.dynamicAllocation.executorIdleTimeout=60s`. Parts of a key past the matched pattern
 *   stay lower-case (`spark.sql.adaptive.coalescepartitions.enabled` is NOT what Spark reads):
 *   that is what the JSON form is for.
 *
 * Each key must be a Spark key (400), not one the gateway owns (403, naming the key), and be
 * covered by `spark.allowedSparkConf` (403). `spark.executor.memoryOverhead` is also bounded by
 * `spark.maxExecutorMemory`.
 */
import { errors } from '../errors.js';
import {
  K,
  MAX_KEY_LENGTH,
  MAX_VALUE_LENGTH,
  RESERVED_KEYS,
  SPARK_KEY_PATTERN,
  keyMatches,
  reservedKey,
} from './conf-keys.js';
import { type KernelEnv, readEnv, showValue } from './env-values.js';
import { parseMemorySize } from './memory-size.js';
import type { SparkSettings } from './spark-settings.js';

export const KERNEL_SPARK_CONF = 'KERNEL_SPARK_CONF';
export const KERNEL_SPARK_CONF_PREFIX = 'KERNEL_SPARK_CONF_';

const JSON_EXAMPLE = `KERNEL_SPARK_CONF='{"spark.sql.shuffle.partitions":"8"}'`;
const ENV_EXAMPLE = 'KERNEL_SPARK_CONF_SPARK_SQL_SHUFFLE_PARTITIONS=8';
const MAX_JSON_CHARS = 64 * 1024;
const MAX_ENTRIES = 200;

/** Map the part after KERNEL_SPARK_CONF_ to a Spark key (see the module comment). */
export function confKeyFromEnvSuffix(suffix: string, patterns: readonly string[]): string {
  const key = suffix
    .split('__')
    .map((part) => part.replace(/_/g, '.'))
    .join('_')
    .toLowerCase();
  let best: string | undefined;
  let bestLength = -1;
  for (const pattern of patterns) {
    const lower = pattern.toLowerCase();
    const covers = pattern.endsWith('.')
      ? key.startsWith(lower)
      : key === lower || key.startsWith(`${lower}.`);
    if (covers && lower.length > bestLength) {
      best = pattern + key.slice(lower.length);
      bestLength = lower.length;
    }
  }
  return best ?? key;
}

interface Requested {
  readonly value: string;
  /** Which variable it came from, for messages. */
  readonly source: string;
}

function fromJson(raw: string): Map<string, Requested> {
  const out = new Map<string, Requested>();
  if (raw.length > MAX_JSON_CHARS) {
    throw errors.invalidEnv(`${KERNEL_SPARK_CONF} is longer than ${MAX_JSON_CHARS} characters`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw errors.invalidEnv(`${KERNEL_SPARK_CONF} must be a JSON object of Spark keys to values, e.g. ${JSON_EXAMPLE}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw errors.invalidEnv(`${KERNEL_SPARK_CONF} must be a JSON object of Spark keys to values, e.g. ${JSON_EXAMPLE}`);
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw errors.invalidEnv(
        `${KERNEL_SPARK_CONF}: the value of ${showValue(key)} must be a string, number or boolean, e.g. ${JSON_EXAMPLE}`,
      );
    }
    out.set(key, { value: String(value), source: KERNEL_SPARK_CONF });
  }
  return out;
}

/**
 * The user's Spark settings from KERNEL_SPARK_CONF and KERNEL_SPARK_CONF_*, validated against
 * policy. Throws GatewayError 400 (malformed) or 403 (not allowed).
 */
export function parseUserSparkConf(
  env: KernelEnv,
  settings: Pick<SparkSettings, 'allowedSparkConf' | 'maxExecutorMemory'>,
): Record<string, string> {
  const patterns = [...settings.allowedSparkConf, ...RESERVED_KEYS.map((r) => r.pattern)];
  const requested = new Map<string, Requested>();
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(KERNEL_SPARK_CONF_PREFIX)) continue;
    const value = readEnv(env, name);
    if (value === undefined) continue;
    const suffix = name.slice(KERNEL_SPARK_CONF_PREFIX.length);
    if (!/^[A-Za-z0-9_]+$/.test(suffix)) {
      throw errors.invalidEnv(`${showValue(name)} is not a valid variable name; e.g. ${ENV_EXAMPLE}`);
    }
    requested.set(confKeyFromEnvSuffix(suffix, patterns), { value, source: name });
  }
  const json = readEnv(env, KERNEL_SPARK_CONF);
  if (json !== undefined) for (const [key, req] of fromJson(json)) requested.set(key, req);
  if (requested.size > MAX_ENTRIES) {
    throw errors.invalidEnv(`at most ${MAX_ENTRIES} Spark settings may be sent with a kernel start`);
  }

  const out: Record<string, string> = {};
  for (const [key, { value, source }] of [...requested].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (key.length > MAX_KEY_LENGTH || !SPARK_KEY_PATTERN.test(key)) {
      throw errors.invalidEnv(
        `${source}: ${showValue(key)} is not a Spark configuration key; keys look like spark.sql.shuffle.partitions, e.g. ${ENV_EXAMPLE} or ${JSON_EXAMPLE}`,
      );
    }
    if (value.length > MAX_VALUE_LENGTH || /[\u0000-\u001f\u007f]/.test(value)) {
      throw errors.invalidEnv(
        `${source}: the value for ${key} must be at most ${MAX_VALUE_LENGTH} characters without control characters, e.g. ${ENV_EXAMPLE}`,
      );
    }
    const reserved = reservedKey(key);
    if (reserved) {
      throw errors.forbidden(`${key} is set by the gateway and cannot be overridden (${reserved.hint}); sent as ${source}`);
    }
    if (!settings.allowedSparkConf.some((pattern) => keyMatches(key, pattern))) {
      throw errors.policyLimit(
        'spark.allowedSparkConf',
        `${key} is not among the Spark settings users may change on this gateway; sent as ${source}`,
      );
    }
    if (key === K.executorMemoryOverhead) checkOverhead(value, source, settings.maxExecutorMemory);
    out[key] = value;
  }
  return out;
}

/** Overhead is memory outside the heap: bounded like executor memory, or it is a way around it. */
function checkOverhead(value: string, source: string, limit: string): void {
  const size = parseMemorySize(value, { defaultUnit: 'm' });
  if (!size) {
    throw errors.invalidEnv(`${source}: ${K.executorMemoryOverhead} must be a memory size such as "1g" or "512m" (got ${showValue(value)})`);
  }
  const max = parseMemorySize(limit);
  if (max && size.bytes > max.bytes) {
    throw errors.policyLimit('spark.maxExecutorMemory', `${source}: ${K.executorMemoryOverhead}=${size.text} is above the limit ${limit}`);
  }
}
