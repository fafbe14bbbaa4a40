/**
 * The composition root: builds every long-lived object from the frozen config and owns their
 * start/stop order. `start()` and `stop()` are safe to call twice.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { REPO_ROOT, type GatewayConfig } from './config.js';
import { buildServer, type ServerDeps } from './http/server.js';
import { KernelManager } from './kernels/kernel-manager.js';
import type { LauncherRegistry, SessionPlugin } from './kernels/kernel-launcher.js';
import { KernelspecStore } from './kernels/kernelspec-store.js';
import { OrphanGuard } from './kernels/orphan-guard.js';
import type { ProbeFn } from './kernels/python-interpreter.js';
import { RuntimeDir } from './kernels/runtime-dir.js';
import { createLogger, type Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { SessionStore } from './sessions/session-store.js';
import { PortAllocator } from './spark/port-allocator.js';
import { isPortFree } from './spark/port-probe.js';
import { SparkSessionPlugin } from './spark/spark-session-plugin.js';
import { registerSparkSessionRoutes, type ExecutorSource } from './http/routes/spark-sessions.js';
import { SessionRegistry } from './sessions/session-registry.js';
import { DriverLogStore } from './logs/driver-log-store.js';
import type { ExecutorLogSource } from './logs/executor-log-source.js';
import { registerSessionLogRoutes } from './http/routes/session-logs.js';
import { LimitAdmission } from './users/admission.js';
import { JupyterHubClient } from './users/jupyterhub.js';
import { readPolicyFile, type PolicyFile } from './users/policy-file.js';
import { UserDirectory } from './users/users.js';

/**
 * A feature that plugs into the gateway (terminals, Spark UI proxy, executor reaper...): started
 * after the kernel manager, stopped before it, and given the server to add routes to.
 */
export interface GatewayExtension {
  readonly name: string;
  start?(gateway: Gateway): Promise<void>;
  stop?(): Promise<void>;
  registerRoutes?(app: FastifyInstance, deps: ServerDeps): void;
}

