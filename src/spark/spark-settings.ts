/**
 * The gateway's Spark settings: one zod schema, nested under `spark` in the gateway config
 * (src/config.ts maps `spark.<key>` to the env var `SPARKGATE_SPARK_<UPPER_SNAKE_KEY>`).
 *
 * Every field has a default, so `sparkSettingsSchema.parse({})` is the embedded local mode.
 * Kubernetes mode needs the pod's identity (downward API) and the executor image; the
 * cross-field checks at the bottom say so by setting name, with an example.
 *
 * Values may arrive as strings (environment), so numbers, booleans, lists and records accept
 * their string forms: lists are comma-separated, records are JSON objects.
 */
import { isIP } from 'node:net';
import nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_ALLOWED_SPARK_CONF, MAX_KEY_LENGTH, SPARK_KEY_PATTERN, reservedKey } from './conf-keys.js';
import { parseMemorySize } from './memory-size.js';

export const DEFAULT_K8S_MASTER = 'k8s://https://kubernetes.default.svc';
export const LOCAL_MASTER = 'local[*]';
/** Where Kubernetes mounts the pod's service-account credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface PortRange {
  readonly start: number;
  readonly end: number;
}

const MIN_PORT = 1024;
const MAX_PORT = 65535;

const boolish = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  return v;
}, z.boolean({ error: 'must be true or false, e.g. "true"' }));

const int = (min: number, max: number, example: number) =>
  z.coerce
    .number({ error: `must be a whole number, e.g. ${example}` })
    .int({ error: `must be a whole number, e.g. ${example}` })
    .min(min, { error: `must be at least ${min}, e.g. ${example}` })
    .max(max, { error: `must be at most ${max}, e.g. ${example}` });

const commaList = (item: z.ZodType<string>, example: string) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item, { error: `must be a comma-separated list, e.g. "${example}"` }),
  );

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsLabel = (example: string) =>
  z.string().regex(DNS_LABEL, { error: `must be a DNS-1123 label (lower-case letters, digits, "-"; at most 63), e.g. "${example}"` });
const dnsSubdomain = (example: string) =>
  z
    .string()
    .max(253)
    .refine((s) => s.split('.').every((part) => DNS_LABEL.test(part)), {
      error: `must be a DNS-1123 subdomain, e.g. "${example}"`,
    });

const IMAGE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;
const image = z
  .string()
  .max(512)
  .regex(IMAGE_PATTERN, { error: 'must be a container image reference, e.g. "registry.example.com/spark:3.5.3"' });
/** An allowed-image entry: an exact reference, or a prefix ending in "*". */
const imagePattern = z
  .string()
  .max(512)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*\*?$/, {
    error: 'entries must be image references, optionally ending in "*", e.g. "registry.example.com/spark:*"',
  });

/** kernel/spark-conf of this checkout (src/spark/ or dist/spark/ is two levels below the root). */
const DEFAULT_CONF_DIR = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '..', '..', 'kernel', 'spark-conf');

const path = (example: string) =>
  z.string().regex(/^\S+$/, { error: `must be a path without spaces, e.g. "${example}"` });

