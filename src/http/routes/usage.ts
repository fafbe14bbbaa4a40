/**
 * `GET /api/sparkgate/usage`: metered usage (src/usage/) as JSON.
 *
 * Query (all optional): `user`, `team`, `from` and `to` (ISO 8601 times with a zone, e.g.
 * `2025-01-31T00:00:00Z`, or dates, meaning 00:00 UTC), `group_by` = `session` (default) |
 * `user` | `team`. Answer: `{from, to, group_by, rows: [...], totals: {...}}`, figures in
 * core-seconds, byte-seconds and jobs (usage-report.ts says how ranges are cut).
 *
 * Who sees what: admins see everyone's usage; everyone else only usage they may access
 * (identity.ts `canAccess`: their own, and for a trusted client what it started for users).
 * A non-admin naming another user in `user=` gets 404 (`not_found`), the same answer whether that
 * user exists or not, as every route answers for another user's objects; it is a refusal rather
 * than an empty list so a typo in one's own name is not mistaken for "no usage". Bad parameters:
 * 400 `{message, reason: "bad_request"}`.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors, printable } from '../../errors.js';
import { UsageReport, GROUP_BY, type GroupBy } from '../../usage/usage-report.js';
import type { UsageLine } from '../../usage/usage-records.js';
import { canAccess } from '../../users/identity.js';
import { identityOf } from '../ownership.js';
import type { ServerDeps } from '../server.js';

export const USAGE_PATH = '/api/sparkgate/usage';

/** Where the route reads usage: the store's lines plus what the meter has not flushed yet. */
export interface UsageSource {
  usageLines(range: { fromMs?: number | undefined; toMs?: number | undefined }): AsyncIterable<UsageLine>;
}

export interface UsageQueryParams {
  readonly user: string | undefined;
  readonly team: string | undefined;
  readonly fromMs: number | undefined;
  readonly toMs: number | undefined;
  readonly groupBy: GroupBy;
}

const timeSchema = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);
const TIME_EXAMPLE = '2025-01-31T00:00:00Z';

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw errors.badRequest(`Query parameter ${name} may be given only once`);
  return value;
}

function name(query: Record<string, unknown>, key: 'user' | 'team'): string | undefined {
  const value = single(query, key);
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > 256) throw errors.badRequest(`Query parameter ${key} must be a ${key} name of 1 to 256 characters`);
  return value;
}

function time(query: Record<string, unknown>, key: 'from' | 'to'): number | undefined {
  const value = single(query, key);
  if (value === undefined) return undefined;
  const ms = timeSchema.safeParse(value).success ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw errors.badRequest(`Query parameter ${key}=${JSON.stringify(printable(value))} is not an ISO 8601 time with a zone, e.g. ${key}=${TIME_EXAMPLE}`);
  }
  return ms;
}

/** Validate the query string (fastify's parser gives a string, or an array for repeated keys). */
export function parseUsageQuery(raw: unknown): UsageQueryParams {
  const query = (raw ?? {}) as Record<string, unknown>;
  const groupBy = single(query, 'group_by') ?? 'session';
  if (!(GROUP_BY as readonly string[]).includes(groupBy)) {
    throw errors.badRequest(`Query parameter group_by=${JSON.stringify(printable(groupBy))} is not one of ${GROUP_BY.join(', ')}`);
  }
  const fromMs = time(query, 'from');
  const toMs = time(query, 'to');
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) throw errors.badRequest('Query parameter from is after to');
  return { user: name(query, 'user'), team: name(query, 'team'), fromMs, toMs, groupBy: groupBy as GroupBy };
}

export function registerUsageRoutes(source: UsageSource) {
  return (app: FastifyInstance, _deps: ServerDeps): void => {
    app.get(USAGE_PATH, async (req) => {
      const identity = identityOf(req);
      const params = parseUsageQuery(req.query);
      if (!identity.admin && !identity.trusted && params.user !== undefined && params.user !== identity.name) {
        throw errors.notFound(`No usage of user ${JSON.stringify(printable(params.user))} is visible to you`);
      }
      const report = new UsageReport({ ...params, visible: (owner) => canAccess(identity, owner) });
      for await (const line of source.usageLines({ fromMs: params.fromMs, toMs: params.toMs })) report.add(line);
      return report.body();
    });
  };
}
