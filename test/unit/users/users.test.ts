import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canAccess, SINGLE_USER_IDENTITY } from '../../../src/users/identity.js';
import { JupyterHubClient } from '../../../src/users/jupyterhub.js';
import { parsePolicyFile, PolicyFileError } from '../../../src/users/policy-file.js';
import { newUserToken, UserDirectory } from '../../../src/users/users.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('the users file', () => {
  it('parses users, teams and defaults', () => {
    const file = parsePolicyFile(`
teams:
  analytics: { namespace: spark-analytics, limits: { maxSessions: 3, maxMemory: 64g } }
users:
  - { name: alice, tokenSha256: ${sha('a')}, team: analytics }
  - { name: ops, tokenSha256: ["sha256:${sha('o1')}", "${sha('o2')}"], admin: true }
`);
    expect(file.teams['analytics']).toEqual({ namespace: 'spark-analytics', limits: { maxSessions: 3, maxMemory: '64g' } });
    expect(file.users[1]).toMatchObject({ name: 'ops', admin: true, trusted: false, groups: [] });
    expect(file.defaults).toEqual({ team: 'default', userLimits: {} });
  });

  it.each([
    ['users: [{ name: alice, tokenSha256: abc }]', 'users.0.tokenSha256.0: must be a SHA-256 hex digest'],
    [`users: [{ name: a, tokenSha256: ${'a'.repeat(64)} }, { name: a }]`, 'users.1.name: user a is listed twice'],
    [`users: [{ name: a, tokenSha256: ${'a'.repeat(64)} }, { name: b, tokenSha256: ${'a'.repeat(64)} }]`, 'same token as a'],
    ['teams: { t: { namespace: Not_A_Label } }', 'teams.t.namespace: must be a DNS label'],
    ['teams: { t: { limits: { maxMemory: lots } } }', 'teams.t.limits.maxMemory: must be a memory size'],
    ['users: [{ name: alice, password: x }]', 'users.0'],
    ['users: [{ name: "../x" }]', 'users.0.name'],
    ['[1, 2', 'not valid YAML'],
  ])('names the entry and field of a mistake: %s', (text, message) => {
    expect(() => parsePolicyFile(text)).toThrow(PolicyFileError);
    expect(() => parsePolicyFile(text)).toThrow(message);
  });
});

describe('UserDirectory', () => {
  const policy = parsePolicyFile(`
teams: { analytics: { namespace: spark-analytics, limits: { maxCores: 10 } } }
users:
  - { name: alice, tokenSha256: ${sha('alice-token')}, team: analytics, groups: [g1] }
  - { name: js, tokenSha256: ${sha('js-token')}, trusted: true }
  - { name: carol, admin: true }
defaults: { team: everyone, userLimits: { maxSessions: 2 } }
`);

  it('single-user mode: the shared token is the admin, nothing else is accepted', async () => {
    const users = new UserDirectory({ sharedToken: 'shared' });
    expect(users.multiUser).toBe(false);
    expect(await users.authenticate('shared')).toBe(SINGLE_USER_IDENTITY);
    for (const t of ['', 'Shared', 'shared ', undefined, 'x'.repeat(5000)]) expect(await users.authenticate(t)).toBeUndefined();
  });

  it('users-file tokens identify users with their team; policy by name', async () => {
    const users = new UserDirectory({ policy });
    expect(users.multiUser).toBe(true);
    expect(await users.authenticate('alice-token')).toMatchObject({ name: 'alice', team: 'analytics', groups: ['g1'], admin: false, source: 'users-file' });
    expect(await users.authenticate('js-token')).toMatchObject({ name: 'js', team: 'everyone', trusted: true });
    expect(await users.authenticate('shared')).toBeUndefined();
    expect(users.team('analytics').namespace).toBe('spark-analytics');
    expect(users.team('unknown')).toEqual({ name: 'unknown' });
    expect(users.teamNamespaces()).toEqual(['spark-analytics']);
    expect(users.userLimits('alice')).toEqual({ maxSessions: 2 });
    expect(users.teamLimits('analytics')).toEqual({ maxCores: 10 });
    expect(users.userNamed('alice')).toEqual({ name: 'alice', team: 'analytics' });
    expect(users.userNamed('zed')).toEqual({ name: 'zed', team: 'everyone' });
  });

  it('JupyterHub users: the first Hub group naming a team, admin from the Hub or the file', async () => {
    const hub = { userForToken: async (t: string) => (t === 'hub-carol' ? { name: 'carol', kind: 'user' as const, admin: false, groups: ['x', 'analytics'] } : undefined) };
    const users = new UserDirectory({ policy, hub: hub as unknown as JupyterHubClient });
    expect(await users.authenticate('hub-carol')).toMatchObject({ name: 'carol', team: 'analytics', admin: true, source: 'jupyterhub' });
    expect(await users.authenticate('nope')).toBeUndefined();
  });

  it('newUserToken: a 256-bit token and the digest the file stores', () => {
    const { token, sha256 } = newUserToken(randomBytes);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(sha256).toBe(sha(token));
  });
});

