/**
 * The usage store's line format (one JSON object per line, `<stateDir>/usage/usage-<UTC day>.jsonl`),
 * one zod schema per record type (STYLE.md principle 3). Field names are camelCase: this is a
 * file format of ours, not a Jupyter wire model (the HTTP route renders snake_case).
 *
 * - `session`: a session's header, written when it starts (and again when its owner, kernelspec,
 *   namespace or driver resources change): who to bill for pods seen after a gateway restart.
 * - `usage`: what one session accrued in `(from, to]`, written every usageFlushSeconds.
 * - `end`: the session ended (`reason: ended`), or a restarted gateway found it had not recorded
 *   an end (`gateway-restart`: the driver died with the old gateway; endedAt = its last flush).
 *
 * Times are ISO 8601 strings (UTC, millisecond precision); figures are floats.
 */
import { z } from 'zod';

const isoTime = z.iso.datetime({ offset: true });
const figure = z.number().finite().nonnegative();

const ownerFields = {
  session: z.string().min(1),
  user: z.string(),
  team: z.string(),
  /** The trusted client that started the session for `user` (it may read its usage too). */
  via: z.string().optional(),
  kernelspec: z.string(),
  /** Where its executors run (`spark.kubernetes.namespace`); null for non-Spark / local sessions. */
  namespace: z.string().nullable(),
};

export const sessionLineSchema = z.object({
  type: z.literal('session'),
  ...ownerFields,
  startedAt: isoTime,
  driverCores: figure,
  driverMemoryBytes: figure,
});

export const usageFiguresSchema = z.object({
  executorCoreSeconds: figure,
  executorMemoryByteSeconds: figure,
  driverCoreSeconds: figure,
  driverMemoryByteSeconds: figure,
  jobs: z.number().int().nonnegative(),
});

export const usageLineSchema = z.object({
  type: z.literal('usage'),
  ...ownerFields,
  from: isoTime,
  to: isoTime,
  ...usageFiguresSchema.shape,
});

export const endLineSchema = z.object({
  type: z.literal('end'),
  session: z.string().min(1),
  endedAt: isoTime,
  reason: z.enum(['ended', 'gateway-restart']),
});

export const storeLineSchema = z.discriminatedUnion('type', [sessionLineSchema, usageLineSchema, endLineSchema]);

export type SessionLine = z.infer<typeof sessionLineSchema>;
export type UsageLine = z.infer<typeof usageLineSchema>;
export type EndLine = z.infer<typeof endLineSchema>;
export type StoreLine = z.infer<typeof storeLineSchema>;
export type UsageFigures = z.infer<typeof usageFiguresSchema>;

export const FIGURE_KEYS = [
  'executorCoreSeconds',
  'executorMemoryByteSeconds',
  'driverCoreSeconds',
  'driverMemoryByteSeconds',
  'jobs',
] as const satisfies readonly (keyof UsageFigures)[];

export function zeroFigures(): UsageFigures {
  return { executorCoreSeconds: 0, executorMemoryByteSeconds: 0, driverCoreSeconds: 0, driverMemoryByteSeconds: 0, jobs: 0 };
}

/**
 * `into += add`, the time integrals scaled by `fraction` (a record's share of a queried range) and
 * jobs, which are whole, added only when `jobs` says so (see usage-report.ts).
 */
export function addFigures(into: UsageFigures, add: UsageFigures, options: { fraction?: number; jobs?: boolean } = {}): void {
  const fraction = options.fraction ?? 1;
  into.executorCoreSeconds += add.executorCoreSeconds * fraction;
  into.executorMemoryByteSeconds += add.executorMemoryByteSeconds * fraction;
  into.driverCoreSeconds += add.driverCoreSeconds * fraction;
  into.driverMemoryByteSeconds += add.driverMemoryByteSeconds * fraction;
  if (options.jobs ?? true) into.jobs += add.jobs;
}

export function isZero(f: UsageFigures): boolean {
  return FIGURE_KEYS.every((k) => f[k] === 0);
}

/** A line parsed back from the store; undefined for a torn or foreign line (skipped, never fatal). */
export function parseStoreLine(text: string): StoreLine | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = storeLineSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
