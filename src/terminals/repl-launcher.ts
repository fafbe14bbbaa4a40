/**
 * What a terminal runs, chosen by its request:
 *
 *   kernelspec pyspark | spark-sql | spark-shell  the Spark REPL from SPARK_HOME/bin or PATH, with
 *                                                 the session's rendered conf (`--conf k=v`);
 *                                                 without Spark, a plain Python REPL that says so
 *   kernel_id                                     `jupyter console --existing <connection file>`:
 *                                                 one namespace (and SparkSession) with the notebook
 *   neither                                       a plain Python REPL
 *
 * The environment is the gateway's minus SPARKGATE_* (which holds the API token), as for kernels.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { errors } from '../errors.js';
import { baseKernelEnv } from '../kernels/kernel-launcher.js';
import type { PtySpawnOptions } from './pty-process.js';

export const SPARK_KINDS = ['pyspark', 'spark-sql', 'spark-shell'] as const;
export type SparkKind = (typeof SPARK_KINDS)[number];

export type Launch = Omit<PtySpawnOptions, 'rows' | 'cols'>;

export function noSparkBanner(kind: SparkKind): string {
  return `Spark is not installed on this gateway; this is a plain Python REPL (install Spark and set SPARK_HOME to get ${kind})`;
}

/**
 * Run as `python -c ATTACH_SCRIPT --existing FILE ...`: jupyter console, made safe for a kernel
 * that belongs to a notebook. Stock jupyter_console sends `exit` to the kernel, and ipykernel's
 * exit stops the kernel itself (ZMQInteractiveShell.ask_exit -> exit_now); the console then also
 * sends shutdown_request. Here `exit`/`quit` leave the console only, and it never shuts the
 * kernel down (`exit(keep_kernel=True)` and Ctrl-D behave as before).
 */
export const ATTACH_SCRIPT = [
  'import sys',
  'from jupyter_console import ptshell',
  'Shell = ptshell.ZMQTerminalInteractiveShell',
  'Shell.keepkernel = property(lambda self: True, lambda self, value: None)',
  '_run_cell = Shell.run_cell',
  'def run_cell(self, cell, store_history=True):',
  '    if cell.strip() in ("exit", "quit", "exit()", "quit()"):',
  '        print("[sparkgate] leaving the console; the kernel keeps running")',
  '        return self.ask_exit()',
  '    return _run_cell(self, cell, store_history)',
  'Shell.run_cell = run_cell',
  'from jupyter_console.app import main',
  'sys.exit(main())',
].join('\n');

export type FindExecutable = (name: string, env: NodeJS.ProcessEnv) => string | undefined;

/** `which`: an absolute path is checked as is, a bare name is looked up on env.PATH. */
export const findExecutable: FindExecutable = (name, env) => {
  const candidates = name.includes('/')
    ? [name]
    : (env['PATH'] ?? '').split(':').filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there, or not executable
    }
  }
  return undefined;
};

export type ModuleProbe = (python: string, module: string) => Promise<boolean>;

export const probeModule: ModuleProbe = (python, module) =>
  new Promise((resolve) => {
    execFile(python, ['-c', `import ${module}`], { timeout: 15_000 }, (err) => resolve(!err));
  });

export interface ReplLauncherDeps {
  /** The gateway's environment; SPARKGATE_* is removed before a REPL sees it. */
  parentEnv: NodeJS.ProcessEnv;
  /** Interpreter for plain Python REPLs (the system Python). */
  python: string;
  /** Interpreters to try for jupyter_console, first that imports it wins. */
  consolePythons: readonly string[];
  /** Put in plain REPLs' command line, so leftovers can be found with `pgrep -f`. */
  runtimeDir: string;
  findExecutable?: FindExecutable;
  probeModule?: ModuleProbe;
  /** Told when attach falls back to the stock jupyter-console (where `exit` ends the kernel). */
  warn?: (message: string) => void;
}

