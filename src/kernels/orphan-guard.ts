/**
 * Nothing outlives the gateway: a small guard process (orphan-guard-main.ts) is told the process
 * group of every kernel, and ends the groups still registered when the gateway is gone. It
 * notices through the write end of its stdin, which only the gateway holds: when the gateway is
 * SIGKILLed the kernel closes it, whatever reparenting follows (PID 1 or a subreaper).
 *
 * This is the catch-all for kernels that do not watch their own lifeline (kernel-lifeline.ts):
 * a plain `python -m ipykernel_launcher` kernelspec (Debian's ipykernel 6.17 only notices a
 * parent pid of 1, which never happens under a subreaper), or any third-party kernel. Our own
 * kernels watch their lifeline as well, so they end even if the guard itself was killed.
 *
 * The guard runs from the compiled gateway (`npm run build`), like the Scala adapter. If it
 * cannot run, the gateway logs why and goes on without it; if it dies, it is started again and
 * told the groups that are still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { SPARKGATE_LIB_DIR } from './kernel-launcher.js';

/** Where kernel processes report their process group (KernelProcess). */
export interface ProcessGroupRegistry {
  add(pgid: number): void;
  remove(pgid: number): void;
}

export const ORPHAN_GUARD_SCRIPT = path.join(SPARKGATE_LIB_DIR, 'kernels', 'orphan-guard-main.js');

export interface OrphanGuardOptions {
  logger: Logger;
  /** From SIGTERM to SIGKILL of the groups left when the gateway is gone. */
  graceMs?: number;
  script?: string;
  /** First delay before starting a guard that died again; doubles up to a minute. */
  respawnDelayMs?: number;
}

const MAX_RESPAWN_DELAY_MS = 60_000;
/** A guard that ran this long resets the respawn backoff. */
const STABLE_RUN_MS = 60_000;

export class OrphanGuard implements ProcessGroupRegistry {
  private readonly groups = new Set<number>();
  private readonly log: Logger;
  private child: ChildProcess | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private respawnTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly options: OrphanGuardOptions) {
    this.log = options.logger.child({ component: 'orphan-guard' });
  }

  /** The guard's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Start the guard process; safe to call twice. Never rejects: the gateway works without it. */
  async start(): Promise<void> {
    if (this.started || this.stopping) return;
    this.started = true;
    const script = this.script;
    if (!existsSync(script)) {
      this.log.error(
        { script },
        'the orphan guard is not built (npm run build): kernels that do not watch their lifeline may outlive a killed gateway',
      );
      return;
    }
    await this.spawnGuard();
  }

  add(pgid: number): void {
    this.groups.add(pgid);
    this.write(`+${pgid}`);
  }

  remove(pgid: number): void {
    if (this.groups.delete(pgid)) this.write(`-${pgid}`);
  }

  /**
   * Close the guard's stdin: it ends the groups still registered (none after a clean stop of
   * every kernel) and exits. Safe to call twice.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.respawnTimer);
      const child = this.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), (this.options.graceMs ?? 3_000) + 2_000))),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        child.kill('SIGKILL');
        await exited;
      }
    })();
    return this.stopping;
  }

  private get script(): string {
    return this.options.script ?? ORPHAN_GUARD_SCRIPT;
  }

  private spawnGuard(): Promise<void> {
    // The gateway's pid tells guards apart in `ps`. (Not the runtime dir: tests find a gateway's
    // kernels by the processes that name it.)
    const args = [this.script, '--gateway-pid', String(process.pid), '--grace-ms', String(this.options.graceMs ?? 3_000)];
    // Own process group: a signal to the gateway's group (Ctrl-C) does not reach it. Its stderr is
    // the gateway's, so what it does after the gateway died still shows in the same log.
    const child = spawn(process.execPath, args, { detached: true, stdio: ['pipe', 'ignore', 'inherit'] });
    this.child = child;
    const startedAt = Date.now();
    child.stdin!.on('error', () => undefined); // EPIPE if it died; the exit handler deals with it
    // Neither the guard nor our end of its stdin keeps the gateway's event loop alive.
    child.unref();
    (child.stdin as unknown as Socket).unref();
    child.once('exit', (code, signal) => this.onExit(child, startedAt, code, signal));
    for (const pgid of this.groups) this.write(`+${pgid}`);
    return new Promise((resolve) => {
      child.once('spawn', () => {
        this.log.debug({ pid: child.pid }, 'orphan guard started');
        resolve();
      });
      child.once('error', (err) => {
        this.log.error({ err: err.message }, 'cannot start the orphan guard');
        resolve();
      });
    });
  }

  private onExit(child: ChildProcess, startedAt: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child || this.stopping) return;
    this.child = undefined;
    this.failures = Date.now() - startedAt >= STABLE_RUN_MS ? 1 : this.failures + 1;
    const delayMs = Math.min(MAX_RESPAWN_DELAY_MS, (this.options.respawnDelayMs ?? 1_000) * 2 ** (this.failures - 1));
    this.log.error({ code, signal, restart_in_ms: delayMs }, 'the orphan guard exited; starting it again');
    this.respawnTimer = setTimeout(() => {
      if (!this.stopping) void this.spawnGuard();
    }, delayMs);
    this.respawnTimer.unref();
  }

  private write(line: string): void {
    const stdin = this.child?.stdin;
    if (stdin?.writable) stdin.write(`${line}\n`);
  }
}
