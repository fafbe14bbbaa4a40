/**
 * The users phase: what multi-user mode costs per request, each identity source side by side
 * with single-user mode (the floor) in one run. Four `sparkgate serve` processes on the bench
 * kernelspec, one per way a token is checked (src/users/users.ts), and a real JupyterHub:
 *
 *   single       single-user mode: the shared token (--token); the floor
 *   usersFile    SPARKGATE_USERS_FILE with BENCH_USERS_FILE_USERS users, each with a token
 *                (SHA-256 digests); the client is the file's last user
 *   hubCached    SPARKGATE_JUPYTERHUB_API_URL, the gateway's default cache (jupyterhubCacheSeconds)
 *   hubUncached  the same with SPARKGATE_JUPYTERHUB_CACHE_SECONDS=0: every request asks the Hub
 *   hubDirect    no gateway: `GET {hub}/hub/api/user` with the same Hub token, what JupyterHub's
 *                own HubAuth asks per uncached request (the anchor of hubUncached)
 *
 * The multi-user gateways have no shared token at all (SPARKGATE_TOKEN empty, no --token), as
 * an operator without an admin token runs them. Each gateway has one kernel started by its
 * lane's user, so `GET /api/kernels` answers the same one-kernel list everywhere.
 *
 *   requests  `GET /api/kernels` over one keep-alive connection per lane (keep-alive-client.ts),
 *             BENCH_USERS_REQUESTS each after 50 untimed, the five lanes interleaved in blocks of
 *             50 so load from elsewhere falls on all alike
 *   upgrades  a fresh `/api/kernels/{id}/channels` websocket (v1) until the first
 *             kernel_info_reply, closed again; BENCH_USERS_UPGRADES each after 5 untimed, the
 *             four gateways interleaved in blocks of 10
 *   memory    VmRSS of the single-user and the users-file gateway, fresh (no request served, no
 *             kernel), after BENCH_SETTLE_MS and a forced GC, median of 5 readings each
 *             (measure-memory.ts): the difference is what the loaded file costs
 *
 * Phases: setup (Hub, its token, the users file, four gateways) -> memory -> requests and
 * upgrades; each budgeted and failed on its own, a lane that fails is dropped and reported.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { newUserToken } from '../src/users/users.js';
import { kernelInfoWithin } from './bench-client.js';
import { BENCH_KERNEL_NAME } from './bench-kernelspec.js';
import type { BenchOptions } from './bench-options.js';
import { phaseBudgetMs } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { BenchHub, JUPYTERHUB_LABEL } from './jupyterhub.js';
import { KeepAliveClient } from './keep-alive-client.js';
import type { KernelServer } from './kernel-server.js';
import { settledRssKiB } from './measure-memory.js';
import type { PhaseRunner } from './phase-runner.js';
import { BENCH_TMP_DIR } from './processes.js';
import { startSparkgate } from './sparkgate-server.js';
import { summarize, type Summary } from './stats.js';
import { log } from './target-results.js';

export const USERS_GATEWAYS = ['single', 'usersFile', 'hubCached', 'hubUncached'] as const;
export type UsersGateway = (typeof USERS_GATEWAYS)[number];
export type UsersRequestLane = UsersGateway | 'hubDirect';

/** Failure records (and logs) of each lane; `memory` and `setup` are the phase's other parts. */
export const USERS_TARGETS: Readonly<Record<UsersRequestLane | 'memory', string>> = {
  single: 'sparkgate single-user (users phase)',
  usersFile: 'sparkgate users file',
  hubCached: 'sparkgate JupyterHub cached',
  hubUncached: 'sparkgate JupyterHub uncached',
  hubDirect: `${JUPYTERHUB_LABEL} GET /hub/api/user`,
  memory: 'sparkgate users-file memory',
};

/** The Hub user whose token the JupyterHub lanes present. */
const HUB_USER = 'bench-user';
const REQUEST_BLOCK = 50;
const REQUEST_WARM_UP = 50;
const UPGRADE_BLOCK = 10;
const UPGRADE_WARM_UP = 5;

export interface UsersResults {
  /** Users in the users-file gateway's file. */
  readonly fileUsers: number;
  /** The hubCached gateway's jupyterhubCacheSeconds (the gateway's default). */
  readonly cacheSeconds: number;
  readonly requests: Partial<Record<UsersRequestLane, Summary>>;
  readonly upgrades: Partial<Record<UsersGateway, Summary>>;
  memory?: { readonly singleMB: number; readonly usersFileMB: number; readonly deltaMB: number };
}

export function emptyUsersResults(options: BenchOptions): UsersResults {
  return { fileUsers: options.usersFileUsers, cacheSeconds: loadConfig().jupyterhubCacheSeconds, requests: {}, upgrades: {} };
}

