/**
 * The registry of terminals and the policy around them: the terminal limit, names, what each
 * request runs (repl-launcher.ts), the Spark session a terminal owns (prepareSession before,
 * onSessionEnd after), attached terminals following their kernel, culling, and stopping
 * everything on gateway stop.
 *
 * Culling, every `cullIntervalMs`: a terminal with no input or output for `idleTimeoutMs`, or
 * with no websocket for `detachedGraceMs` (the window in which a dropped client can come back
 * and get its scrollback), is ended. 0 turns either off.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { errors, isGatewayError } from '../errors.js';
import type { Kernel } from '../kernels/kernel.js';
import type { Logger } from '../logger.js';
import { POOL_OWNER, type Owner } from '../users/identity.js';
import { spawnPty, type PtySpawn } from './pty-process.js';
import type { ReplLauncher, SparkKind } from './repl-launcher.js';
import type { CreateTerminalBody, TerminalModel } from './terminal-models.js';
import { realTimers, Terminal, type TerminalInit, type Timers } from './terminal.js';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const terminalOptionsSchema = z
  .object({
    maxTerminals: int(1, 10_000).default(16),
    idleTimeoutMs: int(0, 2 ** 31 - 1).default(0),
    detachedGraceMs: int(0, 2 ** 31 - 1).default(15 * 60_000),
    cullIntervalMs: int(10, 86_400_000).default(30_000),
    scrollbackBytes: int(0, 64 * 1024 * 1024).default(256 * 1024),
    highWaterBytes: int(1024, 1024 * 1024 * 1024).default(256 * 1024),
    lowWaterBytes: int(0, 1024 * 1024 * 1024).default(32 * 1024),
    stallTimeoutMs: int(100, 3_600_000).default(60_000),
    killTimeoutMs: int(10, 120_000).default(3_000),
    /** One stdin frame larger than this closes the websocket (1009). */
    maxStdinFrameBytes: int(1, 64 * 1024 * 1024).default(1024 * 1024),
    /** Input the REPL has not read yet; above it the websocket is paused until it drains. */
    maxStdinBacklogBytes: int(1, 64 * 1024 * 1024).default(256 * 1024),
  })
  .strict()
  .refine((o) => o.lowWaterBytes < o.highWaterBytes, { message: 'lowWaterBytes must be below highWaterBytes' });
export type TerminalOptions = Readonly<z.infer<typeof terminalOptionsSchema>>;
export type TerminalOptionsInput = z.input<typeof terminalOptionsSchema>;

/** The session's rendered Spark conf for a terminal-owned session. */
export type PrepareSession = (sessionId: string, kind: SparkKind, owner: Owner) => Promise<{ env: Record<string, string>; args: string[] }>;
export type OnSessionEnd = (sessionId: string) => Promise<void> | void;

export interface TerminalManagerDeps {
  logger: Logger;
  launcher: ReplLauncher;
  kernels: { get(id: string): Kernel };
  workDir: string;
  options?: TerminalOptionsInput;
  prepareSession?: PrepareSession;
  onSessionEnd?: OnSessionEnd;
  spawn?: PtySpawn;
  now?: () => number;
  timers?: Timers;
  newName?: () => string;
  newSessionId?: () => string;
}

const noSession: PrepareSession = async () => ({ env: {}, args: [] });

export class TerminalManager {
  readonly options: TerminalOptions;
  private readonly terminals = new Map<string, Terminal>();
  /** Who created each terminal (the routes show a terminal only to its owner and admins). */
  private readonly owners = new Map<string, Owner>();
  /** Names being set up (async work before the process starts) count against the limit. */
  private readonly reserved = new Set<string>();
  private readonly now: () => number;
  private readonly timers: Timers;
  private cullTimer: unknown;
  private readonly sessionEnds = new Set<Promise<void>>();
  private stopping: Promise<void> | undefined;