describe('ownership', () => {
  const user = (name: string, admin = false) => ({ ...SINGLE_USER_IDENTITY, name, admin, source: 'users-file' as const });
  it('owners, admins and the trusted client that started it; nobody else', () => {
    expect(canAccess(user('alice'), { user: 'alice', team: 't' })).toBe(true);
    expect(canAccess(user('bob'), { user: 'alice', team: 't' })).toBe(false);
    expect(canAccess(user('carol', true), { user: 'alice', team: 't' })).toBe(true);
    expect(canAccess(user('js'), { user: 'alice', team: 't', via: 'js' })).toBe(true);
    expect(canAccess(user('js'), { user: 'alice', team: 't' })).toBe(false);
  });
});

describe('JupyterHubClient', () => {
  const model = { name: 'alice', kind: 'user', groups: ['analytics'], scopes: [] };
  it('asks GET {api}/user with the token, caches answers, briefly caches refusals', async () => {
    let now = 0;
    const calls: string[] = [];
    const fetchFn = (async (url: string, init: RequestInit) => {
      calls.push(`${url} ${(init.headers as Record<string, string>)['authorization']}`);
      const token = (init.headers as Record<string, string>)['authorization']!.slice(6);
      return token === 'good' ? Response.json(model) : new Response('{}', { status: 403 });
    }) as unknown as typeof fetch;
    const hub = new JupyterHubClient({ apiUrl: 'http://hub:8081/hub/api/', cacheSeconds: 60, fetch: fetchFn, now: () => now });
    expect(await hub.userForToken('good')).toEqual({ name: 'alice', kind: 'user', admin: false, groups: ['analytics'] });
    expect(calls).toEqual(['http://hub:8081/hub/api/user token good']);
    await hub.userForToken('good');
    expect(calls).toHaveLength(1);
    expect(await hub.userForToken('bad')).toBeUndefined();
    await hub.userForToken('bad');
    expect(calls).toHaveLength(2);
    now += 6_000; // past the refusal cache, inside the answer cache
    await hub.userForToken('bad');
    await hub.userForToken('good');
    expect(calls).toHaveLength(3);
    now += 60_000;
    await hub.userForToken('good');
    expect(calls).toHaveLength(4);
  });

  it('a Hub that fails or answers nonsense is a 503, never a user', async () => {
    const down = new JupyterHubClient({ apiUrl: 'http://hub/hub/api', cacheSeconds: 60, fetch: (async () => { throw new Error('ECONNREFUSED'); }) as unknown as typeof fetch });
    await expect(down.userForToken('t')).rejects.toMatchObject({ status: 503, reason: 'identity_unavailable' });
    const broken = new JupyterHubClient({ apiUrl: 'http://hub/hub/api', cacheSeconds: 60, fetch: (async () => new Response('oops', { status: 500 })) as unknown as typeof fetch });
    await expect(broken.userForToken('t')).rejects.toMatchObject({ status: 503 });
    const odd = new JupyterHubClient({ apiUrl: 'http://hub/hub/api', cacheSeconds: 60, fetch: (async () => Response.json({ nope: 1 })) as unknown as typeof fetch });
    await expect(odd.userForToken('t')).rejects.toMatchObject({ status: 503 });
  });
});
