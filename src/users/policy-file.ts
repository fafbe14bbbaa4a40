/**
 * The users-and-teams file (`usersFile`, mounted from a Secret in a pod): who may call the
 * gateway, with which token, in which team, and the limits that bound them. Parsed once at start
 * with zod; errors name the entry and the field.
 *
 * ```yaml
 * teams:
 *   analytics:
 *     namespace: spark-analytics          # executors run here (default: the gateway's namespace)
 *     serviceAccount: sparkgate-executor  # executors' service account in that namespace
 *     executorPodTemplateFile: /etc/sparkgate/templates/analytics.yaml
 *     limits: { maxSessions: 20, maxExecutors: 40, maxCores: 80, maxMemory: 320g }
 * users:
 *   - name: alice
 *     tokenSha256: [9f86d081...]            # `sparkgate users token` prints a token and its hash
 *     team: analytics
 *     limits: { maxSessions: 3 }
 *   - name: jupyter-server                  # a shared Jupyter Server in gateway mode
 *     tokenSha256: [...]
 *     trusted: true                         # its KERNEL_USERNAME names the kernel's owner
 *   - name: carol                           # a JupyterHub user: no token here, only policy
 *     admin: true
 * defaults:
 *   team: default
 *   userLimits: { maxSessions: 5 }
 * ```
 *
 * Tokens are stored as SHA-256 hex digests. A fast hash is enough because the tokens are random
 * 256-bit secrets the gateway generates (no dictionary to try); slow KDFs protect human-chosen
 * passwords, which these are not.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseMemorySize } from '../spark/memory-size.js';

export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
const name = (what: string) =>
  z.string().regex(USER_NAME, `a ${what} name is 1-128 letters, digits or . _ @ + - (starting with a letter or digit)`);

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label (lower-case letters, digits, "-"), e.g. "spark-analytics"');

const memory = z.string().refine((s) => parseMemorySize(s) !== undefined, { error: 'must be a memory size, e.g. "64g"' });

export const limitsSchema = z
  .object({
    /** Sessions (kernels and terminals with their own Spark session) at once. */
    maxSessions: z.number().int().min(0).optional(),
    /** Executors across all sessions: the sum of each Spark session's dynamic-allocation maximum. */
    maxExecutors: z.number().int().min(0).optional(),
    /** Cores across all sessions: driver + maxExecutors x executor cores of each Spark session. */
    maxCores: z.number().min(0).optional(),
    /** Memory across all sessions, counted like maxCores (driver + maxExecutors x executor memory). */
    maxMemory: memory.optional(),
  })
  .strict();
export type Limits = z.infer<typeof limitsSchema>;

export const teamSchema = z
  .object({
    namespace: dnsLabel.optional(),
    serviceAccount: dnsLabel.optional(),
    executorPodTemplateFile: z.string().min(1).optional(),
    limits: limitsSchema.optional(),
  })
  .strict();
export type TeamPolicy = z.infer<typeof teamSchema> & { readonly name: string };

const sha256 = z.string().regex(/^(sha256:)?[0-9a-f]{64}$/, 'must be a SHA-256 hex digest (`sparkgate users token` prints one)');

export const userSchema = z
  .object({
    name: name('user'),
    /** One digest, or several while a token is being rotated. */
    tokenSha256: z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(sha256)).optional(),
    team: name('team').optional(),
    groups: z.array(z.string().min(1).max(256)).default([]),
    admin: z.boolean().default(false),
    trusted: z.boolean().default(false),
    limits: limitsSchema.optional(),
  })
  .strict();
export type UserEntry = z.infer<typeof userSchema>;

export const policyFileSchema = z
  .object({
    teams: z.record(name('team'), teamSchema).default({}),
    users: z.array(userSchema).default([]),
    defaults: z
      .object({
        /** Team of users who name none (and of JupyterHub users in no team group). */
        team: name('team').default('default'),
        userLimits: limitsSchema.default({}),
      })
      .strict()
      .default({ team: 'default', userLimits: {} }),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    const digests = new Map<string, string>();
    file.users.forEach((u, i) => {
      if (seen.has(u.name)) ctx.addIssue({ code: 'custom', path: ['users', i, 'name'], message: `user ${u.name} is listed twice` });
      seen.add(u.name);
      for (const d of u.tokenSha256 ?? []) {
        const digest = d.replace(/^sha256:/, '');
        const other = digests.get(digest);
        if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['users', i, 'tokenSha256'], message: `user ${u.name} has the same token as ${other}` });
        digests.set(digest, u.name);
      }
    });
  });
export type PolicyFile = z.infer<typeof policyFileSchema>;

export class PolicyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyFileError';
  }
}

/** Parse a users file's text (YAML or JSON); errors name the entry and field. */
export function parsePolicyFile(text: string, source = 'usersFile'): PolicyFile {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new PolicyFileError(`${source} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  const parsed = policyFileSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new PolicyFileError(`${source} is invalid:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

export function readPolicyFile(file: string): PolicyFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyFileError(`cannot read users file ${file}: ${(err as Error).message}`);
  }
  return parsePolicyFile(text, `users file ${file}`);
}
