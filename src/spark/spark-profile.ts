/**
 * A session's resource profile: what it asked for, bounded by gateway policy.
 *
 * Each field is chosen from, highest first: the `KERNEL_*` env sent with `POST /api/kernels`, the
 * kernelspec's `metadata.sparkgate.profile`, the gateway default. Then it is bounded:
 * - a KERNEL_* value above a limit is refused: 403 `policy_limit` naming the limit setting;
 * - a malformed KERNEL_* value is refused: 400 `invalid_env` naming the variable, with an example;
 * - a kernelspec value above a limit is clamped to the limit (the kernelspec is the operator's
 *   recipe and policy bounds it; a session that asked for nothing should still start).
 *
 * | variable                | profile field   | limit setting          |
 * |-------------------------|-----------------|------------------------|
 * | KERNEL_EXECUTOR_MEMORY  | executorMemory  | spark.maxExecutorMemory |
 * | KERNEL_EXECUTOR_CORES   | executorCores   | spark.maxExecutorCores  |
 * | KERNEL_DRIVER_MEMORY    | driverMemory    | spark.maxDriverMemory   |
 * | KERNEL_MIN_EXECUTORS    | minExecutors    | spark.maxExecutors      |
 * | KERNEL_MAX_EXECUTORS    | maxExecutors    | spark.maxExecutors      |
 * | KERNEL_IMAGE            | image           | spark.image + spark.allowedImages (kubernetes mode only) |
 * | KERNEL_SPARK_JARS       | jars            | spark.allowPackages     |
 * | KERNEL_SPARK_PACKAGES   | packages        | spark.allowPackages     |
 * | KERNEL_SPARK_CONF[_*]   | conf            | spark.allowedSparkConf (see user-conf.ts) |
 */
import { z } from 'zod';
import { errors } from '../errors.js';
import { MAX_KEY_LENGTH, SPARK_KEY_PATTERN, reservedKey } from './conf-keys.js';
import { type KernelEnv, readEnv, showValue } from './env-values.js';
import { MEMORY_SIZE_EXAMPLE, type MemorySize, parseMemorySize } from './memory-size.js';
import type { SparkSettings } from './spark-settings.js';
import { parseUserSparkConf } from './user-conf.js';

const MAVEN_COORDINATE = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+$/;
const MAVEN_EXAMPLE = 'org.apache.spark:spark-avro_2.12:3.5.3';
const JAR_ENTRY = /^[^\s,'"\\]+$/;
const JAR_EXAMPLE = 'local:///opt/jars/udfs.jar,https://repo.example.com/x.jar';
const IMAGE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;
const MAX_LIST_ENTRIES = 100;
const MAX_ENTRY_CHARS = 1024;

const memoryText = z.string().refine((s) => parseMemorySize(s) !== undefined, {
  error: `must be a Spark memory size, e.g. "${MEMORY_SIZE_EXAMPLE}"`,
});

/** `metadata.sparkgate.profile` in a kernelspec's kernel.json. All fields optional. */
export const kernelspecProfileSchema = z
  .object({
    executorMemory: memoryText.optional(),
    executorCores: z.number().int().min(1).optional(),
    driverMemory: memoryText.optional(),
    minExecutors: z.number().int().min(0).optional(),
    maxExecutors: z.number().int().min(1).optional(),
    image: z.string().regex(IMAGE_PATTERN, { error: 'must be an image reference, e.g. "registry.example.com/spark:3.5.3"' }).optional(),
    jars: z.array(z.string().regex(JAR_ENTRY).max(MAX_ENTRY_CHARS)).optional(),
    packages: z.array(z.string().regex(MAVEN_COORDINATE, { error: `must be group:artifact:version, e.g. "${MAVEN_EXAMPLE}"` })).optional(),
    /** Spark defaults for this kernelspec: above the operator's extraConf, below the user's conf. */
    conf: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const key of Object.keys(p.conf ?? {})) {
      if (key.length > MAX_KEY_LENGTH || !SPARK_KEY_PATTERN.test(key)) {
        ctx.addIssue({ code: 'custom', path: ['conf', key], message: 'must be a Spark key, e.g. "spark.sql.shuffle.partitions"' });
        continue;
      }
      const reserved = reservedKey(key);
      if (reserved) {
        ctx.addIssue({ code: 'custom', path: ['conf', key], message: `${key} is rendered by the gateway (${reserved.hint})` });
      }
    }
  });

