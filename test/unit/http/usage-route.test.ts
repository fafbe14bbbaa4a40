/**
 * GET /api/sparkgate/usage on the real HTTP server (auth hook, error handler) with a users file:
 * two users each see only their own usage, another user's name is refused with 404, the admin
 * sees everyone's, a trusted client sees what it started; grouping, totals, range cuts, and 400
 * `{message, reason}` for bad parameters.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { registerUsageRoutes, type UsageSource } from '../../../src/http/routes/usage.js';
import { buildServer, type ServerDeps } from '../../../src/http/server.js';
import { createLogger } from '../../../src/logger.js';
import { GatewayMetrics } from '../../../src/metrics.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import type { UsageLine } from '../../../src/usage/usage-records.js';
import { policyFileSchema } from '../../../src/users/policy-file.js';
import { newUserToken, UserDirectory } from '../../../src/users/users.js';

const line = (session: string, user: string, team: string, from: string, to: string, cores: number, extra: Partial<UsageLine> = {}): UsageLine => ({
  type: 'usage', session, user, team, kernelspec: 'pyspark', namespace: `ns-${team}`, from, to,
  executorCoreSeconds: cores, executorMemoryByteSeconds: cores * 1024, driverCoreSeconds: 60, driverMemoryByteSeconds: 60 * 1024, jobs: 2, ...extra,
});

const LINES: UsageLine[] = [
  line('a1', 'alice', 'analytics', '2025-01-31T10:00:00.000Z', '2025-01-31T10:01:00.000Z', 120),
  line('a1', 'alice', 'analytics', '2025-01-31T10:01:00.000Z', '2025-01-31T10:02:00.000Z', 60),
  line('a2', 'alice', 'analytics', '2025-01-31T11:00:00.000Z', '2025-01-31T11:01:00.000Z', 30, { via: 'jupyter-server' }),
  line('b1', 'bob', 'ml', '2025-01-31T10:00:00.000Z', '2025-01-31T10:01:00.000Z', 600),
];

const source: UsageSource = {
  async *usageLines(range) {
    for (const l of LINES) {
      if (range.fromMs !== undefined && Date.parse(l.to) < range.fromMs) continue;
      if (range.toMs !== undefined && Date.parse(l.from) > range.toMs) continue;
      yield l;
    }
  },
};

const tokens: Record<string, string> = {};
let app: Awaited<ReturnType<typeof buildServer>>;

beforeAll(async () => {
  const users = ['alice', 'bob', 'carol', 'jupyter-server'].map((name) => {
    const { token, sha256 } = newUserToken(randomBytes);
    tokens[name] = token;
    return {
      name,
      tokenSha256: sha256,
      team: name === 'alice' ? 'analytics' : name === 'bob' ? 'ml' : undefined,
      admin: name === 'carol',
      trusted: name === 'jupyter-server',
    };
  });
  const policy = policyFileSchema.parse({ teams: { analytics: {}, ml: {} }, users });
  const config = loadConfig({ env: {}, overrides: {} });
  const deps = {
    config,
    users: new UserDirectory({ policy }),
    registry: new SessionRegistry({ retainMs: 1000 }),
    logger: createLogger({ level: 'silent' }),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    kernels: {},
    kernelspecs: {},
    sessions: {},
    version: 'test',
    isReady: () => true,
  } as unknown as ServerDeps;
  app = await buildServer(deps, [registerUsageRoutes(source)]);
});

afterAll(async () => {
  await app?.close();
});

async function get(user: string | undefined, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.inject({
    method: 'GET',
    url: `/api/sparkgate/usage${query}`,
    headers: user ? { authorization: `token ${tokens[user]}` } : {},
  });
  return { status: res.statusCode, body: res.json() };
}

const sessionsOf = (body: Record<string, unknown>) => (body['rows'] as { session: string }[]).map((r) => r.session);

describe('GET /api/sparkgate/usage', () => {
  it('a user sees only their own sessions, with totals over them', async () => {
    const alice = await get('alice');
    expect(alice.status).toBe(200);
    expect(sessionsOf(alice.body)).toEqual(['a1', 'a2']);
    expect(alice.body['rows']).toEqual([
      {
        session: 'a1', user: 'alice', team: 'analytics', kernelspec: 'pyspark', namespace: 'ns-analytics',
        from: '2025-01-31T10:00:00.000Z', to: '2025-01-31T10:02:00.000Z',
        executor_core_seconds: 180, executor_memory_byte_seconds: 180 * 1024, driver_core_seconds: 120, driver_memory_byte_seconds: 120 * 1024, jobs: 4,
      },
      expect.objectContaining({ session: 'a2', executor_core_seconds: 30 }),
    ]);
    expect(alice.body['totals']).toEqual({
      sessions: 2, executor_core_seconds: 210, executor_memory_byte_seconds: 210 * 1024, driver_core_seconds: 180, driver_memory_byte_seconds: 180 * 1024, jobs: 6,
    });
    const bob = await get('bob');
    expect(sessionsOf(bob.body)).toEqual(['b1']);
    expect((bob.body['totals'] as { executor_core_seconds: number }).executor_core_seconds).toBe(600);
  });

  it('naming another user is refused with 404, whether or not that user exists; one\'s own name is fine', async () => {
    for (const other of ['bob', 'nobody']) {
      const res = await get('alice', `?user=${other}`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ message: `No usage of user "${other}" is visible to you`, reason: 'not_found' });
    }
    expect(sessionsOf((await get('alice', '?user=alice')).body)).toEqual(['a1', 'a2']);
    // a team filter never widens what one sees
    expect(sessionsOf((await get('alice', '?team=ml')).body)).toEqual([]);
  });

  it('the admin sees everyone, and filters by user or team', async () => {
    expect(sessionsOf((await get('carol')).body)).toEqual(['a1', 'b1', 'a2']);
    expect(sessionsOf((await get('carol', '?user=bob')).body)).toEqual(['b1']);
    expect(sessionsOf((await get('carol', '?team=analytics')).body)).toEqual(['a1', 'a2']);
  });

  it('a trusted client sees the sessions it started for users', async () => {
    expect(sessionsOf((await get('jupyter-server')).body)).toEqual(['a2']);
    expect(sessionsOf((await get('jupyter-server', '?user=alice')).body)).toEqual(['a2']);
  });

  it('groups by user and by team', async () => {
    const byUser = await get('carol', '?group_by=user');
    expect(byUser.body['rows']).toEqual([
      expect.objectContaining({ user: 'alice', teams: ['analytics'], sessions: 2, executor_core_seconds: 210 }),
      expect.objectContaining({ user: 'bob', teams: ['ml'], sessions: 1, executor_core_seconds: 600 }),
    ]);
    const byTeam = await get('carol', '?group_by=team');
    expect(byTeam.body['rows']).toEqual([
      expect.objectContaining({ team: 'analytics', users: 1, sessions: 2, executor_core_seconds: 210 }),
      expect.objectContaining({ team: 'ml', users: 1, sessions: 1, executor_core_seconds: 600 }),
    ]);
    expect(byTeam.body['group_by']).toBe('team');
  });

  it('cuts records at the range: seconds by their share inside it, jobs where the record ends', async () => {
    const res = await get('alice', '?from=2025-01-31T10:00:30Z&to=2025-01-31T10:01:30Z');
    expect(res.body['from']).toBe('2025-01-31T10:00:30.000Z');
    expect(res.body['rows']).toEqual([
      expect.objectContaining({ session: 'a1', from: '2025-01-31T10:00:30.000Z', to: '2025-01-31T10:01:30.000Z', executor_core_seconds: 60 + 30, driver_core_seconds: 60, jobs: 2 }),
    ]);
    // dates mean 00:00 UTC
    expect(sessionsOf((await get('alice', '?from=2025-02-01')).body)).toEqual([]);
  });

  it('answers 400 {message, reason} for bad parameters, 401 without a token', async () => {
    const cases: [string, RegExp][] = [
      ['?group_by=day', /group_by="day" is not one of session, user, team/],
      ['?from=yesterday', /from="yesterday" is not an ISO 8601 time with a zone, e\.g\. from=2025-01-31T00:00:00Z/],
      ['?to=2025-01-31T10:00:00', /to=.* is not an ISO 8601 time/],
      ['?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z', /from is after to/],
      ['?user=a&user=b', /user may be given only once/],
      ['?user=', /user must be a user name/],
    ];
    for (const [query, message] of cases) {
      const res = await get('carol', query);
      expect(res.status, query).toBe(400);
      expect(res.body).toEqual({ message: expect.stringMatching(message), reason: 'bad_request' });
    }
    expect((await get(undefined)).status).toBe(401);
  });
});
