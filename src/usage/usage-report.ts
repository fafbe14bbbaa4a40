/**
 * Usage lines summed into the rows `GET /api/sparkgate/usage` answers with: per session, user or
 * team, plus totals. Pure.
 *
 * Time ranges: a line covers (from, to]. A line partly inside the queried range counts with the
 * share of its interval that is inside (usage is assumed even within one flush interval, which
 * is usageFlushSeconds long, so a range boundary is exact to within one interval's usage);
 * jobs are whole and count in the range that holds the line's `to`.
 */
import type { Owner } from '../users/identity.js';
import { addFigures, iso, zeroFigures, type UsageFigures, type UsageLine } from './usage-records.js';

export const GROUP_BY = ['session', 'user', 'team'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface UsageQuery {
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
  readonly user?: string | undefined;
  readonly team?: string | undefined;
  readonly groupBy: GroupBy;
  /** Whose usage the caller may see (identity.ts canAccess). */
  readonly visible: (owner: Owner) => boolean;
}

interface Group {
  readonly key: string;
  readonly first: UsageLine;
  readonly sessions: Set<string>;
  readonly users: Set<string>;
  readonly teams: Set<string>;
  fromMs: number;
  toMs: number;
  readonly figures: UsageFigures;
}

/** Figures as the wire carries them: snake_case, rounded to milli-units (floating-point noise). */
export type WireFigures = {
  executor_core_seconds: number;
  executor_memory_byte_seconds: number;
  driver_core_seconds: number;
  driver_memory_byte_seconds: number;
  jobs: number;
};

export interface UsageReportBody {
  from: string | null;
  to: string | null;
  group_by: GroupBy;
  rows: Record<string, unknown>[];
  totals: WireFigures & { sessions: number };
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

export function wireFigures(f: UsageFigures): WireFigures {
  return {
    executor_core_seconds: round(f.executorCoreSeconds),
    executor_memory_byte_seconds: round(f.executorMemoryByteSeconds),
    driver_core_seconds: round(f.driverCoreSeconds),
    driver_memory_byte_seconds: round(f.driverMemoryByteSeconds),
    jobs: f.jobs,
  };
}

export class UsageReport {
  private readonly groups = new Map<string, Group>();
  private readonly sessions = new Set<string>();
  private readonly totals = zeroFigures();

  constructor(private readonly query: UsageQuery) {}

  /** Count one line (ignored when not visible, filtered out, or outside the range). */
  add(line: UsageLine): void {
    const q = this.query;
    const owner: Owner = line.via === undefined ? { user: line.user, team: line.team } : { user: line.user, team: line.team, via: line.via };
    if (!q.visible(owner)) return;
    if (q.user !== undefined && line.user !== q.user) return;
    if (q.team !== undefined && line.team !== q.team) return;
    const fromMs = Date.parse(line.from);
    const toMs = Date.parse(line.to);
    const lo = Math.max(fromMs, q.fromMs ?? Number.NEGATIVE_INFINITY);
    const hi = Math.min(toMs, q.toMs ?? Number.POSITIVE_INFINITY);
    const fraction = toMs > fromMs ? Math.max(0, hi - lo) / (toMs - fromMs) : lo <= hi ? 1 : 0;
    const jobs = (q.fromMs === undefined || toMs > q.fromMs) && (q.toMs === undefined || toMs <= q.toMs);
    if (fraction === 0 && !(jobs && line.jobs > 0)) return;

    const key = q.groupBy === 'session' ? line.session : q.groupBy === 'user' ? line.user : line.team;
    let group = this.groups.get(key);
    if (!group) {
      group = { key, first: line, sessions: new Set(), users: new Set(), teams: new Set(), fromMs: lo, toMs: hi, figures: zeroFigures() };
      this.groups.set(key, group);
    }
    group.sessions.add(line.session);
    group.users.add(line.user);
    group.teams.add(line.team);
    group.fromMs = Math.min(group.fromMs, lo);
    group.toMs = Math.max(group.toMs, hi);
    addFigures(group.figures, line, { fraction, jobs });
    addFigures(this.totals, line, { fraction, jobs });
    this.sessions.add(line.session);
  }

  body(): UsageReportBody {
    const q = this.query;
    const rows = [...this.groups.values()]
      .sort((a, b) => a.fromMs - b.fromMs || a.key.localeCompare(b.key))
      .map((g) => ({ ...this.rowKey(g), from: iso(g.fromMs), to: iso(g.toMs), ...wireFigures(g.figures) }));
    return {
      from: q.fromMs === undefined ? null : iso(q.fromMs),
      to: q.toMs === undefined ? null : iso(q.toMs),
      group_by: q.groupBy,
      rows,
      totals: { sessions: this.sessions.size, ...wireFigures(this.totals) },
    };
  }

  private rowKey(g: Group): Record<string, unknown> {
    switch (this.query.groupBy) {
      case 'session':
        return { session: g.key, user: g.first.user, team: g.first.team, kernelspec: g.first.kernelspec, namespace: g.first.namespace };
      case 'user':
        return { user: g.key, teams: [...g.teams].sort(), sessions: g.sessions.size };
      case 'team':
        return { team: g.key, users: g.users.size, sessions: g.sessions.size };
      default: {
        const never: never = this.query.groupBy;
        throw new Error(`unknown group_by ${String(never)}`);
      }
    }
  }
}