export type KernelspecProfile = z.infer<typeof kernelspecProfileSchema>;

/** What a session gets. Memory sizes are canonical Spark strings ("4g"). */
export interface SessionProfile {
  readonly executorMemory: string;
  readonly executorCores: number;
  readonly driverMemory: string;
  readonly minExecutors: number;
  readonly maxExecutors: number;
  /** Executor image; `undefined` in local mode, where there are no executor pods. */
  readonly image: string | undefined;
  readonly jars: readonly string[];
  readonly packages: readonly string[];
  /** Kernelspec conf overlaid with the user's (already policy-checked) conf. */
  readonly conf: Readonly<Record<string, string>>;
}

export interface ResolveProfileInput {
  settings: SparkSettings;
  kernelspecProfile?: KernelspecProfile | undefined;
  /** The KERNEL_* variables from the start request; other names are ignored. */
  env?: KernelEnv | undefined;
}

export function resolveProfile({ settings, kernelspecProfile, env = {} }: ResolveProfileInput): SessionProfile {
  const ks = kernelspecProfile ?? {};

  const executorMemory = boundedMemory({
    env, variable: 'KERNEL_EXECUTOR_MEMORY', kernelspec: ks.executorMemory,
    fallback: settings.defaultExecutorMemory, limit: settings.maxExecutorMemory, limitSetting: 'spark.maxExecutorMemory',
  });
  const driverMemory = boundedMemory({
    env, variable: 'KERNEL_DRIVER_MEMORY', kernelspec: ks.driverMemory,
    fallback: settings.defaultDriverMemory, limit: settings.maxDriverMemory, limitSetting: 'spark.maxDriverMemory',
  });
  const executorCores = boundedInt({
    env, variable: 'KERNEL_EXECUTOR_CORES', min: 1, example: 2, kernelspec: ks.executorCores,
    fallback: settings.defaultExecutorCores, limit: settings.maxExecutorCores, limitSetting: 'spark.maxExecutorCores',
  });
  const maxExecutors = boundedInt({
    env, variable: 'KERNEL_MAX_EXECUTORS', min: 1, example: 4, kernelspec: ks.maxExecutors,
    fallback: settings.maxExecutors, limit: settings.maxExecutors, limitSetting: 'spark.maxExecutors',
  });
  const minExecutors = resolveMinExecutors(env, ks.minExecutors, maxExecutors, settings.maxExecutors);

  return Object.freeze({
    executorMemory,
    executorCores,
    driverMemory,
    minExecutors,
    maxExecutors,
    image: settings.mode === 'kubernetes' ? resolveImage(env, ks.image, settings) : undefined,
    jars: Object.freeze(codeList(env, settings, 'KERNEL_SPARK_JARS', ks.jars, JAR_ENTRY, JAR_EXAMPLE)),
    packages: Object.freeze(codeList(env, settings, 'KERNEL_SPARK_PACKAGES', ks.packages, MAVEN_COORDINATE, MAVEN_EXAMPLE)),
    conf: Object.freeze({ ...(ks.conf ?? {}), ...parseUserSparkConf(env, settings) }),
  });
}

interface BoundedMemoryInput {
  env: KernelEnv;
  variable: string;
  kernelspec: string | undefined;
  fallback: string;
  limit: string;
  limitSetting: string;
}

function boundedMemory({ env, variable, kernelspec, fallback, limit, limitSetting }: BoundedMemoryInput): string {
  const max = mustParse(limit);
  const raw = readEnv(env, variable);
  if (raw !== undefined) {
    const size = parseMemorySize(raw);
    if (!size) {
      throw errors.invalidEnv(
        `${variable} must be a Spark memory size: a whole number and a unit k, m, g or t, e.g. ${variable}=${MEMORY_SIZE_EXAMPLE} (got ${showValue(raw)})`,
      );
    }
    if (size.bytes > max.bytes) throw errors.policyLimit(limitSetting, `${variable}=${size.text} is above the limit ${max.text}`);
    return size.text;
  }
  const chosen = kernelspec !== undefined ? mustParse(kernelspec) : mustParse(fallback);
  return chosen.bytes > max.bytes ? max.text : chosen.text;
}

/** Settings and kernelspecs were validated by their schemas; a failure here is a bug. */
function mustParse(text: string): MemorySize {
  const size = parseMemorySize(text);
  if (!size) throw new Error(`unvalidated memory size reached resolveProfile: ${showValue(text)}`);
  return size;
}