export interface GatewayOptions {
  config: GatewayConfig;
  logger?: Logger;
  /** The environment kernels inherit (SPARKGATE_* removed). */
  env?: NodeJS.ProcessEnv;
  /** Session plug-ins after the built-in Spark one (e.g. executor garbage collection). */
  plugins?: readonly SessionPlugin[];
  launchers?: LauncherRegistry;
  extensions?: readonly GatewayExtension[];
  /** Lists a Spark session's executor pods (Kubernetes mode). */
  executors?: ExecutorSource;
  probePython?: ProbeFn;
  /** Executor pod logs (Kubernetes mode); without it executor logs answer 404 (local mode). */
  executorLogs?: ExecutorLogSource;
  /** Tests: the users file already parsed (else config.usersFile is read). */
  policy?: PolicyFile;
  /** Tests: the JupyterHub client (else one for config.jupyterhubApiUrl). */
  hub?: JupyterHubClient;
  /** A registry shared with extensions built before the gateway; made here when absent. */
  metrics?: GatewayMetrics;
  defaultMetrics?: boolean;
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export class Gateway {
  readonly config: GatewayConfig;
  readonly token: string;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly kernelspecs: KernelspecStore;
  readonly kernels: KernelManager;
  readonly sessions: SessionStore;
  readonly spark: SparkSessionPlugin;
  /** Every session (kernels, terminals) with its owner; ended ones kept logRetentionSeconds. */
  readonly registry: SessionRegistry;
  /** Each session's driver output on disk (stateDir/logs/drivers). */
  readonly driverLogs: DriverLogStore;
  /** Who a token belongs to; teams and limits (single-user mode: the shared token only). */
  readonly users: UserDirectory;
  readonly admission: LimitAdmission;
  readonly extensions: readonly GatewayExtension[];
  /** This gateway's own directory under config.runtimeDir (connection and Spark conf files). */
  readonly runtimeDir: string;
  private readonly runtime: RuntimeDir;
  private readonly guard: OrphanGuard;
  private app: FastifyInstance | undefined;
  private ready = false;
  private starting: Promise<string> | undefined;
  private stopping: Promise<void> | undefined;
  private address: string | undefined;

  constructor(private readonly options: GatewayOptions) {
    this.config = options.config;
    const policy = options.policy ?? (options.config.usersFile ? readPolicyFile(options.config.usersFile) : undefined);
    const hub =
      options.hub ??
      (options.config.jupyterhubApiUrl
        ? new JupyterHubClient({ apiUrl: options.config.jupyterhubApiUrl, cacheSeconds: options.config.jupyterhubCacheSeconds })
        : undefined);
    const multiUser = policy !== undefined || hub !== undefined;
    // Single-user mode always has a token (generated when unset); multi-user mode has the shared
    // one only when the operator set it (their admin token), never a generated one.
    this.token = options.config.token || (multiUser ? '' : randomBytes(24).toString('hex'));
    this.users = new UserDirectory({ sharedToken: this.token, policy, hub });
    this.registry = new SessionRegistry({ retainMs: options.config.logRetentionSeconds * 1000 });
    this.logger = options.logger ?? createLogger({ level: options.config.logLevel });
    this.driverLogs = new DriverLogStore({
      dir: DriverLogStore.dirIn(options.config.stateDir),
      maxBytes: options.config.driverLogMaxBytes,
      retentionMs: options.config.logRetentionSeconds * 1000,
      // A kernel it holds (dead ones too: they can be restarted) or a pooled one.
      exists: (id) => this.kernels.find(id) !== undefined || this.kernels.isLive(id),
      registry: this.registry,
      logger: this.logger,
    });
    this.metrics = options.metrics ?? new GatewayMetrics({ defaultMetrics: options.defaultMetrics ?? true });
    this.kernelspecs = new KernelspecStore({
      dirs: options.config.kernelspecDirs,
      defaultName: options.config.defaultKernelName,
      onInvalid: (dir, message) => this.logger.warn({ dir, message }, 'ignoring invalid kernelspec'),
    });
    this.runtime = new RuntimeDir({
      root: options.config.runtimeDir,
      onRemoved: (dir) => this.logger.info({ dir }, 'removed the runtime files of a gateway that is gone'),
    });
    this.runtimeDir = this.runtime.path;
    this.guard = new OrphanGuard({ logger: this.logger, graceMs: options.config.kernelShutdownTimeoutMs });
    this.spark = new SparkSessionPlugin({
      settings: options.config.spark,
      runtimeDir: this.runtimeDir,
      onRendered: (id, conf) => this.registry.setSparkConf(id, conf),
      onNoticeError: (id, err) => this.logger.warn({ kernel_id: id, err: (err as Error).message }, 'could not write the Spark notice file'),
      allocator: new PortAllocator({
        driverPortRange: options.config.spark.driverPortRange,
        blockManagerPortRange: options.config.spark.blockManagerPortRange,
        uiPortRange: options.config.spark.uiPortRange,
        isFree: (port) => isPortFree(port),
      }),
    });
    this.admission = new LimitAdmission({
      registry: this.registry,
      userLimits: (user) => this.users.userLimits(user),
      teamLimits: (team) => this.users.teamLimits(team),
      reservationOf: (spec, userEnv) => this.spark.reservation(spec, userEnv),
    });
    this.kernels = new KernelManager({
      config: options.config,
      registry: this.registry,
      admission: this.admission,
      teamPolicy: (team) => this.users.team(team),
      logger: this.logger,
      metrics: this.metrics,
      kernelspecs: this.kernelspecs,
      parentEnv: options.env ?? process.env,
      runtimeDir: this.runtimeDir,
      processGroups: this.guard,
      // Each run's output goes to the driver log, and to the Spark plug-in, which turns a
      // namespace ResourceQuota refusing executors into one line in the waiting cell.
      openOutput: (id) => {
        const driverLog = this.driverLogs.open(id);
        return (stream, text) => {
          driverLog(stream, text);
          this.spark.onOutput(id, stream, text);
        };
      },
      plugins: [this.spark, ...(options.plugins ?? [])],
      ...(options.launchers ? { launchers: options.launchers } : {}),
      ...(options.probePython ? { probePython: options.probePython } : {}),
    });
    this.sessions = new SessionStore((id) => this.kernels.find(id) !== undefined);
    this.extensions = [
      { name: 'spark-sessions', registerRoutes: registerSparkSessionRoutes(this.spark, options.executors) },
      { name: 'session-logs', registerRoutes: registerSessionLogRoutes({ driver: this.driverLogs, executors: options.executorLogs }) },
      ...(options.extensions ?? []),
    ];
  }

  /** Listen and return the base URL (http://host:port). */
  start(): Promise<string> {
    this.starting ??= (async () => {
      await this.runtime.start();
      await this.guard.start();
      this.driverLogs.start();
      await this.kernels.start();
      for (const ext of this.extensions) await ext.start?.(this);
      this.app = await buildServer(
        {
          config: this.config,
          users: this.users,
          registry: this.registry,
          logger: this.logger,
          metrics: this.metrics,
          kernels: this.kernels,
          kernelspecs: this.kernelspecs,
          sessions: this.sessions,
          version: packageVersion(),
          isReady: () => this.ready && !this.stopping,
        },
        this.extensions.flatMap((ext) => (ext.registerRoutes ? [ext.registerRoutes.bind(ext)] : [])),
      );
      const address = await this.app.listen({ host: this.config.host, port: this.config.port });
      this.address = address;
      this.ready = true;
      this.kernels.startWarmPool();
      this.logger.info({ address, kernelspecs: this.kernelspecs.list().map((s) => s.name) }, 'sparkgate listening');
      return address;
    })();
    return this.starting;
  }

  get url(): string {
    if (!this.address) throw new Error('gateway not started');
    return this.address;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** Stop accepting, shut every kernel down (and its executors), close the server, remove the runtime files. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.ready = false;
      if (this.starting) await this.starting.catch(() => undefined);
      for (const ext of [...this.extensions].reverse()) {
        await ext.stop?.().catch((err: unknown) => this.logger.error({ extension: ext.name, err: (err as Error).message }, 'extension stop failed'));
      }
      await this.kernels.stop();
      await this.driverLogs.stop();
      await this.app?.close();
      await this.guard.stop();
      await this.runtime.stop();
      this.logger.info('sparkgate stopped');
    })();
    return this.stopping;
  }
}
