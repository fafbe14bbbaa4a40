/**
 * The registry of sessions (kernels) and the gateway policy around them: the kernel limit, idle
 * culling, and stopping everything on gateway shutdown.
 */
import { mkdirSync } from 'node:fs';
import type { GatewayConfig } from '../config.js';
import { errors, isGatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import { launchTimeoutMs, validateKernelEnv } from './kernel-env.js';
import {
  LauncherRegistry,
  ProcessLauncher,
  type LaunchContext,
  type LaunchPlan,
  type SessionEndReason,
  type SessionPlugin,
} from './kernel-launcher.js';
import { Kernel, type KernelDeps, type PrepareContext } from './kernel.js';
import type { Kernelspec, KernelspecStore } from './kernelspec-store.js';
import type { ProcessGroupRegistry } from './orphan-guard.js';
import { findPythonWithIpykernel, missingPythonMessage, type ProbeFn } from './python-interpreter.js';
import { isLive, type SessionState } from './session-state.js';
import { WarmPool } from './warm-pool.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import { POOL_OWNER, type Owner } from '../users/identity.js';
import type { TeamPolicy } from '../users/policy-file.js';
import type { Admission, Ticket } from '../users/admission.js';

export interface KernelManagerDeps {
  config: GatewayConfig;
  logger: Logger;
  metrics: GatewayMetrics;
  kernelspecs: KernelspecStore;
  plugins?: readonly SessionPlugin[];
  launchers?: LauncherRegistry;
  /** The environment kernels inherit (minus SPARKGATE_*). */
  parentEnv?: NodeJS.ProcessEnv;
  probePython?: ProbeFn;
  /** Where connection files go: the gateway's own directory (runtime-dir.ts); config.runtimeDir when absent. */
  runtimeDir?: string;
  /** Told every kernel's process group (the orphan guard). */
  processGroups?: ProcessGroupRegistry;
  /** Where each kernel run's stdout and stderr go (the driver log). */
  openOutput?: KernelDeps['openOutput'];
  /** Every session's owner; kernels are entered when they start (pooled ones when claimed). */
  registry: SessionRegistry;
  /** A team's policy (executor namespace...); teams nobody configured run with the gateway's settings. */
  teamPolicy?: (team: string) => TeamPolicy;
  /** Per-user and per-team limits, checked before anything starts. */
  admission?: Admission;
  now?: () => number;
}

export interface StartKernelRequest {
  name?: string | undefined;
  env?: unknown;
  /** Whose kernel it is (single-user mode: the shared token's user). */
  owner?: Owner;
}

const STATES: SessionState[] = ['starting', 'idle', 'busy', 'restarting', 'terminating', 'dead'];

export class KernelManager {
  private readonly kernels = new Map<string, Kernel>();
  private python: string | undefined;
  private pythonProblem: string | undefined;
  private sparkHomeOfPython: string | undefined;
  private cullTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private readonly launchers: LauncherRegistry;
  private readonly plugins: readonly SessionPlugin[];
  private readonly now: () => number;
  private readonly pool: WarmPool;

  constructor(private readonly deps: KernelManagerDeps) {
    this.plugins = deps.plugins ?? [];
    this.now = deps.now ?? Date.now;
    this.launchers =
      deps.launchers ?? new LauncherRegistry().register(new ProcessLauncher('ipykernel', deps.parentEnv ?? process.env));
    deps.metrics.setKernelStateSource(() => this.stateCounts());
    this.pool = new WarmPool({
      sizes: deps.config.warmPool,
      maxTotal: deps.config.warmPoolMaxTotal,
      logger: deps.logger,
      metrics: deps.metrics,
      create: (name) => this.createKernel(this.deps.kernelspecs.get(name), {}, this.deps.config.kernelStartTimeoutMs),
      warmUp: (kernel) => this.warmUp(kernel),
      refillDelayMs: deps.config.warmPoolRefillDelayMs,
    });
  }

  /** Start filling the warm pool (after the gateway listens: pool starts never delay readiness). */
  startWarmPool(): void {
    if (this.stopping) return;
    for (const { kernelspec } of this.pool.counts()) {
      if (!this.deps.kernelspecs.has(kernelspec)) {
        this.deps.logger.error({ kernelspec }, `warmPool names kernelspec ${kernelspec}, which this gateway does not have; its pool stays empty until it appears`);
      }
    }
    this.pool.start();
  }

  get warmPool(): WarmPool {
    return this.pool;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    mkdirSync(this.runtimeDir, { recursive: true, mode: 0o700 });
    const lookup = await findPythonWithIpykernel({
      configured: this.deps.config.python,
      ...(this.deps.probePython ? { probe: this.deps.probePython } : {}),
    });
    this.python = lookup.interpreter;
    this.sparkHomeOfPython = lookup.sparkHome;
    if (!this.python) {
      this.pythonProblem = missingPythonMessage(lookup);
      this.deps.logger.warn(this.pythonProblem);
    } else {
      this.deps.logger.info({ python: this.python, sparkHome: this.sparkHomeOfPython ?? null }, 'python interpreter with ipykernel');
    }
    const { cullIdleTimeoutSeconds, cullIntervalSeconds } = this.deps.config;
    if (cullIdleTimeoutSeconds > 0) {
      this.cullTimer = setInterval(() => void this.cull(), cullIntervalSeconds * 1000);
      this.cullTimer.unref();
    }
  }

  /** Shut every kernel down (gateway SIGTERM); safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.cullTimer) clearInterval(this.cullTimer);
      this.cullTimer = undefined;
      await this.pool.stop();
      await Promise.allSettled([...this.kernels.values()].map((k) => k.shutdown('gateway_stop')));
      this.kernels.clear();
    })();
    return this.stopping;
  }

  private get runtimeDir(): string {
    return this.deps.runtimeDir ?? this.deps.config.runtimeDir;
  }

  /** Where the interpreter's pyspark finds Spark (SPARK_HOME); undefined without pyspark. */
  get pythonSparkHome(): string | undefined {
    return this.sparkHomeOfPython;
  }

  get pythonInterpreter(): string | undefined {
    return this.python;
  }

  get problems(): string[] {
    return this.pythonProblem ? [this.pythonProblem] : [];
  }

  list(): Kernel[] {
    return [...this.kernels.values()];
  }

  get(id: string): Kernel {
    const kernel = this.kernels.get(id);
    if (!kernel) throw errors.kernelNotFound(id);
    return kernel;
  }

  find(id: string): Kernel | undefined {
    return this.kernels.get(id);
  }

  /** Session ids that are live, pooled ones included (used by the executor reaper). */
  isLive(id: string): boolean {
    const kernel = this.kernels.get(id);
    return (kernel !== undefined && isLive(kernel.state)) || this.pool.has(id);
  }

  liveCount(): number {
    let n = 0;
    for (const k of this.kernels.values()) if (isLive(k.state)) n++;
    return n;
  }

  async startKernel(request: StartKernelRequest): Promise<Kernel> {
    if (this.stopping) throw errors.unavailable('The gateway is shutting down');
    const name = request.name || this.deps.kernelspecs.defaultName;
    const spec = this.deps.kernelspecs.get(name);
    const userEnv = validateKernelEnv(request.env);
    const startTimeoutMs = launchTimeoutMs(userEnv, this.deps.config.kernelStartTimeoutMs);
    this.launchers.for(spec); // throws (503) for a kernelspec whose launcher this gateway lacks
    for (const plugin of this.plugins) plugin.check?.(spec, userEnv);
    if (this.liveCount() >= this.deps.config.maxKernels) throw errors.maxKernels(this.deps.config.maxKernels);
    const owner = request.owner ?? POOL_OWNER;
    // Synchronous from the check to the registry entry: two starts cannot both fit the last slot.
    const ticket = this.deps.admission?.admit(owner, spec, userEnv);

    const startedAt = performance.now();
    let kernel: Kernel;
    let warm: Kernel | undefined;
    try {
      warm = await this.claimWarm(spec, userEnv, owner, ticket);
      kernel = warm ?? (await this.startCold(spec, userEnv, startTimeoutMs, startedAt, owner, ticket));
    } finally {
      ticket?.release();
    }
    this.deps.metrics.kernelStartSeconds.labels(spec.name, 'ok').observe((performance.now() - startedAt) / 1000);
    this.deps.logger.info({ kernel_id: kernel.id, ms: Math.round(performance.now() - startedAt), warm: warm !== undefined }, 'kernel started');
    return kernel;
  }

  private async startCold(
    spec: Kernelspec,
    userEnv: Record<string, string>,
    startTimeoutMs: number,
    startedAt: number,
    owner: Owner,
    ticket: Ticket | undefined,
  ): Promise<Kernel> {
    const kernel = this.createKernel(spec, userEnv, startTimeoutMs);
    this.register(kernel);
    this.deps.registry.begin({ id: kernel.id, owner, kind: 'kernel', kernelspec: spec.name, reservation: ticket?.reservation });
    ticket?.release();
    try {
      await kernel.start();
    } catch (err) {
      this.kernels.delete(kernel.id);
      this.deps.registry.end(kernel.id);
      this.deps.metrics.kernelStartSeconds.labels(spec.name, 'error').observe((performance.now() - startedAt) / 1000);
      if (isGatewayError(err)) throw err;
      this.deps.logger.error({ kernel_id: kernel.id, err: (err as Error).message }, 'kernel failed to start');
      throw errors.kernelStartFailed(`Kernel ${spec.name} failed to start: ${(err as Error).message}`);
    }
    return kernel;
  }

  /**
   * A pooled session for this request, when the pool has one and the request changes nothing
   * the session was started with (pooled sessions start with no KERNEL_* variables).
   */
  private async claimWarm(
    spec: Kernelspec,
    userEnv: Readonly<Record<string, string>>,
    owner: Owner,
    ticket: Ticket | undefined,
  ): Promise<Kernel | undefined> {
    if (!this.pool.serves(spec.name)) return undefined;
    const changed = launchChanges(userEnv, this.deps.config);
    // Pooled sessions were rendered for the gateway's own namespace and executor settings.
    if (!runsLikeThePool(this.teamPolicy(owner.team))) changed.push(`team ${owner.team}`);
    const claims = this.deps.metrics.warmPoolClaims;
    if (changed.length > 0) {
      claims.labels(spec.name, 'changed').inc();
      this.deps.logger.debug({ kernelspec: spec.name, variables: changed }, 'request changes the launch; starting cold');
      return undefined;
    }
    const kernel = this.pool.take(spec.name);
    if (!kernel) {
      claims.labels(spec.name, 'empty').inc();
      return undefined;
    }
    claims.labels(spec.name, 'hit').inc();
    this.register(kernel);
    this.deps.registry.begin({ id: kernel.id, owner, kind: 'kernel', kernelspec: spec.name, reservation: ticket?.reservation });
    ticket?.release();
    kernel.noteClientActivity();
    kernel.adoptUserEnv(userEnv);
    if (Object.keys(userEnv).length > 0 && spec.spec.language.toLowerCase() === 'python') {
      // The variables clients send by habit (KERNEL_USERNAME, ...) reach os.environ as if the
      // kernel had been started with them; silent, so no execution count or output is used up.
      const code = `__import__('os').environ.update(${JSON.stringify(userEnv)})`;
      const reply = await kernel.request('shell', 'execute_request', executeSilently(code), 5_000);
      if (!reply) this.deps.logger.warn({ kernel_id: kernel.id }, 'pooled kernel did not confirm its environment update');
    }
    return kernel;
  }

  /**
   * The kernelspec's `metadata.sparkgate.warmup`, run silently in a pooled session. A warm-up
   * that fails or does not answer within the start timeout fails the pooled start (the pool
   * retries with backoff): a session that cannot run it would not serve a user either.
   */
  private async warmUp(kernel: Kernel): Promise<void> {
    const code = kernel.spec.sparkgate.warmup;
    if (!code) return;
    const startedAt = performance.now();
    const reply = await kernel.request('shell', 'execute_request', executeSilently(code), this.deps.config.kernelStartTimeoutMs);
    const content = reply ? parseReplyContent(reply.content) : undefined;
    if (content?.status !== 'ok') {
      await kernel.shutdown('start_failed');
      const why = content ? `${content.ename ?? content.status}: ${content.evalue ?? ''}` : 'no reply';
      throw new Error(`the warm-up of ${kernel.spec.name} failed (${why})`);
    }
    this.deps.logger.debug({ kernel_id: kernel.id, ms: Math.round(performance.now() - startedAt) }, 'pooled session warmed up');
  }

  private createKernel(spec: Kernelspec, userEnv: Record<string, string>, startTimeoutMs: number): Kernel {
    const launcher = this.launchers.for(spec);
    const kernel = new Kernel(
      { spec, userEnv },
      {
        logger: this.deps.logger,
        runtimeDir: this.runtimeDir,
        ...(this.deps.processGroups ? { processGroups: this.deps.processGroups } : {}),
        ...(this.deps.openOutput ? { openOutput: this.deps.openOutput } : {}),
        startTimeoutMs,
        shutdownTimeoutMs: this.deps.config.kernelShutdownTimeoutMs,
        offlineBufferMessages: this.deps.config.offlineBufferMessages,
        restartLimit: this.deps.config.kernelRestartLimit,
        prepare: (ctx) => this.prepare(ctx, launcher.plan.bind(launcher)),
        onEnd: (id, reason) => this.onEnd(id, reason),
        now: this.now,
      },
    );
    kernel.on('autorestart', (result) => this.deps.metrics.kernelAutoRestarts.labels(spec.name, result).inc());
    return kernel;
  }

  private register(kernel: Kernel): void {
    this.kernels.set(kernel.id, kernel);
    kernel.on('ended', () => {
      this.kernels.delete(kernel.id);
      this.deps.registry.end(kernel.id);
    });
  }

  private teamPolicy(team: string): TeamPolicy {
    return this.deps.teamPolicy?.(team) ?? { name: team };
  }

  /** Whose kernel this is (pooled, unclaimed ones: nobody's, the pool owner). */
  ownerOf(id: string): Owner {
    return this.deps.registry.get(id)?.owner ?? POOL_OWNER;
  }

  private async prepare(
    ctx: PrepareContext,
    plan: (c: LaunchContext) => LaunchPlan,
  ): Promise<{ plan: LaunchPlan; files: string[] }> {
    const owner = this.ownerOf(ctx.kernelId);
    const full = {
      ...ctx,
      config: this.deps.config,
      python: this.python,
      sparkHome: this.sparkHomeOfPython,
      owner,
      team: this.teamPolicy(owner.team),
    };
    const launch = plan(full);
    const files: string[] = [];
    for (const plugin of this.plugins) {
      if (!plugin.prepare) continue;
      const contribution = await plugin.prepare(full);
      Object.assign(launch.env, contribution.env ?? {});
      files.push(...(contribution.files ?? []));
    }
    return { plan: launch, files };
  }

  private async onEnd(id: string, reason: SessionEndReason): Promise<void> {
    for (const plugin of this.plugins) {
      if (!plugin.onEnd) continue;
      try {
        await plugin.onEnd(id, reason);
      } catch (err) {
        this.deps.logger.error({ kernel_id: id, plugin: plugin.name, err: (err as Error).message }, 'session end plug-in failed');
      }
    }
  }

  async shutdownKernel(id: string, reason: SessionEndReason = 'shutdown'): Promise<void> {
    const kernel = this.get(id);
    await kernel.shutdown(reason);
    this.kernels.delete(id);
  }

  async restartKernel(id: string): Promise<Kernel> {
    const kernel = this.get(id);
    if (kernel.state === 'starting' || kernel.state === 'restarting' || kernel.state === 'terminating') {
      throw errors.kernelNotReady(`Kernel ${id} is ${kernel.state}; try again when it is idle`);
    }
    try {
      await kernel.restart();
    } catch (err) {
      if (isGatewayError(err)) throw err;
      throw errors.kernelStartFailed(`Kernel ${id} failed to restart: ${(err as Error).message}`);
    }
    return kernel;
  }

  async interruptKernel(id: string): Promise<void> {
    const kernel = this.get(id);
    if (!isLive(kernel.state)) throw errors.kernelNotReady(`Kernel ${id} is ${kernel.state}`);
    await kernel.interrupt();
  }

  /** Jupyter's culling: idle (never busy) kernels past the timeout; connected ones only if cullConnected. */
  async cull(): Promise<void> {
    const { cullIdleTimeoutSeconds, cullConnected } = this.deps.config;
    if (cullIdleTimeoutSeconds <= 0) return;
    const cutoff = this.now() - cullIdleTimeoutSeconds * 1000;
    const victims = this.list().filter(
      (k) =>
        (k.state === 'idle' || k.state === 'dead') &&
        k.lastActivity < cutoff &&
        (cullConnected || k.connections === 0),
    );
    await Promise.allSettled(
      victims.map(async (k) => {
        this.deps.logger.info({ kernel_id: k.id, idle_s: Math.round((this.now() - k.lastActivity) / 1000) }, 'culling idle kernel');
        this.deps.metrics.kernelsCulled.inc();
        await this.shutdownKernel(k.id, 'culled');
      }),
    );
  }

  private stateCounts(): Map<SessionState, number> {
    const counts = new Map<SessionState, number>(STATES.map((s) => [s, 0]));
    for (const k of this.kernels.values()) if (k.state !== 'ended') counts.set(k.state, (counts.get(k.state) ?? 0) + 1);
    return counts;
  }
}

/**
 * The request's KERNEL_* variables that shape a launch, so a pooled session (started with none)
 * cannot serve it: all but warmPoolIgnoredEnv, which only matter inside the kernel, and
 * KERNEL_LAUNCH_TIMEOUT, the gateway's own. KERNEL_WORKING_DIR counts when mirrorWorkingDirs is on.
 */
export function launchChanges(
  userEnv: Readonly<Record<string, string>>,
  config: Pick<GatewayConfig, 'warmPoolIgnoredEnv' | 'mirrorWorkingDirs'>,
): string[] {
  return Object.keys(userEnv).filter((key) => {
    if (key === 'KERNEL_LAUNCH_TIMEOUT') return false;
    if (key === 'KERNEL_WORKING_DIR' && config.mirrorWorkingDirs) return true;
    return !config.warmPoolIgnoredEnv.includes(key);
  });
}

/** A team whose sessions render exactly like a pooled session (gateway namespace and executor settings). */
function runsLikeThePool(team: TeamPolicy): boolean {
  return team.namespace === undefined && team.serviceAccount === undefined && team.executorPodTemplateFile === undefined;
}

/** An execute_reply's status and error, read from its content bytes (undefined if unreadable). */
function parseReplyContent(bytes: Buffer): { status?: string; ename?: string; evalue?: string } | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as { status?: string; ename?: string; evalue?: string }) : undefined;
  } catch {
    return undefined;
  }
}

function executeSilently(code: string): Record<string, unknown> {
  return { code, silent: true, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: false };
}