/** A users file of `count` users, each with a fresh token; the last user's token is returned. */
function writeUsersFile(count: number): { file: string; token: string } {
  const dir = path.join(BENCH_TMP_DIR, 'users');
  mkdirSync(dir, { recursive: true });
  let token = '';
  const users = Array.from({ length: count }, (_, i) => {
    const made = newUserToken(randomBytes);
    token = made.token;
    return { name: `bench-user-${String(i + 1).padStart(5, '0')}`, tokenSha256: made.sha256 };
  });
  const file = path.join(dir, 'users.json');
  // JSON is YAML: the gateway's parser reads either.
  writeFileSync(file, JSON.stringify({ users }), { mode: 0o600 });
  return { file, token };
}

interface UsersServers {
  readonly hub: BenchHub;
  readonly hubToken: string;
  readonly gateways: Readonly<Record<UsersGateway, KernelServer>>;
  stop(): Promise<void>;
}

async function startServers(scope: DeadlineScope, results: UsersResults): Promise<UsersServers> {
  const started: { stop(): Promise<void> }[] = [];
  const stop = async (): Promise<void> => {
    for (const s of [...started].reverse()) await s.stop();
  };
  try {
    const hub = await BenchHub.start(scope, { users: [HUB_USER] });
    started.push(hub);
    const hubToken = await hub.newToken(scope, HUB_USER);
    const { file, token: fileToken } = writeUsersFile(results.fileUsers);
    const start = async (gateway: UsersGateway, options: { userToken?: string; env?: Record<string, string> }): Promise<KernelServer> => {
      const server = await startSparkgate(scope, { label: USERS_TARGETS[gateway], ...options });
      started.push(server);
      return server;
    };
    const hubEnv = (cacheSeconds: number): Record<string, string> => ({ SPARKGATE_JUPYTERHUB_API_URL: hub.apiUrl, SPARKGATE_JUPYTERHUB_CACHE_SECONDS: String(cacheSeconds) });
    const gateways = {
      single: await start('single', {}),
      usersFile: await start('usersFile', { userToken: fileToken, env: { SPARKGATE_USERS_FILE: file } }),
      hubCached: await start('hubCached', { userToken: hubToken, env: hubEnv(results.cacheSeconds) }),
      hubUncached: await start('hubUncached', { userToken: hubToken, env: hubEnv(0) }),
    };
    log(`users: ${JUPYTERHUB_LABEL} ${hub.url}; gateways ${USERS_GATEWAYS.map((g) => `${g} ${gateways[g].url}`).join(', ')}`);
    return { hub, hubToken, gateways, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A lane of one of the interleaved measures: `sample(n)` times n more requests. */
interface TimedLane<K extends string> {
  readonly key: K;
  readonly label: string;
  sample(scope: DeadlineScope, n: number): Promise<number[]>;
}

/**
 * `warmUp` untimed then `total` timed samples per lane, the lanes taking turns in blocks of
 * `block`, the first lane of a round rotating (no lane always follows the same one). A lane that
 * fails is reported and dropped (unless the whole phase is over); the summaries are those of the
 * lanes that finished.
 */
async function interleave<K extends string>(scope: DeadlineScope, runner: PhaseRunner, lanes: readonly TimedLane<K>[], counts: { total: number; warmUp: number; block: number }, what: string): Promise<Map<K, Summary>> {
  const alive = new Set(lanes);
  const guard = async (lane: TimedLane<K>, step: () => Promise<void>): Promise<void> => {
    if (!alive.has(lane)) return;
    try {
      await step();
    } catch (err) {
      if (scope.signal.aborted) throw err;
      alive.delete(lane);
      runner.fail(`${lane.label} ${what}`, [lane.label], ['users'], err);
    }
  };
  for (const lane of lanes) await guard(lane, async () => void (await lane.sample(scope, counts.warmUp)));
  const samples = new Map(lanes.map((l) => [l, [] as number[]]));
  const rounds = Math.ceil(counts.total / counts.block);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < lanes.length; i++) {
      const lane = lanes[(round + i) % lanes.length]!;
      const done = samples.get(lane)!;
      const n = Math.min(counts.block, counts.total - done.length);
      await guard(lane, async () => void done.push(...(await lane.sample(scope, n))));
    }
  }
  return new Map([...alive].map((l) => [l.key, summarize(samples.get(l)!)]));
}

/** A fresh kernel websocket (v1) until its first kernel_info_reply, `n` times; closed after each. */
async function upgradeSamples(scope: DeadlineScope, server: KernelServer, kernelId: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const client = await server.connect(scope, kernelId, 'v1');
    try {
      await kernelInfoWithin(scope, client, { untilReply: true });
      out.push(performance.now() - started);
    } finally {
      client.close();
    }
  }
  return out;
}