export interface LaunchContext {
  name: string;
  cwd: string;
  sessionId?: string | undefined;
}

export class ReplLauncher {
  private readonly which: FindExecutable;
  private readonly probe: ModuleProbe;
  private console: Promise<{ file: string; args: string[] } | undefined> | undefined;

  constructor(private readonly deps: ReplLauncherDeps) {
    this.which = deps.findExecutable ?? findExecutable;
    this.probe = deps.probeModule ?? probeModule;
  }

  /** The Spark command for a kind: SPARK_HOME/bin first, then PATH. */
  sparkCommand(kind: SparkKind): string | undefined {
    const home = this.deps.parentEnv['SPARK_HOME'];
    return (home ? this.which(path.join(home, 'bin', kind), this.deps.parentEnv) : undefined) ?? this.which(kind, this.deps.parentEnv);
  }

  python(ctx: LaunchContext, banner?: string): Launch {
    const identity = `# sparkgate-terminal ${path.join(this.deps.runtimeDir, ctx.name)}`;
    const greeting = banner
      ? `print(${JSON.stringify(banner)})`
      : 'print("Python " + sys.version.split()[0] + " on sparkgate (plain REPL, no Spark session)")';
    return {
      file: this.deps.python,
      args: ['-i', '-c', `import sys; ${greeting}  ${identity}`],
      env: this.env(ctx),
      cwd: ctx.cwd,
    };
  }

  /** `prepared` is the session's rendered Spark conf (env and `--conf` args). */
  spark(kind: SparkKind, ctx: LaunchContext, prepared: { env: Record<string, string>; args: string[] }): { launch: Launch; sparkInstalled: boolean } {
    const command = this.sparkCommand(kind);
    if (!command) {
      const launch = this.python(ctx, noSparkBanner(kind));
      Object.assign(launch.env, prepared.env);
      return { launch, sparkInstalled: false };
    }
    return {
      launch: { file: command, args: [...prepared.args], env: { ...this.env(ctx), ...prepared.env }, cwd: ctx.cwd },
      sparkInstalled: true,
    };
  }

  async attached(ctx: LaunchContext & { connectionFile: string }): Promise<Launch> {
    const console = await this.findConsole();
    if (!console) {
      throw errors.unavailable(
        'Attaching a terminal needs jupyter console on the gateway: apt-get install -y jupyter-console (Debian) or pip install jupyter-console',
      );
    }
    return {
      file: console.file,
      args: [...console.args, '--existing', ctx.connectionFile, '--simple-prompt', '--no-confirm-exit'],
      env: this.env(ctx),
      cwd: ctx.cwd,
    };
  }

  /** A Python that imports jupyter_console (patched, see ATTACH_SCRIPT), else the plain command. */
  private findConsole(): Promise<{ file: string; args: string[] } | undefined> {
    this.console ??= (async () => {
      for (const python of this.deps.consolePythons) {
        if (await this.probe(python, 'jupyter_console')) return { file: python, args: ['-c', ATTACH_SCRIPT] };
      }
      for (const name of ['jupyter-console', '/usr/bin/jupyter-console']) {
        const file = this.which(name, this.deps.parentEnv);
        if (!file) continue;
        this.deps.warn?.(
          `no Python found that imports jupyter_console (tried ${this.deps.consolePythons.join(', ')}); attached terminals ` +
            `run ${file} as is, where typing exit also stops the notebook's kernel`,
        );
        return { file, args: [] };
      }
      return undefined;
    })();
    return this.console;
  }

  private env(ctx: LaunchContext): Record<string, string> {
    const env = baseKernelEnv(this.deps.parentEnv);
    delete env['COLUMNS'];
    delete env['LINES'];
    env['TERM'] = 'xterm-256color';
    env['SPARKGATE_TERMINAL'] = ctx.name;
    if (ctx.sessionId) env['SPARKGATE_SESSION_ID'] = ctx.sessionId;
    return env;
  }
}
