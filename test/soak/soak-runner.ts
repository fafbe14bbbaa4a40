/**
 * The soak: `cycles` create / execute / delete cycles (soak-cycles.ts), `concurrency` in flight,
 * against one gateway process, then the checks that nothing leaked:
 *
 *   warm-up cycles -> quiet -> baseline (GC-settled RSS, heap, fds, children, runtime files)
 *   -> cycles -> quiet -> the same readings -> leftovers -> SIGTERM -> nothing left after exit
 *
 * "Quiet" = no kernel listed, no kernel process, no kernel websocket. Memory is read after a
 * settle period and two full GCs forced through the inspector (RSS: median of 5 readings), so
 * what is compared is what the gateway still holds, not garbage not yet collected. The bounds are
 * absolute (MiB over the whole run): RSS also moves with allocator fragmentation, so its bound is
 * the loose one, and the heap bound is the one that catches a per-cycle leak (1,000 cycles x
 * 4 KiB retained per cycle = 3.9 MiB).
 */
import { CYCLE_KINDS, CycleFailure, cycleKind, runCycle, type CycleContext, type CycleKind } from './soak-cycles.js';
import { SoakGateway, type GatewayEntry } from './soak-gateway.js';
import { childPids, cmdline, descendants, fdCount, filesUnder, percentile, processesMentioning, rssKiB, socketInodes, socketOwner, tcpSockets, TCP_LISTEN } from './process-probe.js';

export interface SoakBounds {
  /** Settled RSS after the run may exceed the baseline by this much. */
  readonly rssGrowthMiB: number;
  /** Settled V8 heap in use after the run may exceed the baseline by this much. */
  readonly heapGrowthMiB: number;
  /** Open fds after the run may exceed the baseline by this many. */
  readonly fdSlack: number;
}

export const DEFAULT_BOUNDS: SoakBounds = { rssGrowthMiB: 20, heapGrowthMiB: 4, fdSlack: 2 };

export interface SoakOptions {
  readonly cycles: number;
  readonly concurrency: number;
  readonly warmupCycles: number;
  readonly kernelName: string;
  readonly entry: GatewayEntry;
  readonly bounds: SoakBounds;
  /** Idle time before memory is read (timers of ended kernels run out). */
  readonly settleMs: number;
  /** Bound on any single wait in a cycle. */
  readonly timeoutMs: number;
  /** A cycle running this long has every kernel's state captured, for its report if it fails. */
  readonly slowCycleMs: number;
  /** Stop early after this many failed cycles (the gateway is broken; the rest would only repeat it). */
  readonly maxFailures: number;
  readonly onProgress?: (done: number, total: number, failures: number) => void;
}

export const DEFAULT_OPTIONS: SoakOptions = {
  cycles: 1000,
  concurrency: 4,
  warmupCycles: 20,
  kernelName: 'python3',
  entry: 'source',
  bounds: DEFAULT_BOUNDS,
  settleMs: 3_000,
  timeoutMs: 60_000,
  slowCycleMs: 30_000,
  maxFailures: 20,
};

export interface Reading {
  readonly rssKiB: number;
  readonly heapUsedBytes: number;
  readonly fds: number;
}

export interface CycleFailureRecord {
  readonly index: number;
  readonly kind: CycleKind;
  readonly error: string;
  /** The gateway's log lines about the cycle's kernel. */
  readonly logs: readonly string[];
}

export interface SoakReport {
  readonly options: SoakOptions;
  readonly cyclesRun: number;
  readonly failures: readonly CycleFailureRecord[];
  /** Cycle durations in ms by kind, and all together. */
  readonly durationsMs: Readonly<Record<CycleKind | 'all', readonly number[]>>;
  readonly wallMs: number;
  readonly before: Reading;
  readonly after: Reading;
  readonly kernelPortsSeen: number;
  readonly gatewayWarnings: readonly string[];
  /** Everything found left over, each a sentence; empty when clean. */
  readonly leftovers: readonly string[];
  readonly exitCode: number | null;
  /** Why the soak fails (failed cycles, leftovers, bounds exceeded); empty when it passes. */
  readonly problems: readonly string[];
}

export async function runSoak(partial: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const options: SoakOptions = { ...DEFAULT_OPTIONS, ...partial, bounds: { ...DEFAULT_BOUNDS, ...partial.bounds } };
  const gateway = await SoakGateway.start({ entry: options.entry, maxKernels: options.concurrency * 2 + 4 });
  try {
    return await soak(gateway, options);
  } finally {
    if (gateway.running) await gateway.stop();
    gateway.removeRuntimeDir();
  }
}

