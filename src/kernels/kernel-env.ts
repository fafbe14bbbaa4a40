/**
 * The `env` of `POST /api/kernels`: only `KERNEL_*` variables, checked at the door (Enterprise
 * Gateway's rule) and never echoed back in full. Jupyter Server's gateway client sends
 * KERNEL_USERNAME, KERNEL_LAUNCH_TIMEOUT and KERNEL_WORKING_DIR here.
 */
import { z } from 'zod';
import { errors } from '../errors.js';

export const KERNEL_ENV_KEY = /^KERNEL_[A-Z0-9_]{1,120}$/;
export const MAX_KERNEL_ENV_KEYS = 64;
export const MAX_KERNEL_ENV_VALUE_BYTES = 8192;

export const kernelEnvSchema = z.record(z.string(), z.unknown());

function preview(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/** Validated copy of the env; throws a 400 GatewayError naming the first bad key. */
export function validateKernelEnv(env: unknown): Record<string, string> {
  if (env === undefined || env === null) return {};
  if (typeof env !== 'object' || Array.isArray(env)) throw errors.invalidEnv('env must be an object of KERNEL_* string variables');
  const entries = Object.entries(env as Record<string, unknown>);
  if (entries.length > MAX_KERNEL_ENV_KEYS) {
    throw errors.invalidEnv(`env has ${entries.length} variables; at most ${MAX_KERNEL_ENV_KEYS} are accepted`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (!KERNEL_ENV_KEY.test(key)) {
      throw errors.invalidEnv(
        `env variable ${preview(key)} is not accepted: only KERNEL_* names (upper case, digits, _) may be sent, e.g. KERNEL_USERNAME`,
      );
    }
    if (typeof value !== 'string') throw errors.invalidEnv(`env variable ${key} must be a string`);
    if (Buffer.byteLength(value) > MAX_KERNEL_ENV_VALUE_BYTES) {
      throw errors.invalidEnv(`env variable ${key} is longer than ${MAX_KERNEL_ENV_VALUE_BYTES} bytes`);
    }
    if (value.includes('\0')) throw errors.invalidEnv(`env variable ${key} contains a NUL character`);
    out[key] = value;
  }
  return out;
}

/** KERNEL_LAUNCH_TIMEOUT (seconds, sent by Jupyter Server) narrowed by the gateway's own limit. */
export function launchTimeoutMs(env: Record<string, string>, configuredMs: number): number {
  const raw = env['KERNEL_LAUNCH_TIMEOUT'];
  if (raw === undefined) return configuredMs;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw errors.invalidEnv(`KERNEL_LAUNCH_TIMEOUT must be a positive number of seconds, e.g. "40"; got ${preview(raw)}`);
  }
  return Math.min(configuredMs, Math.max(1_000, seconds * 1000));
}
