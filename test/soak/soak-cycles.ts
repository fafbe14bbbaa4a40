/**
 * One soak cycle: create a kernel over REST, run cells over its websocket, delete it, and check
 * it is gone. Most cycles are the plain path; the rest are the churn real clients cause:
 *
 *   execute         v1 websocket, `1+1` must be 2, polite close, DELETE
 *   legacy-execute  the same over the legacy protocol (Jupyter Server's), DELETE with the
 *                   websocket still open: the gateway must close it (1000)
 *   delete-running  DELETE while `time.sleep` runs: the websocket is closed, the cell never answers
 *   drop-websocket  the TCP connection dropped (no close frame) mid-cell; a new client interrupts
 *                   and the kernel still answers `1+1`
 *   interrupt       POST /interrupt mid-cell: KeyboardInterrupt, then `1+1`
 *   restart         POST /restart: same id, new process, `1+1` on the same websocket
 *
 * A cycle throws (with what was wrong) on any unexpected answer.
 */
import path from 'node:path';
import type { WsProtocol } from '../../src/wire/ws-codec.js';
import { filesUnder } from './process-probe.js';
import { connectionFilePorts, kernelDiagnostics } from './start-diagnostics.js';
import type { SoakGateway } from './soak-gateway.js';
import { SoakKernelClient, type ExecuteOutcome } from './soak-kernel-client.js';

export const CYCLE_KINDS = ['execute', 'legacy-execute', 'delete-running', 'drop-websocket', 'interrupt', 'restart'] as const;
export type CycleKind = (typeof CYCLE_KINDS)[number];

/** Ten cycles in a row: 40% plain, 60% churn. */
const ROTATION: readonly CycleKind[] = [
  'execute',
  'delete-running',
  'execute',
  'drop-websocket',
  'legacy-execute',
  'interrupt',
  'execute',
  'restart',
  'execute',
  'delete-running',
];

export function cycleKind(index: number): CycleKind {
  return ROTATION[index % ROTATION.length]!;
}

/** Prints once it runs (see Execution.printed); long enough never to finish within a cycle. */
const SLEEP_CELL = 'import time\nprint("sleeping", flush=True)\ntime.sleep(120)';

export interface CycleContext {
  readonly gateway: SoakGateway;
  readonly kernelName: string;
  /** Bound on every single wait (a start, a reply, a close). */
  readonly timeoutMs: number;
  /** Ports of every kernel seen (from its connection file), for the leftover check. */
  readonly kernelPorts: Set<number>;
  /** A cycle still running after this long has the state of every kernel captured (kernelDiagnostics). */
  readonly slowCycleMs: number;
}

/**
 * A failed cycle: what was wrong, the kernel it was about (none when it did not start), and the
 * state of the kernels captured if the cycle was slow.
 */
export class CycleFailure extends Error {
  constructor(
    message: string,
    readonly kernelId: string | undefined,
    readonly diagnostics: readonly string[],
  ) {
    super(message);
  }
}

/** Runs one cycle; returns the id of its kernel. Throws CycleFailure. */
export async function runCycle(ctx: CycleContext, kind: CycleKind): Promise<string> {
  let diagnostics: string[] = [];
  const watchdog = setTimeout(() => {
    diagnostics = [`still running after ${ctx.slowCycleMs} ms:`, ...kernelDiagnostics(ctx.gateway.pid, ctx.gateway.runtimeDir)];
  }, ctx.slowCycleMs);
  try {
    return await cycle(ctx, kind);
  } catch (err) {
    if (err instanceof CycleFailure) throw new CycleFailure(err.message, err.kernelId, diagnostics);
    throw new CycleFailure((err as Error).message, undefined, diagnostics);
  } finally {
    clearTimeout(watchdog);
  }
}

