/**
 * The user directory: turns a presented token into an Identity and a user or team name into
 * its policy (namespace, limits). Sources, in order:
 *
 * 1. the shared `token` setting: single-user mode's admin (`sparkgate`); in multi-user mode it
 *    stays valid only when the operator set it, as the operator's own admin token;
 * 2. the users file (`usersFile`): per-user tokens stored as SHA-256 digests;
 * 3. JupyterHub (`jupyterhubApiUrl`): the Hub says whose token it is; the users file, when
 *    there is one, adds policy to Hub users by name (team, admin, limits).
 *
 * A Hub user's team is the first of their Hub groups that names a team in the users file, else
 * their users-file entry's team, else `defaults.team`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Identity } from './identity.js';
import { SINGLE_USER_IDENTITY } from './identity.js';
import type { JupyterHubClient } from './jupyterhub.js';
import type { Limits, PolicyFile, TeamPolicy, UserEntry } from './policy-file.js';

export interface UserDirectoryOptions {
  /** The shared token; empty/undefined: none (multi-user mode without an operator token). */
  sharedToken?: string | undefined;
  policy?: PolicyFile | undefined;
  hub?: JupyterHubClient | undefined;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class UserDirectory {
  readonly multiUser: boolean;
  private readonly shared: Buffer | undefined;
  private readonly byDigest = new Map<string, UserEntry>();
  private readonly byName = new Map<string, UserEntry>();
  private readonly teams = new Map<string, TeamPolicy>();
  private readonly defaultTeam: string;
  private readonly defaultUserLimits: Limits;

  constructor(private readonly options: UserDirectoryOptions) {
    this.multiUser = options.policy !== undefined || options.hub !== undefined;
    this.shared = options.sharedToken ? sha256(options.sharedToken) : undefined;
    const policy = options.policy;
    this.defaultTeam = policy?.defaults.team ?? 'default';
    this.defaultUserLimits = policy?.defaults.userLimits ?? {};
    for (const [name, team] of Object.entries(policy?.teams ?? {})) this.teams.set(name, Object.freeze({ ...team, name }));
    for (const user of policy?.users ?? []) {
      this.byName.set(user.name, user);
      for (const d of user.tokenSha256 ?? []) this.byDigest.set(d.replace(/^sha256:/, ''), user);
    }
  }

  get hasSharedToken(): boolean {
    return this.shared !== undefined;
  }

  /** The identity a token proves; undefined when it proves none (401). May throw 503 (Hub down). */
  async authenticate(token: string | undefined): Promise<Identity | undefined> {
    if (token === undefined || token.length === 0 || token.length > 4096) return undefined;
    const digest = sha256(token);
    // Constant time against the shared token; a digest lookup for users (the map key is the
    // digest of a 256-bit secret, so timing says nothing about any token).
    if (this.shared && timingSafeEqual(digest, this.shared)) return SINGLE_USER_IDENTITY;
    const entry = this.byDigest.get(digest.toString('hex'));
    if (entry) return this.identityOf(entry, 'users-file');
    if (this.options.hub) {
      const hubUser = await this.options.hub.userForToken(token);
      if (!hubUser) return undefined;
      const entry = this.byName.get(hubUser.name);
      const hubTeam = hubUser.groups.find((g) => this.teams.has(g));
      return Object.freeze({
        name: hubUser.name,
        team: hubTeam ?? entry?.team ?? this.defaultTeam,
        groups: Object.freeze([...new Set([...hubUser.groups, ...(entry?.groups ?? [])])]),
        admin: hubUser.admin || entry?.admin === true,
        trusted: entry?.trusted === true,
        source: 'jupyterhub' as const,
      });
    }
    return undefined;
  }

  /**
   * The owner a trusted client names with KERNEL_USERNAME: a users-file user with their team,
   * else (the trusted client vouches for the name) a user of the default team.
   */
  userNamed(name: string): { name: string; team: string } {
    const entry = this.byName.get(name);
    return { name, team: entry?.team ?? this.defaultTeam };
  }

  /** A team's policy; teams the file does not list run in the gateway's namespace, unbounded. */
  team(name: string): TeamPolicy {
    return this.teams.get(name) ?? Object.freeze({ name });
  }

  teamNames(): string[] {
    return [...this.teams.keys()];
  }

  /** Namespaces executors may run in besides the gateway's own (from the teams). */
  teamNamespaces(): string[] {
    return [...new Set([...this.teams.values()].flatMap((t) => (t.namespace ? [t.namespace] : [])))];
  }

  userLimits(name: string): Limits {
    return this.byName.get(name)?.limits ?? this.defaultUserLimits;
  }

  teamLimits(name: string): Limits {
    return this.teams.get(name)?.limits ?? {};
  }

  private identityOf(entry: UserEntry, source: Identity['source']): Identity {
    return Object.freeze({
      name: entry.name,
      team: entry.team ?? this.defaultTeam,
      groups: Object.freeze([...entry.groups]),
      admin: entry.admin,
      trusted: entry.trusted,
      source,
    });
  }
}

/** A fresh API token and the digest to put in the users file (`sparkgate users token`). */
export function newUserToken(random: (n: number) => Buffer): { token: string; sha256: string } {
  const token = random(32).toString('base64url');
  return { token, sha256: sha256(token).toString('hex') };
}