async function soak(gateway: SoakGateway, options: SoakOptions): Promise<SoakReport> {
  const ctx: CycleContext = { gateway, kernelName: options.kernelName, timeoutMs: options.timeoutMs, kernelPorts: new Set(), slowCycleMs: options.slowCycleMs };
  const base = baselineOf(gateway);

  // Warm-up: every code path loaded (lazy imports, first ZeroMQ context, JIT) before the baseline.
  const warm = await runCycles(ctx, 0, options.warmupCycles, options.concurrency, options.maxFailures);
  if (warm.failures.length > 0) {
    const f = warm.failures[0]!;
    throw new Error(`warm-up cycle ${f.index} (${f.kind}) failed: ${f.error}`);
  }
  await waitQuiet(gateway, base, options.timeoutMs);
  await gateway.settleHeap(); // opens the inspector, so its socket is in the baseline fds
  const before = await settledReading(gateway, options.settleMs);

  const started = Date.now();
  const run = await runCycles(ctx, options.warmupCycles, options.cycles, options.concurrency, options.maxFailures, options.onProgress);
  const wallMs = Date.now() - started;

  const problems: string[] = [];
  const leftovers: string[] = [];
  let after = before;
  try {
    await waitQuiet(gateway, base, options.timeoutMs);
  } catch (err) {
    leftovers.push((err as Error).message);
  }
  if (gateway.running) {
    after = await settledReading(gateway, options.settleMs);
    leftovers.push(...(await leftoversWhileRunning(gateway, ctx, base)));
  } else {
    problems.push('the gateway process exited during the soak');
  }

  const exitCode = await gateway.stop();
  if (exitCode !== 0) problems.push(`the gateway exited with ${exitCode} on SIGTERM, expected 0`);
  leftovers.push(...(await leftoversAfterExit(gateway, base)));

  if (run.failures.length > 0) {
    problems.push(`${run.failures.length} of ${run.cyclesRun} cycles failed; first: cycle ${run.failures[0]!.index} (${run.failures[0]!.kind}): ${run.failures[0]!.error}`);
  }
  if (run.cyclesRun < options.cycles) problems.push(`stopped after ${run.cyclesRun} of ${options.cycles} cycles (${options.maxFailures} failures)`);
  problems.push(...leftovers.map((l) => `left over: ${l}`));
  const mib = (bytes: number): number => bytes / (1024 * 1024);
  const rssGrowth = mib((after.rssKiB - before.rssKiB) * 1024);
  if (rssGrowth > options.bounds.rssGrowthMiB) problems.push(`RSS grew ${rssGrowth.toFixed(1)} MiB, bound ${options.bounds.rssGrowthMiB} MiB`);
  const heapGrowth = mib(after.heapUsedBytes - before.heapUsedBytes);
  if (heapGrowth > options.bounds.heapGrowthMiB) problems.push(`V8 heap in use grew ${heapGrowth.toFixed(1)} MiB, bound ${options.bounds.heapGrowthMiB} MiB`);
  if (after.fds > before.fds + options.bounds.fdSlack) problems.push(`open fds ${before.fds} -> ${after.fds}, bound +${options.bounds.fdSlack}`);
  const fatal = gateway.warnings.filter((l) => /"level":("fatal"|60)/.test(l));
  if (fatal.length > 0) problems.push(`the gateway logged ${fatal.length} fatal line(s); first: ${fatal[0]!.slice(0, 300)}`);

  return {
    options,
    cyclesRun: run.cyclesRun,
    failures: run.failures,
    durationsMs: run.durationsMs,
    wallMs,
    before,
    after,
    kernelPortsSeen: ctx.kernelPorts.size,
    gatewayWarnings: gateway.warnings,
    leftovers,
    exitCode,
    problems,
  };
}

/**
 * What the gateway has before any kernel, not counted as leftovers while it runs: its helper
 * processes (tsx's esbuild service when run from source, an orphan guard naming the runtime
 * dir) and its own files in the runtime dir.
 */
interface Baseline {
  readonly children: ReadonlySet<number>;
  readonly files: ReadonlySet<string>;
}

function baselineOf(gateway: SoakGateway): Baseline {
  return { children: new Set(descendants(gateway.pid)), files: new Set(filesUnder(gateway.runtimeDir)) };
}

/** Processes naming the runtime dir (kernels: their connection file) that are not the gateway's helpers. */
function kernelProcesses(gateway: SoakGateway, base: Baseline): { pid: number; cmd: string }[] {
  return processesMentioning(gateway.runtimeDir).filter((p) => !base.children.has(p.pid));
}

interface CyclesResult {
  cyclesRun: number;
  failures: CycleFailureRecord[];
  durationsMs: Record<CycleKind | 'all', number[]>;
}

