/**
 * One kernel OS process, started in its own process group so that signals (interrupt, kill)
 * reach everything it spawned (a PySpark driver's JVM included) and nothing is left behind:
 * when the leader exits, whatever is left in its group is killed.
 *
 * Nothing outlives the gateway either: the process gets a lifeline as fd 3 (kernel-lifeline.ts)
 * and its group is registered with the orphan guard (orphan-guard.ts) while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { LIFELINE_ENV, LIFELINE_FD } from './kernel-lifeline.js';
import type { ProcessGroupRegistry } from './orphan-guard.js';

/** How long what is left of a dead kernel's process group gets between SIGTERM and SIGKILL. */
const ORPHAN_GRACE_MS = 2_000;

export interface KernelProcessOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Lines of stderr kept to explain a failed start. */
  stderrLines?: number;
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  /** Told the process group while it runs (the orphan guard). */
  groups?: ProcessGroupRegistry;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class KernelProcess extends EventEmitter<{ exit: [ExitInfo] }> {
  private child: ChildProcess | undefined;
  private exitInfo: ExitInfo | undefined;
  private readonly stderrTail: string[] = [];
  private readonly exited: Promise<ExitInfo>;
  private resolveExit!: (info: ExitInfo) => void;

  constructor(private readonly options: KernelProcessOptions) {
    super();
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Spawns the process; rejects when the executable cannot be started. */
  start(): Promise<void> {
    const [command, ...args] = this.options.argv;
    if (!command) return Promise.reject(new Error('empty argv'));
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        cwd: this.options.cwd,
        env: { ...this.options.env, [LIFELINE_ENV]: String(LIFELINE_FD) },
        detached: true,
        // stdin stays /dev/null (a cell's `input()` or `!cat` must not block on the lifeline).
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      });
      this.child = child;
      // Our end of the lifeline: never written to, never closed while the kernel runs (it closes
      // with this process), and it does not keep the event loop alive.
      const lifeline = child.stdio[LIFELINE_FD] as Socket | null;
      lifeline?.on('error', () => undefined);
      lifeline?.on('data', () => undefined);
      lifeline?.unref();
      const keep = this.options.stderrLines ?? 40;
      child.stdout?.setEncoding('utf8').on('data', (text: string) => this.options.onOutput?.('stdout', text));
      child.stderr?.setEncoding('utf8').on('data', (text: string) => {
        this.options.onOutput?.('stderr', text);
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          this.stderrTail.push(line.slice(0, 500));
          if (this.stderrTail.length > keep) this.stderrTail.shift();
        }
      });
      child.once('error', (err) => {
        if (!this.exitInfo) this.finish({ code: null, signal: null });
        reject(err);
      });
      child.once('spawn', () => {
        if (child.pid !== undefined) this.options.groups?.add(child.pid);
        resolve();
      });
      child.once('exit', (code, signal) => this.finish({ code, signal }));
    });
  }

  private finish(info: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    const pid = this.child?.pid;
    if (pid !== undefined) {
      // The kernel is its leader: what is left of the group (a driver JVM, a cell's background
      // process) would hold ports and outlive the session, as jupyter_client's killpg prevents.
      // SIGTERM first, SIGKILL a moment later: a driver JVM whose kernel died runs its shutdown
      // hooks (Spark removes its temp and block manager dirs) instead of leaving them behind.
      if (this.signal('SIGTERM')) {
        const kill = setTimeout(() => this.signal('SIGKILL'), ORPHAN_GRACE_MS);
        kill.unref();
      }
      this.options.groups?.remove(pid);
      (this.child?.stdio[LIFELINE_FD] as Socket | null | undefined)?.destroy();
    }
    this.resolveExit(info);
    this.emit('exit', info);
  }

  stderr(): string {
    return this.stderrTail.join('\n');
  }

  waitForExit(): Promise<ExitInfo> {
    return this.exited;
  }

  /** Signal the whole process group; false when nothing was there to signal. */
  signal(sig: NodeJS.Signals): boolean {
    const pid = this.child?.pid;
    if (pid === undefined) return false;
    try {
      process.kill(-pid, sig);
      return true;
    } catch {
      try {
        if (!this.exitInfo) {
          process.kill(pid, sig);
          return true;
        }
      } catch {
        /* already gone */
      }
      return false;
    }
  }

  /**
   * SIGTERM the group, then SIGKILL after `graceMs`; resolves when the leader has exited. The
   * group is SIGKILLed once more afterwards so children that ignored SIGTERM do not survive.
   */
  async terminate(graceMs: number): Promise<ExitInfo> {
    if (!this.child) return { code: null, signal: null };
    if (!this.exitInfo) this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    this.signal('SIGKILL');
    return info;
  }

  /** Resolves with the exit info, or undefined if the process is still running after `ms`. */
  async waitForExitWithin(ms: number): Promise<ExitInfo | undefined> {
    if (this.exitInfo) return this.exitInfo;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return result;
  }

  /**
   * Stop it as Jupyter does: ask politely (`askToExit`, a shutdown_request, within
   * min(timeout, 3 s)), then terminate the process group (SIGTERM, SIGKILL after the rest of
   * `timeoutMs`), then SIGKILL stragglers in the group. True when it left when asked.
   */
  async stop(askToExit: (waitMs: number) => Promise<unknown>, timeoutMs: number): Promise<boolean> {
    if (this.hasExited) return true;
    const politeMs = Math.min(timeoutMs, 3_000);
    await askToExit(politeMs);
    const exited = (await this.waitForExitWithin(politeMs)) !== undefined;
    await this.terminate(Math.max(500, timeoutMs - politeMs));
    this.signal('SIGKILL');
    return exited;
  }
}