const memory = (example: string) =>
  z.string().transform((v, ctx) => {
    const size = parseMemorySize(v);
    if (!size) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a Spark memory size: a whole number and a unit k, m, g or t, e.g. "${example}"`,
      });
      return z.NEVER;
    }
    return size.text;
  });

/** "40000-40049" (or `{start, end}` from a config file) -> `{start, end}`. */
export function parsePortRange(value: unknown): PortRange | undefined {
  let start: number;
  let end: number;
  if (typeof value === 'string') {
    const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(value);
    if (!m) return undefined;
    start = Number(m[1]);
    end = Number(m[2]);
  } else if (value && typeof value === 'object' && 'start' in value && 'end' in value) {
    start = Number(value.start);
    end = Number(value.end);
  } else {
    return undefined;
  }
  if (!Number.isInteger(start) || !Number.isInteger(end)) return undefined;
  if (start < MIN_PORT || end > MAX_PORT || start > end) return undefined;
  return { start, end };
}

export const formatPortRange = (r: PortRange): string => `${r.start}-${r.end}`;
export const portRangeSize = (r: PortRange): number => r.end - r.start + 1;

const portRange = (example: string) =>
  z.unknown().transform((v, ctx) => {
    const range = parsePortRange(v);
    if (!range) {
      ctx.addIssue({
        code: 'custom',
        message: `must be "start-end" with ${MIN_PORT} <= start <= end <= ${MAX_PORT}, e.g. "${example}"`,
      });
      return z.NEVER;
    }
    return range;
  });

const CONF_EXAMPLE = '{"spark.eventLog.enabled":"true"}';
const confRecord = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  },
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String), {
    error: `must be an object (JSON in the environment) of Spark keys to values, e.g. ${CONF_EXAMPLE}`,
  }),
);

export const sparkSettingsSchema = z
  .object({
    /** `local`: embedded `local[*]` driver; `kubernetes`: client mode with executor pods. */
    mode: z.enum(['local', 'kubernetes'], { error: 'must be "local" or "kubernetes", e.g. "kubernetes"' }).default('local'),
    /**
     * SPARK_HOME for the sessions. Unset: the Spark of the kernels' pyspark (the project venv's
     * pinned pyspark is a complete Spark), or SPARK_HOME from the gateway's environment.
     */
    sparkHome: path('/opt/spark').optional(),
    /**
     * SPARK_CONF_DIR for the sessions (Spark reads log4j2.properties and spark-defaults.conf
     * there). Default: the gateway's kernel/spark-conf (driver logs at WARN, as plain lines).
     */
    confDir: path('/etc/spark/conf').default(DEFAULT_CONF_DIR),
    /**
     * Spark master URL. Unset means "follow mode": `local[*]` in local mode,
     * `k8s://https://kubernetes.default.svc` in kubernetes mode. Read it through `sparkMaster()`.
     */
    master: z.string().min(1).optional(),
    /** The gateway pod's identity, from the downward API (metadata.namespace/name/uid, status.podIP). */
    namespace: dnsLabel('spark').optional(),
    podName: dnsLabel('sparkgate-0').optional(),
    podUid: z.string().min(1).optional(),
    /** Kubernetes credentials from this kubeconfig file instead of the pod's service account. */
    kubeconfig: z.string().min(1).optional(),
    /** Context in that kubeconfig (default: its current-context). */
    kubeContext: z.string().min(1).optional(),
    /** Session-end garbage collection: how long to wait for the API to confirm executors are gone. */
    gcTimeoutMs: z.coerce.number().int().min(1_000).max(600_000).default(60_000),
    /** The reaper deletes pods of sessions that are not live after this grace period. */
    reaperGraceMs: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
    podIp: z
      .string()
      .refine((s) => isIP(s) !== 0, { error: 'must be an IP address, e.g. "10.42.0.17"' })
      .optional(),
    /** Headless Service (the StatefulSet's serviceName) through which executors reach drivers. */
    headlessService: dnsLabel('sparkgate-drivers').optional(),
    clusterDomain: dnsSubdomain('cluster.local').default('cluster.local'),
    /** `service`: `<pod>.<headless-svc>.<ns>.svc.<clusterDomain>`; `ip`: the pod IP. */
    driverHostMode: z.enum(['service', 'ip'], { error: 'must be "service" or "ip", e.g. "service"' }).default('service'),
    /** Executor image (`spark.kubernetes.container.image`). */
    image: image.optional(),
    /** Executors' service account (`spark.kubernetes.authenticate.executor.serviceAccountName`). */
    serviceAccount: dnsSubdomain('sparkgate-executor').optional(),
    executorPodTemplateFile: path('/etc/sparkgate/executor-pod-template.yaml').optional(),
    /**
     * API-server credentials the in-pod driver uses to create executors (client-mode keys
     * `spark.kubernetes.authenticate.{caCertFile,oauthTokenFile}`). Empty string: leave the key
     * out and let Spark's Kubernetes client (fabric8 `autoConfigure`) find the mounted files.
     * Spark reads the token file once, when the SparkContext starts, and keeps that token; the
     * kubelet rotates projected tokens, so on clusters that do not extend in-pod token lifetime
     * (kube-apiserver --service-account-extend-token-expiration) set this to "" for long sessions.
     */
    kubernetesCaCertFile: z.string().default(`${SERVICE_ACCOUNT_DIR}/ca.crt`),
    kubernetesTokenFile: z.string().default(`${SERVICE_ACCOUNT_DIR}/token`),
    /**
     * Per-session port slots: session i gets start+i of each range. The headless Service and
     * the NetworkPolicy must open the driver and block-manager ranges.
     */
    driverPortRange: portRange('40000-40049').default({ start: 40000, end: 40049 }),
    blockManagerPortRange: portRange('40100-40149').default({ start: 40100, end: 40149 }),
    uiPortRange: portRange('40200-40249').default({ start: 40200, end: 40249 }),
    /**
     * `spark.authenticate=true`. Spark itself generates a fresh secret per application for
     * k8s:// and local masters and hands it to executors in the pod env (SPARK_AUTHENTICATE_SECRET).
     */
    authenticate: boolish.default(true),
    /** `spark.network.crypto.enabled`: AES-encrypt RPC between driver and executors (needs authenticate). */
    networkCrypto: boolish.default(false),
    // policy limits
    maxExecutors: int(1, 10_000, 10).default(10),
    maxExecutorMemory: memory('8g').default('8g'),
    maxExecutorCores: int(1, 1_024, 4).default(4),
    maxDriverMemory: memory('4g').default('4g'),
    /** Images users may pick with KERNEL_IMAGE besides `image`; "*" at the end makes a prefix. */
    allowedImages: commaList(imagePattern, 'registry.example.com/spark:*').default([]),
    /** May users add code with KERNEL_SPARK_PACKAGES (Maven, downloads at start) and KERNEL_SPARK_JARS? */
    allowPackages: boolish.default(true),
    /**
     * Keys users may set with KERNEL_SPARK_CONF*: "x." entries are prefixes, others exact keys
     * (with their dotted sub-keys). Gateway-owned keys stay refused even when listed here.
     */
    allowedSparkConf: commaList(z.string().min(1), 'spark.sql.,spark.executor.memoryOverhead').default([
      ...DEFAULT_ALLOWED_SPARK_CONF,
    ]),
    // defaults for sessions that ask for nothing
    defaultExecutorMemory: memory('2g').default('2g'),
    defaultExecutorCores: int(1, 1_024, 1).default(1),
    defaultDriverMemory: memory('1g').default('1g'),
    /** Operator's Spark defaults, lowest precedence; may not name keys the gateway renders. */
    extraConf: confRecord.default({}),
  })
  .strict()
  .superRefine((s, ctx) => {
    const fail = (key: string | (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path: Array.isArray(key) ? key : [key], message });

    if (s.mode === 'kubernetes') {
      if (s.master !== undefined && !/^k8s:\/\/\S+$/.test(s.master)) {
        fail('master', `must be a k8s:// URL in kubernetes mode, e.g. "${DEFAULT_K8S_MASTER}"`);
      }
      if (!s.namespace) fail('namespace', 'is required in kubernetes mode (downward API metadata.namespace), e.g. "spark"');
      if (!s.podName) fail('podName', 'is required in kubernetes mode (downward API metadata.name), e.g. "sparkgate-0"');
      if (s.driverHostMode === 'service' && !s.headlessService) {
        fail('headlessService', 'is required when driverHostMode is "service", e.g. "sparkgate-drivers"');
      }
      if (s.driverHostMode === 'ip' && !s.podIp) {
        fail('podIp', 'is required when driverHostMode is "ip" (downward API status.podIP), e.g. "10.42.0.17"');
      }
      if (!s.image) fail('image', 'is required in kubernetes mode, e.g. "registry.example.com/spark:3.5.3"');
    } else if (s.master !== undefined && !/^local(\[(\*|\d+)(,\d+)?\])?$/.test(s.master)) {
      fail('master', `must be a local master in local mode, e.g. "${LOCAL_MASTER}"`);
    }

    const ranges = [
      ['driverPortRange', s.driverPortRange],
      ['blockManagerPortRange', s.blockManagerPortRange],
      ['uiPortRange', s.uiPortRange],
    ] as const;
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        const [nameA, a] = ranges[i]!;
        const [nameB, b] = ranges[j]!;
        if (a.start <= b.end && b.start <= a.end) {
          fail(nameB, `overlaps ${nameA} (${formatPortRange(a)}); use disjoint ranges, e.g. "40000-40049", "40100-40149", "40200-40249"`);
        }
      }
      const [name, r] = ranges[i]!;
      if (portRangeSize(r) !== portRangeSize(s.driverPortRange)) {
        fail(
          name,
          `must hold as many ports as driverPortRange (${portRangeSize(s.driverPortRange)}): session i uses port start+i of every range, e.g. "${s.driverPortRange.start + 100}-${s.driverPortRange.end + 100}"`,
        );
      }
    }

    const bytes = (m: string) => parseMemorySize(m)?.bytes ?? 0;
    if (bytes(s.defaultExecutorMemory) > bytes(s.maxExecutorMemory)) {
      fail('defaultExecutorMemory', `must not exceed maxExecutorMemory (${s.maxExecutorMemory}), e.g. "2g"`);
    }
    if (bytes(s.defaultDriverMemory) > bytes(s.maxDriverMemory)) {
      fail('defaultDriverMemory', `must not exceed maxDriverMemory (${s.maxDriverMemory}), e.g. "1g"`);
    }
    if (s.defaultExecutorCores > s.maxExecutorCores) {
      fail('defaultExecutorCores', `must not exceed maxExecutorCores (${s.maxExecutorCores}), e.g. 1`);
    }

    for (const key of Object.keys(s.extraConf)) {
      if (key.length > MAX_KEY_LENGTH || !SPARK_KEY_PATTERN.test(key)) {
        fail(['extraConf', key], `keys must be Spark keys, e.g. ${CONF_EXAMPLE}`);
        continue;
      }
      const reserved = reservedKey(key);
      if (reserved) fail(['extraConf', key], `${key} is rendered by the gateway (${reserved.hint}); remove it`);
    }
  });

/** Parsed, validated Spark settings (frozen by the config loader). */
export type SparkSettings = z.infer<typeof sparkSettingsSchema>;
export type SparkSettingsInput = z.input<typeof sparkSettingsSchema>;

/** The effective master URL: the `master` setting, or the mode's default. */
export function sparkMaster(settings: Pick<SparkSettings, 'mode' | 'master'>): string {
  return settings.master ?? (settings.mode === 'kubernetes' ? DEFAULT_K8S_MASTER : LOCAL_MASTER);
}

/**
 * How many sessions can hold ports at once. The gateway should refuse a `maxKernels` above
 * this (sessions past it would fail at start with a policy error anyway).
 */
export function portSlotCount(settings: Pick<SparkSettings, 'driverPortRange' | 'blockManagerPortRange' | 'uiPortRange'>): number {
  return Math.min(
    portRangeSize(settings.driverPortRange),
    portRangeSize(settings.blockManagerPortRange),
    portRangeSize(settings.uiPortRange),
  );
}