  constructor(private readonly deps: TerminalManagerDeps) {
    const parsed = terminalOptionsSchema.safeParse(deps.options ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`invalid terminal option ${issue.path.join('.') || '(options)'}: ${issue.message} (e.g. { maxTerminals: 16 })`);
    }
    this.options = Object.freeze(parsed.data);
    this.now = deps.now ?? Date.now;
    this.timers = deps.timers ?? realTimers;
  }

  start(): void {
    if (this.cullTimer !== undefined || this.stopping) return;
    if (this.options.idleTimeoutMs > 0 || this.options.detachedGraceMs > 0) this.scheduleCull();
  }

  /** End every terminal (process groups included); safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.cullTimer !== undefined) this.timers.clearTimeout(this.cullTimer);
      this.cullTimer = undefined;
      await Promise.allSettled(this.list().map((t) => t.kill('gateway_stop')));
      // Session-end work (executor GC) of the terminals that just ended.
      await Promise.allSettled([...this.sessionEnds]);
    })();
    return this.stopping;
  }

  list(): Terminal[] {
    return [...this.terminals.values()];
  }

  get(name: string): Terminal {
    const terminal = this.terminals.get(name);
    if (!terminal) throw errors.terminalNotFound(name.slice(0, 64));
    return terminal;
  }

  find(name: string): Terminal | undefined {
    return this.terminals.get(name);
  }

  ownerOf(name: string): Owner {
    return this.owners.get(name) ?? POOL_OWNER;
  }

  model(t: Terminal): TerminalModel {
    return {
      name: t.name,
      last_activity: new Date(t.lastActivity).toISOString(),
      created: new Date(t.createdAt).toISOString(),
      kind: t.kind,
      state: t.state,
      kernel_id: t.kernelId ?? null,
      session_id: t.sessionId ?? null,
      connections: t.connections,
    };
  }

  async create(request: CreateTerminalBody, owner: Owner = POOL_OWNER): Promise<Terminal> {
    if (this.stopping) throw errors.unavailable('The gateway is shutting down');
    const name = request.name ?? this.freshName();
    if (this.terminals.has(name) || this.reserved.has(name)) throw errors.terminalExists(name);
    const max = this.options.maxTerminals;
    if (this.terminals.size + this.reserved.size >= max) throw errors.maxTerminals(max);
    this.reserved.add(name);
    try {
      return await this.launch(name, request, owner);
    } finally {
      this.reserved.delete(name);
    }
  }

  async shutdown(name: string): Promise<void> {
    await this.get(name).kill('shutdown');
  }

  /** Idle and long-detached terminals; the culling timer calls it, tests may too. */
  async cull(): Promise<void> {
    const { idleTimeoutMs, detachedGraceMs } = this.options;
    const now = this.now();
    const victims: Promise<void>[] = [];
    for (const t of this.list()) {
      if (t.state !== 'running') continue;
      const detached = t.detachedSince;
      if (idleTimeoutMs > 0 && now - t.lastActivity >= idleTimeoutMs) {
        this.deps.logger.info({ terminal: t.name, idle_s: Math.round((now - t.lastActivity) / 1000) }, 'culling idle terminal');
        victims.push(t.kill('culled'));
      } else if (detachedGraceMs > 0 && detached !== undefined && now - detached >= detachedGraceMs) {
        this.deps.logger.info({ terminal: t.name }, 'ending terminal nobody reconnected to');
        victims.push(t.kill('detached'));
      }
    }
    await Promise.allSettled(victims);
  }

  private scheduleCull(): void {
    this.cullTimer = this.timers.setTimeout(() => {
      if (this.stopping) return;
      this.scheduleCull();
      void this.cull(); // kill() is idempotent, so an overlapping pass does no harm
    }, this.options.cullIntervalMs);
  }

  private async launch(name: string, request: CreateTerminalBody, owner: Owner): Promise<Terminal> {
    const { launcher, logger } = this.deps;
    const cwd = this.resolveCwd(request.cwd);
    let init: TerminalInit;
    let kernel: Kernel | undefined;
    if (request.kernel_id) {
      kernel = this.deps.kernels.get(request.kernel_id);
      const language = kernel.spec.spec.language;
      if (language.toLowerCase() !== 'python') throw errors.kernelNotPython(kernel.id, language);
      const file = kernel.connectionFilePath;
      if ((kernel.state !== 'idle' && kernel.state !== 'busy') || !file) {
        throw errors.kernelNotReady(`Kernel ${kernel.id} is ${kernel.state}; attach when it is idle or busy`);
      }
      init = { name, kind: 'attached', kernelId: kernel.id, launch: await launcher.attached({ name, cwd, connectionFile: file }) };
    } else if (request.kernelspec) {
      const kind = request.kernelspec;
      const sessionId = (this.deps.newSessionId ?? randomUUID)();
      let prepared;
      try {
        prepared = await (this.deps.prepareSession ?? noSession)(sessionId, kind, owner);
      } catch (err) {
        if (isGatewayError(err)) throw err;
        logger.error({ terminal: name, session_id: sessionId, err: (err as Error).message }, 'preparing the terminal session failed');
        throw errors.terminalStartFailed(`Preparing the ${kind} session failed; see the gateway log`);
      }
      const { launch, sparkInstalled } = launcher.spark(kind, { name, cwd, sessionId }, prepared);
      if (!sparkInstalled) logger.info({ terminal: name, kind }, 'Spark is not installed; terminal runs a plain Python REPL');
      init = { name, kind, sessionId, launch };
    } else {
      init = { name, kind: 'python', launch: launcher.python({ name, cwd }) };
    }
    if (this.stopping) {
      await this.endSession(init.sessionId);
      throw errors.unavailable('The gateway is shutting down');
    }
    return this.spawn(init, kernel, owner);
  }

  private async spawn(init: TerminalInit, kernel: Kernel | undefined, owner: Owner): Promise<Terminal> {
    let terminal: Terminal;
    try {
      terminal = new Terminal(init, {
        spawn: this.deps.spawn ?? spawnPty,
        logger: this.deps.logger,
        limits: this.options,
        now: this.now,
        timers: this.timers,
      });
    } catch (err) {
      await this.endSession(init.sessionId);
      this.deps.logger.error({ terminal: init.name, err: (err as Error).message }, 'terminal failed to start');
      throw errors.terminalStartFailed(`Terminal ${init.name} failed to start: cannot run ${JSON.stringify(init.launch.file)}`);
    }
    this.terminals.set(terminal.name, terminal);
    this.owners.set(terminal.name, owner);
    let unfollow = (): void => undefined;
    if (kernel) {
      // An attached console outlives nothing: when its kernel goes, so does the terminal.
      const onState = (_before: string, after: string): void => {
        if (after !== 'terminating' && after !== 'dead') return;
        terminal.notice(`kernel ${kernel.id} is ${after === 'dead' ? 'dead' : 'shutting down'}; closing this terminal`);
        void terminal.kill('kernel_ended');
      };
      kernel.on('state', onState);
      unfollow = () => kernel.off('state', onState);
    }
    terminal.once('ended', () => {
      unfollow();
      if (this.terminals.get(terminal.name) === terminal) {
        this.terminals.delete(terminal.name);
        this.owners.delete(terminal.name);
      }
      const ending = this.endSession(terminal.sessionId);
      this.sessionEnds.add(ending);
      void ending.finally(() => this.sessionEnds.delete(ending));
    });
    return terminal;
  }

  private async endSession(sessionId: string | undefined): Promise<void> {
    if (!sessionId || !this.deps.onSessionEnd) return;
    try {
      await this.deps.onSessionEnd(sessionId);
    } catch (err) {
      this.deps.logger.error({ session_id: sessionId, err: (err as Error).message }, 'terminal session end work failed');
    }
  }

  /** Jupyter Server's rule: a cwd that does not exist (absolute or under workDir) falls back to workDir. */
  private resolveCwd(cwd: string | undefined): string {
    const root = this.deps.workDir;
    if (!cwd) return root;
    const candidate = path.resolve(root, cwd);
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch {
      // falls back below
    }
    this.deps.logger.debug({ cwd }, 'terminal cwd does not exist; using the work directory');
    return root;
  }

  private freshName(): string {
    for (let attempt = 0; attempt < 100; attempt++) {
      const name = this.deps.newName ? this.deps.newName() : randomBytes(5).toString('hex');
      if (!this.terminals.has(name) && !this.reserved.has(name)) return name;
    }
    throw errors.conflict('Could not pick a free terminal name; give one in the request');
  }
}
