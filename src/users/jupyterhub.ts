/**
 * Identities from a JupyterHub: a token is checked against the Hub's REST API the way
 * JupyterHub's own HubAuth does (`GET {hub api}/user` with `Authorization: token <T>` answers
 * the model of the token's owner, a user or a service), so a Hub deployment needs no second user
 * list. Answers are cached per token digest (HubAuth caches too); refusals briefly, so a client
 * retrying a bad token does not hammer the Hub.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { errors } from '../errors.js';

/** What the gateway reads of the Hub's user/service model (jupyterhub/apihandlers/users.py). */
const hubModelSchema = z
  .object({
    name: z.string().min(1),
    kind: z.enum(['user', 'service']).optional(),
    admin: z.boolean().optional(),
    groups: z.array(z.string()).optional(),
  })
  .loose();

export interface HubUser {
  name: string;
  kind: 'user' | 'service';
  admin: boolean;
  groups: string[];
}

export interface JupyterHubClientOptions {
  /** The Hub's API URL, e.g. http://hub:8081/hub/api (JUPYTERHUB_API_URL). */
  apiUrl: string;
  cacheSeconds: number;
  /** How long a refused token stays refused without asking again. */
  negativeCacheSeconds?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

interface Cached {
  user: HubUser | undefined;
  until: number;
}

const MAX_CACHE = 10_000;

export class JupyterHubClient {
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<HubUser | undefined>>();
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly userUrl: string;

  constructor(private readonly options: JupyterHubClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
    this.userUrl = `${options.apiUrl.replace(/\/+$/, '')}/user`;
  }

  /** The Hub user (or service) a token belongs to; undefined when the Hub refuses it. */
  async userForToken(token: string): Promise<HubUser | undefined> {
    const key = createHash('sha256').update(token).digest('hex');
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.user;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.ask(token).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const user = await pending;
    const seconds = user ? this.options.cacheSeconds : (this.options.negativeCacheSeconds ?? 5);
    if (this.cache.size >= MAX_CACHE) this.prune();
    this.cache.set(key, { user, until: this.now() + seconds * 1000 });
    return user;
  }

  private async ask(token: string): Promise<HubUser | undefined> {
    let res: Response;
    try {
      res = await this.fetch(this.userUrl, {
        headers: { authorization: `token ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        redirect: 'manual',
      });
    } catch (err) {
      throw errors.identityUnavailable(`JupyterHub at ${this.options.apiUrl} is not answering (${(err as Error).message})`);
    }
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw errors.identityUnavailable(`JupyterHub at ${this.options.apiUrl} answered ${res.status} to a token check`);
    }
    const parsed = hubModelSchema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw errors.identityUnavailable(`JupyterHub at ${this.options.apiUrl} sent a user model sparkgate cannot read`);
    const m = parsed.data;
    return { name: m.name, kind: m.kind ?? 'user', admin: m.admin === true, groups: m.groups ?? [] };
  }

  private prune(): void {
    const now = this.now();
    for (const [k, v] of this.cache) if (v.until <= now) this.cache.delete(k);
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
  }
}
