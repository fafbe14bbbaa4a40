/**
 * Terminals as a gateway extension: the TerminalManager, the terminals API and websocket, and
 * the web shell page. Started after the kernel manager (attached terminals look kernels up),
 * stopped before it (every terminal's process group ends first).
 *
 * The session hooks are where Spark plugs in: `prepareSession` renders the conf of a session a
 * terminal owns (env, and spark-submit args such as `--properties-file`), `onSessionEnd`
 * garbage-collects its executors.
 */
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { Gateway, GatewayExtension } from '../gateway.js';
import type { ServerDeps } from '../http/server.js';
import { registerTerminalRoutes } from '../http/routes/terminals.js';
import type { PtySpawn } from './pty-process.js';
import { ReplLauncher, type FindExecutable, type ModuleProbe } from './repl-launcher.js';
import { TerminalManager, type OnSessionEnd, type PrepareSession, type TerminalOptionsInput } from './terminal-manager.js';
import type { Timers } from './terminal.js';
import { registerWebShell } from './web-shell.js';

export interface TerminalsExtensionOptions {
  /** Limits and timeouts over the gateway's settings (maxTerminals, terminal*Seconds). */
  terminals?: TerminalOptionsInput;
  prepareSession?: PrepareSession;
  onSessionEnd?: OnSessionEnd;
  /** The environment REPLs inherit (SPARKGATE_* removed); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Interpreter for plain Python REPLs; the kernels' Python, else /usr/bin/python3. */
  python?: string;
  /** Show the web shell at /shell (default true). */
  webShell?: boolean;
  spawn?: PtySpawn;
  now?: () => number;
  timers?: Timers;
  findExecutable?: FindExecutable;
  probeModule?: ModuleProbe;
}

export class TerminalsExtension implements GatewayExtension {
  readonly name = 'terminals';
  private manager: TerminalManager | undefined;

  constructor(private readonly options: TerminalsExtensionOptions = {}) {}

  get terminals(): TerminalManager {
    if (!this.manager) throw new Error('terminals extension not started');
    return this.manager;
  }

  async start(gateway: Gateway): Promise<void> {
    if (this.manager) return;
    const o = this.options;
    const kernelPython = gateway.kernels.pythonInterpreter;
    const systemPython = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const logger = gateway.logger.child({ component: 'terminals' });
    const launcher = new ReplLauncher({
      parentEnv: o.env ?? process.env,
      python: o.python ?? kernelPython ?? systemPython,
      // The kernels' Python only: its jupyter-console matches the kernels' jupyter_client.
      consolePythons: kernelPython ? [kernelPython] : [],
      runtimeDir: gateway.config.runtimeDir,
      warn: (message) => logger.warn(message),
      ...(o.findExecutable ? { findExecutable: o.findExecutable } : {}),
      ...(o.probeModule ? { probeModule: o.probeModule } : {}),
    });
    const manager = new TerminalManager({
      logger,
      launcher,
      kernels: gateway.kernels,
      workDir: gateway.config.workDir,
      options: {
        maxTerminals: gateway.config.maxTerminals,
        idleTimeoutMs: (gateway.config.terminalIdleTimeoutSeconds ?? gateway.config.cullIdleTimeoutSeconds) * 1000,
        detachedGraceMs: gateway.config.terminalDetachedGraceSeconds * 1000,
        ...o.terminals,
      },
      ...(o.prepareSession ? { prepareSession: o.prepareSession } : {}),
      ...(o.onSessionEnd ? { onSessionEnd: o.onSessionEnd } : {}),
      ...(o.spawn ? { spawn: o.spawn } : {}),
      ...(o.now ? { now: o.now } : {}),
      ...(o.timers ? { timers: o.timers } : {}),
    });
    new Gauge({
      name: 'sparkgate_terminals',
      help: 'Running terminals by kind',
      labelNames: ['kind'] as const,
      registers: [gateway.metrics.registry],
      collect() {
        this.reset();
        for (const t of manager.list()) this.labels(t.kind).inc();
      },
    });
    manager.start();
    this.manager = manager;
  }

  registerRoutes(app: FastifyInstance, deps: ServerDeps): void {
    registerTerminalRoutes(app, deps, this.terminals);
    if (this.options.webShell ?? true) registerWebShell(app);
  }

  async stop(): Promise<void> {
    await this.manager?.stop();
  }
}
