/**
 * One kernel OS process, started in its own process group so that signals (interrupt, kill)
 * reach everything it spawned (a PySpark driver's JVM included) and nothing is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';

export interface KernelProcessOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Lines of stderr kept to explain a failed start. */
  stderrLines?: number;
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
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
        env: this.options.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.child = child;
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
      child.once('spawn', () => resolve());
      child.once('exit', (code, signal) => this.finish({ code, signal }));
    });
  }

  private finish(info: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
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
}