function readInt(env: KernelEnv, variable: string, min: number, example: number): number | undefined {
  const raw = readEnv(env, variable);
  if (raw === undefined) return undefined;
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < min) {
    throw errors.invalidEnv(`${variable} must be a whole number >= ${min}, e.g. ${variable}=${example} (got ${showValue(raw)})`);
  }
  return Number(raw);
}

interface BoundedIntInput {
  env: KernelEnv;
  variable: string;
  min: number;
  example: number;
  kernelspec: number | undefined;
  fallback: number;
  limit: number;
  limitSetting: string;
}

function boundedInt({ env, variable, min, example, kernelspec, fallback, limit, limitSetting }: BoundedIntInput): number {
  const requested = readInt(env, variable, min, example);
  if (requested !== undefined) {
    if (requested > limit) throw errors.policyLimit(limitSetting, `${variable}=${requested} is above the limit ${limit}`);
    return requested;
  }
  return Math.min(kernelspec ?? fallback, limit);
}

function resolveMinExecutors(env: KernelEnv, kernelspec: number | undefined, sessionMax: number, policyMax: number): number {
  const requested = readInt(env, 'KERNEL_MIN_EXECUTORS', 0, 1);
  if (requested === undefined) return Math.min(kernelspec ?? 0, sessionMax);
  if (requested > policyMax) {
    throw errors.policyLimit('spark.maxExecutors', `KERNEL_MIN_EXECUTORS=${requested} is above the limit ${policyMax}`);
  }
  if (requested > sessionMax) {
    throw errors.invalidEnv(
      `KERNEL_MIN_EXECUTORS=${requested} is above the session's maximum of ${sessionMax} executors; e.g. KERNEL_MIN_EXECUTORS=0 KERNEL_MAX_EXECUTORS=${sessionMax}`,
    );
  }
  return requested;
}

function imageAllowed(image: string, settings: SparkSettings): boolean {
  if (image === settings.image) return true;
  return settings.allowedImages.some((p) => (p.endsWith('*') ? image.startsWith(p.slice(0, -1)) : image === p));
}

function resolveImage(env: KernelEnv, kernelspecImage: string | undefined, settings: SparkSettings): string | undefined {
  const raw = readEnv(env, 'KERNEL_IMAGE');
  if (raw !== undefined) {
    if (raw.length > 512 || !IMAGE_PATTERN.test(raw)) {
      throw errors.invalidEnv(`KERNEL_IMAGE must be a container image reference, e.g. KERNEL_IMAGE=registry.example.com/spark:3.5.3 (got ${showValue(raw)})`);
    }
    if (!imageAllowed(raw, settings)) {
      throw errors.policyLimit('spark.allowedImages', `KERNEL_IMAGE=${showValue(raw)} is not an allowed image`);
    }
    return raw;
  }
  if (kernelspecImage !== undefined) {
    if (!imageAllowed(kernelspecImage, settings)) {
      throw errors.policyLimit('spark.allowedImages', `the kernelspec's image ${showValue(kernelspecImage)} is not an allowed image`);
    }
    return kernelspecImage;
  }
  return settings.image;
}

/** Jars or packages: the kernelspec's, then the user's (policy permitting), without repeats. */
function codeList(
  env: KernelEnv,
  settings: SparkSettings,
  variable: 'KERNEL_SPARK_JARS' | 'KERNEL_SPARK_PACKAGES',
  kernelspec: readonly string[] | undefined,
  pattern: RegExp,
  example: string,
): string[] {
  const out = [...(kernelspec ?? [])];
  const raw = readEnv(env, variable);
  if (raw !== undefined) {
    if (!settings.allowPackages) {
      throw errors.policyLimit('spark.allowPackages', `${variable} is not allowed: this gateway does not let sessions add code`);
    }
    const entries = raw.split(',').map((s) => s.trim()).filter(Boolean);
    if (entries.length > MAX_LIST_ENTRIES) {
      throw errors.invalidEnv(`${variable} may list at most ${MAX_LIST_ENTRIES} entries`);
    }
    for (const entry of entries) {
      if (entry.length > MAX_ENTRY_CHARS || !pattern.test(entry)) {
        throw errors.invalidEnv(`${variable}: ${showValue(entry)} is malformed; use a comma-separated list, e.g. ${variable}=${example}`);
      }
      out.push(entry);
    }
  }
  return [...new Set(out)];
}
