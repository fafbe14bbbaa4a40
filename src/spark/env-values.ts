/**
 * Reading untrusted KERNEL_* values sent with `POST /api/kernels`: checked at the door, and never
 * echoed whole (STYLE.md, "untrusted env is checked at the door and never echoed").
 */

/** KERNEL_* variables as the kernels route hands them over. */
export type KernelEnv = Readonly<Record<string, string | undefined>>;

/** The trimmed value, or `undefined` when unset or blank (templated clients send ""). */
export function readEnv(env: KernelEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

const SHOWN_CHARS = 32;

/** A value quoted for an error message: JSON-escaped (no control characters), cut short. */
export function showValue(value: string): string {
  const cut = value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value;
  return JSON.stringify(cut);
}
