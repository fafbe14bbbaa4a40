/**
 * Ownership on every route: the caller's Identity (set by the auth hook in server.ts) against the
 * owner the session registry keeps. Something another user owns answers exactly as something
 * that does not exist (404, same body), so ids cannot be probed; admins see everything.
 */
import type { FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import type { Kernel } from '../kernels/kernel.js';
import type { KernelManager } from '../kernels/kernel-manager.js';
import type { SessionRecord, SessionRegistry } from '../sessions/session-registry.js';
import { canAccess, ownerOf, type Identity, type Owner } from '../users/identity.js';
import type { UserDirectory } from '../users/users.js';
import { kernelIdParam } from './routes/kernels.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set for every route but the public ones (probes, the web shell page). */
    identity?: Identity;
  }
}

/** The caller; routes behind auth always have one (a missing one is a wiring bug: 401, never "everyone"). */
export function identityOf(req: FastifyRequest): Identity {
  if (!req.identity) throw errors.unauthorized();
  return req.identity;
}

export interface OwnershipDeps {
  kernels: KernelManager;
  registry: SessionRegistry;
  users: UserDirectory;
}

/** A kernel the caller may see, or 404 as if it did not exist. */
export function visibleKernel(deps: OwnershipDeps, req: FastifyRequest, id: string): Kernel {
  const kernel = deps.kernels.get(kernelIdParam(id));
  if (!canAccess(identityOf(req), deps.kernels.ownerOf(kernel.id))) throw errors.kernelNotFound(kernel.id);
  return kernel;
}

/** Kernels the caller may see. */
export function visibleKernels(deps: OwnershipDeps, req: FastifyRequest): Kernel[] {
  const identity = identityOf(req);
  return deps.kernels.list().filter((k) => canAccess(identity, deps.kernels.ownerOf(k.id)));
}

/** A session (live, or ended within retention) the caller may see, or 404. */
export function visibleSession(deps: Pick<OwnershipDeps, 'registry'>, req: FastifyRequest, id: string): SessionRecord {
  const record = deps.registry.get(kernelIdParam(id));
  if (!record || !canAccess(identityOf(req), record.owner)) throw errors.notFound(`Session does not exist: ${id.slice(0, 64)}`);
  return record;
}

/**
 * The owner of what this request starts, and the environment its kernel gets. Normally the
 * caller. A trusted client (a shared Jupyter Server in gateway mode) starts kernels for the user
 * its KERNEL_USERNAME names, and keeps access to them (`via`). Anyone else's KERNEL_USERNAME is
 * not honoured: Jupyter Server sends one whenever its process has the variable (or
 * GatewayClient.http_user), often a container's OS user such as "jovyan", so it is no claim to
 * be someone. In multi-user mode the kernel's KERNEL_USERNAME is always its owner's name, so
 * code in it can rely on it; in single-user mode it is only the kernel's environment, as before.
 */
export function ownerForStart(deps: Pick<OwnershipDeps, 'users'>, req: FastifyRequest, env: unknown): { owner: Owner; env: unknown } {
  const identity = identityOf(req);
  const own = ownerOf(identity);
  if (!deps.users.multiUser) return { owner: own, env };
  const named = kernelUsername(env);
  let owner = own;
  if (named !== undefined && named !== identity.name) {
    if (identity.trusted) {
      const user = deps.users.userNamed(named);
      owner = { user: user.name, team: user.team, via: identity.name };
    } else {
      req.log.info({ user: identity.name, kernel_username: named.slice(0, 128) }, 'KERNEL_USERNAME of an untrusted client not honoured; the kernel is the caller\'s');
    }
  }
  const base = typeof env === 'object' && env !== null && !Array.isArray(env) ? (env as Record<string, unknown>) : {};
  return { owner, env: { ...base, KERNEL_USERNAME: owner.user } };
}

function kernelUsername(env: unknown): string | undefined {
  if (typeof env !== 'object' || env === null) return undefined;
  const value = (env as Record<string, unknown>)['KERNEL_USERNAME'];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