async function cycle(ctx: CycleContext, kind: CycleKind): Promise<string> {
  const { gateway } = ctx;
  const created = await gateway.request('POST', '/api/kernels', { name: ctx.kernelName });
  if (created.status !== 201) throw new Error(`POST /api/kernels -> HTTP ${created.status} ${created.body.slice(0, 300)}`);
  const id = (JSON.parse(created.body) as { id: string }).id;
  let deleted = false;
  const clients: SoakKernelClient[] = [];
  const connect = async (protocol: WsProtocol = 'v1'): Promise<SoakKernelClient> => {
    const c = await SoakKernelClient.connect({ url: gateway.url, token: gateway.token, kernelId: id, protocol, timeoutMs: ctx.timeoutMs });
    clients.push(c);
    return c;
  };
  const remove = async (): Promise<void> => {
    deleted = true;
    const res = await gateway.request('DELETE', `/api/kernels/${id}`);
    if (res.status !== 204) throw new Error(`DELETE -> HTTP ${res.status} ${res.body.slice(0, 200)}`);
  };
  try {
    notePorts(ctx, id);
    switch (kind) {
      case 'execute': {
        const ws = await connect();
        expectTwo(await ws.execute('1+1').done);
        await ws.close();
        await remove();
        break;
      }
      case 'legacy-execute': {
        const ws = await connect('legacy');
        expectTwo(await ws.execute('1+1').done);
        await remove();
        const closed = await within(ws.closed, ctx.timeoutMs, 'the gateway closing the websocket of a deleted kernel');
        if (!closed.startsWith('1000')) throw new Error(`websocket of a deleted kernel closed with ${closed}, expected 1000`);
        break;
      }
      case 'delete-running': {
        const ws = await connect();
        expectTwo(await ws.execute('1+1').done);
        const running = ws.execute(SLEEP_CELL, { stopOnError: false });
        await within(running.printed, ctx.timeoutMs, 'the cell to run');
        await remove();
        await within(ws.closed, ctx.timeoutMs, 'the gateway closing the websocket of a deleted kernel');
        const settled = await running.done.then(
          (o) => `answered ${JSON.stringify(o)}`,
          () => 'closed',
        );
        if (settled !== 'closed') throw new Error(`a cell of a deleted kernel ${settled}`);
        break;
      }
      case 'drop-websocket': {
        const ws = await connect();
        expectTwo(await ws.execute('1+1').done);
        const running = ws.execute(SLEEP_CELL, { stopOnError: false });
        await within(running.printed, ctx.timeoutMs, 'the cell to run');
        await ws.terminate();
        const again = await connect();
        await expectStatus(gateway.request('POST', `/api/kernels/${id}/interrupt`), 204, 'interrupt');
        expectTwo(await again.execute('1+1').done);
        await again.close();
        await remove();
        break;
      }
      case 'interrupt': {
        const ws = await connect();
        const running = ws.execute(SLEEP_CELL, { stopOnError: false });
        await within(running.printed, ctx.timeoutMs, 'the cell to run');
        await expectStatus(gateway.request('POST', `/api/kernels/${id}/interrupt`), 204, 'interrupt');
        const outcome = await running.done;
        if (outcome.status !== 'error' || outcome.ename !== 'KeyboardInterrupt') {
          throw new Error(`interrupted cell answered ${JSON.stringify(outcome)}, expected KeyboardInterrupt`);
        }
        expectTwo(await ws.execute('1+1').done);
        await ws.close();
        await remove();
        break;
      }
      case 'restart': {
        const ws = await connect();
        expectTwo(await ws.execute('1+1').done);
        await expectStatus(gateway.request('POST', `/api/kernels/${id}/restart`), 200, 'restart');
        notePorts(ctx, id);
        expectTwo(await (ws.isOpen ? ws : await connect()).execute('1+1').done);
        await ws.close();
        await remove();
        break;
      }
      default: {
        const unknown: never = kind;
        throw new Error(`unknown cycle kind ${String(unknown)}`);
      }
    }
    const after = await gateway.request('GET', `/api/kernels/${id}`);
    if (after.status !== 404) throw new Error(`GET of a deleted kernel -> HTTP ${after.status}, expected 404`);
    return id;
  } catch (err) {
    // What the gateway says of the kernel at the moment of failure.
    const model = await gateway.request('GET', `/api/kernels/${id}`).catch((e: Error) => ({ status: 0, body: e.message }));
    throw new CycleFailure(`${(err as Error).message} [kernel ${id} then: HTTP ${model.status} ${model.body.slice(0, 200)}]`, id, []);
  } finally {
    for (const c of clients) if (c.isOpen) await c.terminate();
    // A failed cycle must not leave its kernel to be counted as a leak as well.
    if (!deleted) await gateway.request('DELETE', `/api/kernels/${id}`).catch(() => undefined);
  }
}

function expectTwo(outcome: ExecuteOutcome): void {
  if (outcome.status !== 'ok' || outcome.result !== '2') throw new Error(`1+1 answered ${JSON.stringify(outcome)}`);
}

async function expectStatus(response: Promise<{ status: number; body: string }>, status: number, what: string): Promise<void> {
  const res = await response;
  if (res.status !== status) throw new Error(`${what} -> HTTP ${res.status} ${res.body.slice(0, 200)}, expected ${status}`);
}

function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The ports of a kernel's connection file, found anywhere under the runtime dir (the gateway may keep its files in a subdirectory of its own). */
function notePorts(ctx: CycleContext, id: string): void {
  const name = `kernel-${id}.json`;
  const file = filesUnder(ctx.gateway.runtimeDir).find((f) => path.basename(f) === name);
  if (!file) throw new Error(`no connection file ${name} under the runtime dir`);
  for (const port of connectionFilePorts(path.join(ctx.gateway.runtimeDir, file))) ctx.kernelPorts.add(port);
}
