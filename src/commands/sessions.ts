/**
 * `sparkgate sessions`: what runs on a gateway, kernels and terminals, as a table (or --json).
 * The executors column comes from `GET /api/sparkgate/sessions/{id}/executors` when the gateway
 * answers it, else '-'.
 */
import { Command, Option } from 'commander';
import { apiRequest, CliError, resolveTarget, type GatewayTarget } from '../terminals/gateway-client.js';
import type { TerminalModel } from '../terminals/terminal-models.js';

export interface SessionsFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

interface KernelRow {
  id: string;
  name: string;
  execution_state: string;
  last_activity: string;
  connections: number;
  /** Not in Jupyter's model; shown when a gateway reports it. */
  created?: string;
}

export interface SessionRow {
  type: 'kernel' | 'terminal';
  id: string;
  kind: string;
  state: string;
  created: string | undefined;
  lastActivity: string;
  connections: number;
  executors: number | undefined;
  /** The owner (multi-user mode; `sparkgate` in single-user mode); undefined when not known. */
  user: string | undefined;
}

/** The executor count, whatever shape the route answers with; undefined when it does not. */
export function executorCount(body: unknown): number | undefined {
  if (Array.isArray(body)) return body.length;
  if (body && typeof body === 'object') {
    const o = body as { executors?: unknown; count?: unknown };
    if (Array.isArray(o.executors)) return o.executors.length;
    if (typeof o.count === 'number') return o.count;
  }
  return undefined;
}

async function executors(target: GatewayTarget, sessionId: string | null): Promise<number | undefined> {
  if (!sessionId) return undefined;
  try {
    const body = await apiRequest<unknown>(target, `/api/sparkgate/sessions/${encodeURIComponent(sessionId)}/executors`, { timeoutMs: 3_000 });
    return executorCount(body);
  } catch {
    return undefined;
  }
}

export async function collectSessions(target: GatewayTarget): Promise<SessionRow[]> {
  const kernels = await apiRequest<KernelRow[]>(target, '/api/kernels');
  // A gateway without terminals answers 404 here: show the kernels anyway.
  const terminals = await apiRequest<TerminalModel[]>(target, '/api/terminals').catch((err: unknown) => {
    if (err instanceof CliError && / 404 /.test(err.message)) return [];
    throw err;
  });
  // Owners, from the session list (older gateways do not have it: no USER column values).
  const owners = new Map(
    (await apiRequest<{ id: string; user: string }[]>(target, '/api/sparkgate/sessions?state=live').catch(() => [])).map((r) => [r.id, r.user]),
  );
  const rows: Promise<SessionRow>[] = [
    ...kernels.map(async (k) => ({
      type: 'kernel' as const,
      id: k.id,
      kind: k.name,
      state: k.execution_state,
      created: k.created,
      lastActivity: k.last_activity,
      connections: k.connections,
      executors: await executors(target, k.id),
      user: owners.get(k.id),
    })),
    ...terminals.map(async (t) => ({
      type: 'terminal' as const,
      id: t.name,
      kind: t.kind === 'attached' && t.kernel_id ? `attached:${t.kernel_id.slice(0, 8)}` : t.kind,
      state: t.state,
      created: t.created,
      lastActivity: t.last_activity,
      connections: t.connections,
      executors: await executors(target, t.session_id),
      user: t.session_id ? owners.get(t.session_id) : t.kernel_id ? owners.get(t.kernel_id) : undefined,
    })),
  ];
  return Promise.all(rows);
}

/** 42s, 5m, 3h, 2d. */
export function formatAge(fromIso: string | undefined, now: number): string {
  if (!fromIso) return '-';
  const ms = now - Date.parse(fromIso);
  if (!Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function formatTable(rows: readonly SessionRow[], now: number): string {
  const header = ['TYPE', 'ID', 'KIND', 'USER', 'STATE', 'AGE', 'ACTIVE', 'CONNS', 'EXECUTORS'];
  const cells = rows.map((r) => [
    r.type,
    r.id,
    r.kind,
    r.user ?? '-',
    r.state,
    formatAge(r.created, now),
    `${formatAge(r.lastActivity, now)} ago`,
    String(r.connections),
    r.executors === undefined ? '-' : String(r.executors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

export function registerSessions(program: Command): void {
  program
    .command('sessions')
    .description('list the kernels and terminals running on a gateway')
    .addOption(new Option('--url <url>', 'gateway URL (env SPARKGATE_URL, default http://127.0.0.1:8888)'))
    .addOption(new Option('--token <token>', 'API token (env SPARKGATE_TOKEN)'))
    .addOption(new Option('--json', 'print JSON instead of a table'))
    .action(async (flags: SessionsFlags) => {
      try {
        const rows = await collectSessions(resolveTarget(flags, process.env));
        process.stdout.write(flags.json ? `${JSON.stringify(rows, null, 2)}\n` : rows.length ? formatTable(rows, Date.now()) : 'no kernels or terminals\n');
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        process.stderr.write(`sparkgate: ${err.message}\n`);
        process.exitCode = err.exitCode;
      }
    });
}
