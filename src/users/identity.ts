/**
 * Who is calling, and who owns what. An Identity is resolved once per request (users.ts) from
 * the token it presents; every kernel, terminal and session records its Owner when it is
 * created. Pure: no I/O.
 *
 * Single-user mode (no users file, no JupyterHub) is today's gateway: the one shared token is
 * the admin user `SINGLE_USER`, who owns and sees everything.
 */

export type IdentitySource = 'shared-token' | 'users-file' | 'jupyterhub';

export interface Identity {
  /** The user's name (users file `name`, JupyterHub user name). */
  readonly name: string;
  /** The team the user's sessions are accounted to (and whose namespace runs their executors). */
  readonly team: string;
  readonly groups: readonly string[];
  /** Admins see and manage every session. */
  readonly admin: boolean;
  /**
   * A client trusted to speak for users (a shared Jupyter Server in gateway mode): the
   * KERNEL_USERNAME it sends names the owner of the kernels it starts.
   */
  readonly trusted: boolean;
  readonly source: IdentitySource;
}

export interface Owner {
  readonly user: string;
  readonly team: string;
  /** The trusted client that started it for `user` (it keeps access to it). */
  readonly via?: string | undefined;
}

/** The user of single-user mode (the shared token) and the team everything is accounted to there. */
export const SINGLE_USER = 'sparkgate';
export const DEFAULT_TEAM = 'default';

export const SINGLE_USER_IDENTITY: Identity = Object.freeze({
  name: SINGLE_USER,
  team: DEFAULT_TEAM,
  groups: Object.freeze([]) as readonly string[],
  admin: true,
  trusted: false,
  source: 'shared-token',
});

/** Pooled sessions belong to nobody until claimed. */
export const POOL_OWNER: Owner = Object.freeze({ user: SINGLE_USER, team: DEFAULT_TEAM });

export function ownerOf(identity: Identity): Owner {
  return { user: identity.name, team: identity.team };
}

/**
 * May this identity see (and so act on) something this owner holds? Admins: everything. Users:
 * what they own, and what a trusted client started on their behalf. A trusted client: what it
 * started. Everyone else gets 404, as if it did not exist.
 */
export function canAccess(identity: Identity, owner: Owner): boolean {
  return identity.admin || owner.user === identity.name || (owner.via !== undefined && owner.via === identity.name);
}