async function measureLanes(scope: DeadlineScope, runner: PhaseRunner, up: UsersServers, results: UsersResults, options: BenchOptions): Promise<void> {
  const kernels = new Map<UsersGateway, string>();
  const clients: KeepAliveClient[] = [];
  try {
    for (const g of USERS_GATEWAYS) kernels.set(g, await up.gateways[g].startKernel(scope, BENCH_KERNEL_NAME));
    const requestLane = (key: UsersRequestLane, client: KeepAliveClient, pathname: string): TimedLane<UsersRequestLane> => {
      clients.push(client);
      return { key, label: USERS_TARGETS[key], sample: (s, n) => client.samples(s, pathname, n) };
    };
    const requestLanes = [
      ...USERS_GATEWAYS.map((g) => requestLane(g, new KeepAliveClient(up.gateways[g].url, up.gateways[g].token, USERS_TARGETS[g]), '/api/kernels')),
      requestLane('hubDirect', new KeepAliveClient(up.hub.url, up.hubToken, USERS_TARGETS.hubDirect), '/hub/api/user'),
    ];
    log(`users: ${options.usersRequests} keep-alive GETs per lane (${requestLanes.map((l) => l.key).join(', ')}), interleaved in blocks of ${REQUEST_BLOCK}`);
    const requests = await interleave(scope, runner, requestLanes, { total: options.usersRequests, warmUp: REQUEST_WARM_UP, block: REQUEST_BLOCK }, 'requests');
    for (const [k, v] of requests) results.requests[k] = v;
    log(`users: GET p50 ${[...requests].map(([k, v]) => `${k} ${v.p50.toFixed(2)} ms`).join(', ')}`);

    const upgradeLanes = USERS_GATEWAYS.map(
      (g): TimedLane<UsersGateway> => ({ key: g, label: USERS_TARGETS[g], sample: (s, n) => upgradeSamples(s, up.gateways[g], kernels.get(g)!, n) }),
    );
    log(`users: ${options.usersUpgrades} websocket upgrades + kernel_info per gateway, interleaved in blocks of ${UPGRADE_BLOCK}`);
    const upgrades = await interleave(scope, runner, upgradeLanes, { total: options.usersUpgrades, warmUp: UPGRADE_WARM_UP, block: UPGRADE_BLOCK }, 'upgrades');
    for (const [k, v] of upgrades) results.upgrades[k] = v;
    log(`users: upgrade p50 ${[...upgrades].map(([k, v]) => `${k} ${v.p50.toFixed(2)} ms`).join(', ')}`);
  } finally {
    for (const c of clients) c.close();
    for (const [g, id] of kernels) await up.gateways[g].deleteKernel(scope, id).catch(() => undefined);
  }
}

/** The whole users phase; every process it started is stopped at the end. */
export async function runUsersSuite(runner: PhaseRunner, results: UsersResults, options: BenchOptions): Promise<void> {
  const lanes = [...USERS_GATEWAYS, 'hubDirect' as const].map((k) => USERS_TARGETS[k]);
  const all = [...lanes, USERS_TARGETS.memory];
  const setup = await runner.run({ name: 'users setup', targets: all, phases: ['users'], budgetMs: phaseBudgetMs('setup', options) }, (scope) => startServers(scope, results));
  if (!setup.ok) return;
  const up = setup.value;
  try {
    // First, while both gateways are fresh: no request served, no kernel.
    await runner.run({ name: 'users memory', targets: [USERS_TARGETS.memory], phases: ['users'], budgetMs: phaseBudgetMs('setup', options) }, async (scope) => {
      const [single, usersFile] = await Promise.all([settledRssKiB(scope, up.gateways.single, options.settleMs), settledRssKiB(scope, up.gateways.usersFile, options.settleMs)]);
      // MB = 10^6 bytes (VmRSS is in KiB).
      const mb = (kib: number): number => Math.round(((kib * 1024) / 1e6) * 100) / 100;
      results.memory = { singleMB: mb(single), usersFileMB: mb(usersFile), deltaMB: mb(usersFile - single) };
      log(`users: RSS single-user ${results.memory.singleMB} MB, with ${results.fileUsers} users ${results.memory.usersFileMB} MB`);
    });
    await runner.run({ name: 'users requests and upgrades', targets: lanes, phases: ['users'], budgetMs: phaseBudgetMs('users', options) }, (scope) =>
      measureLanes(scope, runner, up, results, options),
    );
  } finally {
    await up.stop();
  }
}
