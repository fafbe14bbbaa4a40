/**
 * Jupyter "sessions" (`/api/sessions`): a notebook path bound to a kernel, for clients that talk
 * to sparkgate directly (JupyterLab's SessionManager). In memory: a restarted gateway has no
 * kernels either. Rows whose kernel is gone are pruned, as Jupyter Server does.
 */
import { randomUUID } from 'node:crypto';
import { errors } from '../errors.js';
import type { Owner } from '../users/identity.js';

export interface SessionRow {
  id: string;
  /** Who created it; only they (and admins) see it. */
  owner: Owner;
  path: string;
  name: string;
  type: string;
  kernelId: string;
}

export class SessionStore {
  private readonly rows = new Map<string, SessionRow>();

  constructor(private readonly kernelExists: (id: string) => boolean) {}

  create(row: Omit<SessionRow, 'id'>): SessionRow {
    const created = { ...row, id: randomUUID() };
    this.rows.set(created.id, created);
    return created;
  }

  list(): SessionRow[] {
    this.prune();
    return [...this.rows.values()];
  }

  get(id: string): SessionRow {
    this.prune();
    const row = this.rows.get(id);
    if (!row) throw errors.sessionNotFound(id);
    return row;
  }

  update(id: string, patch: Partial<Omit<SessionRow, 'id'>>): SessionRow {
    const row = this.get(id);
    const updated = { ...row, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    this.rows.set(id, updated);
    return updated;
  }

  delete(id: string): SessionRow {
    const row = this.get(id);
    this.rows.delete(id);
    return row;
  }

  private prune(): void {
    for (const [id, row] of this.rows) if (!this.kernelExists(row.kernelId)) this.rows.delete(id);
  }
}