/** `count` cycles numbered from `first`, `concurrency` at a time. */
async function runCycles(
  ctx: CycleContext,
  first: number,
  count: number,
  concurrency: number,
  maxFailures: number,
  onProgress?: SoakOptions['onProgress'],
): Promise<CyclesResult> {
  const result: CyclesResult = {
    cyclesRun: 0,
    failures: [],
    durationsMs: Object.fromEntries([...CYCLE_KINDS, 'all'].map((k) => [k, []])) as unknown as CyclesResult['durationsMs'],
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && result.failures.length < maxFailures) {
      const index = first + next++;
      const kind = cycleKind(index);
      const t0 = performance.now();
      try {
        const id = await runCycle(ctx, kind);
        const ms = performance.now() - t0;
        result.durationsMs[kind].push(ms);
        result.durationsMs.all.push(ms);
        ctx.gateway.forgetLogs(id);
      } catch (err) {
        // A kernel that did not start is not named to the client: its log lines say start_failed.
        const ids = err instanceof CycleFailure && err.kernelId ? [err.kernelId] : ctx.gateway.startFailures();
        const logs = [...ids.flatMap((id) => ctx.gateway.logsOf(id)), ...(err instanceof CycleFailure ? err.diagnostics : [])];
        for (const id of ids) ctx.gateway.forgetLogs(id);
        result.failures.push({ index, kind, error: (err as Error).message, logs });
      }
      result.cyclesRun++;
      onProgress?.(result.cyclesRun, count, result.failures.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

/** Until no kernel is listed or running and no kernel websocket is open (kernels end asynchronously after DELETE). */
async function waitQuiet(gateway: SoakGateway, base: Baseline, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let state = '';
  for (;;) {
    const listed = JSON.parse((await gateway.request('GET', '/api/kernels')).body) as unknown[];
    const children = descendants(gateway.pid).filter((p) => !base.children.has(p));
    const kernelProcs = kernelProcesses(gateway, base);
    const sockets = await gateway.metric('sparkgate_websocket_connections', { kind: 'kernel' });
    state = `${listed.length} kernel(s) listed, ${children.length} new child process(es), ${kernelProcs.length} kernel process(es), ${sockets} kernel websocket(s)`;
    if (listed.length === 0 && children.length === 0 && kernelProcs.length === 0 && sockets === 0) return;
    if (Date.now() > deadline) throw new Error(`not quiet ${timeoutMs} ms after the last cycle: ${state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function settledReading(gateway: SoakGateway, settleMs: number): Promise<Reading> {
  await new Promise((r) => setTimeout(r, settleMs));
  const { heapUsedBytes } = await gateway.settleHeap();
  await new Promise((r) => setTimeout(r, 500));
  const rss: number[] = [];
  for (let i = 0; i < 5; i++) {
    rss.push(rssKiB(gateway.pid));
    await new Promise((r) => setTimeout(r, 200));
  }
  return { rssKiB: percentile(rss, 50), heapUsedBytes, fds: fdCount(gateway.pid) };
}

async function leftoversWhileRunning(gateway: SoakGateway, ctx: CycleContext, base: Baseline): Promise<string[]> {
  const out: string[] = [];
  for (const pid of childPids(gateway.pid).filter((p) => !base.children.has(p))) out.push(`child process ${pid} of the gateway: ${cmdline(pid)}`);
  for (const p of kernelProcesses(gateway, base)) out.push(`kernel process ${p.pid}: ${p.cmd}`);
  for (const f of filesUnder(gateway.runtimeDir).filter((f) => !base.files.has(f))) out.push(`file ${f} in the runtime dir`);
  // The gateway's own sockets to or on a kernel's port (ZeroMQ connections it never closed).
  const own = socketInodes(gateway.pid);
  const sockets = tcpSockets();
  for (const s of sockets) {
    if (!own.has(s.inode)) continue;
    if (ctx.kernelPorts.has(s.remotePort) || (s.state !== TCP_LISTEN && ctx.kernelPorts.has(s.localPort))) {
      out.push(`gateway socket ${s.localPort} -> ${s.remotePort} (state ${s.state}) to a kernel port`);
    }
  }
  out.push(...listenersOnKernelPorts(gateway, ctx.kernelPorts, sockets));
  const kernels = await gateway.metric('sparkgate_kernels');
  if (kernels !== 0) out.push(`/metrics sparkgate_kernels sums to ${kernels}`);
  return out;
}

/**
 * A kernel port still listening, held by the gateway, a process of its tree or one naming the
 * runtime dir. (Another program may have been given the same port number since: not ours.)
 */
function listenersOnKernelPorts(gateway: SoakGateway, kernelPorts: ReadonlySet<number>, sockets = tcpSockets()): string[] {
  const out: string[] = [];
  for (const s of sockets) {
    if (s.state !== TCP_LISTEN || !kernelPorts.has(s.localPort) || s.inode === 0) continue;
    const owner = socketOwner(s.inode);
    if (owner === undefined) continue;
    const cmd = cmdline(owner);
    if (owner === gateway.pid || cmd.includes(gateway.runtimeDir) || (gateway.running && descendants(gateway.pid).includes(owner))) {
      out.push(`kernel port ${s.localPort} still listening, held by ${owner}: ${cmd}`);
    }
  }
  return out;
}

/**
 * After the gateway's exit: nothing naming its runtime dir still runs (helpers included, once
 * they have had a few seconds to notice), and no file is left in it.
 */
async function leftoversAfterExit(gateway: SoakGateway, base: Baseline): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  while (processesMentioning(gateway.runtimeDir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const out: string[] = [];
  for (const p of processesMentioning(gateway.runtimeDir)) out.push(`after exit: process ${p.pid}${base.children.has(p.pid) ? ' (a helper of the gateway)' : ''}: ${p.cmd}`);
  for (const f of filesUnder(gateway.runtimeDir)) out.push(`after exit: file ${f} in the runtime dir`);
  return out;
}
