/**
 * What a terminal runs, chosen by its request:
 *
 *   kernelspec pyspark | spark-sql | spark-shell  the Spark REPL from <Spark home>/bin, with the
 *                                                 session's rendered conf (`--properties-file`);
 *                                                 without Spark, a plain Python REPL that says so
 *   kernel_id                                     `jupyter console --existing <connection file>`,
 *                                                 run by the kernels' Python: one namespace (and
 *                                                 SparkSession) with the notebook
 *   neither                                       a plain Python REPL
 *
 * The environment is the gateway's minus SPARKGATE_* (which holds the API token), as for kernels.
 *
 * The Spark home is the one the session's kernels get: SPARK_HOME in the session's contribution
 * (the Spark plugin sets it from the `spark.sparkHome` setting, else the kernels' pyspark), then
 * the gateway's own SPARK_HOME, then PATH.
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
  return (
    `Spark is not installed on this gateway; this is a plain Python REPL (to get ${kind}: pip install pyspark into the ` +
    "kernels' Python, e.g. bash scripts/ensure-python.sh, or set SPARKGATE_SPARK_SPARK_HOME=/opt/spark)"
  );
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
  /**
   * Interpreters to try for jupyter_console, first that imports it wins: the kernels' Python (the
   * project venv has jupyter-console pinned next to ipykernel), so the console speaks the same
   * jupyter_client as the kernel it attaches to.
   */
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

  /** The Spark command for a kind: `sparkHome`/bin, else the gateway's SPARK_HOME/bin, else PATH. */
  sparkCommand(kind: SparkKind, sparkHome?: string): string | undefined {
    for (const home of [sparkHome, this.deps.parentEnv['SPARK_HOME']]) {
      const found = home ? this.which(path.join(home, 'bin', kind), this.deps.parentEnv) : undefined;
      if (found) return found;
    }
    return this.which(kind, this.deps.parentEnv);
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

  /** `prepared` is the session's rendered Spark conf: env (SPARK_HOME among it) and spark-submit args. */
  spark(kind: SparkKind, ctx: LaunchContext, prepared: { env: Record<string, string>; args: string[] }): { launch: Launch; sparkInstalled: boolean } {
    const command = this.sparkCommand(kind, prepared.env['SPARK_HOME']);
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
      const python = this.deps.consolePythons[0] ?? 'python3';
      throw errors.unavailable(
        `Attaching a terminal needs jupyter-console in the kernels' Python: ${python} -m pip install jupyter-console ` +
          '(bash scripts/ensure-python.sh installs it into the project venv)',
      );
    }
    return {
      file: console.file,
      args: [...console.args, '--existing', ctx.connectionFile, '--simple-prompt', '--no-confirm-exit'],
      env: this.env(ctx),
      cwd: ctx.cwd,
    };
  }

  /**
   * A Python that imports jupyter_console (patched, see ATTACH_SCRIPT), else the `jupyter-console`
   * script installed next to one of them; never one from elsewhere on PATH (another Python's).
   */
  private findConsole(): Promise<{ file: string; args: string[] } | undefined> {
    this.console ??= (async () => {
      for (const python of this.deps.consolePythons) {
        if (await this.probe(python, 'jupyter_console')) return { file: python, args: ['-c', ATTACH_SCRIPT] };
      }
      for (const python of this.deps.consolePythons) {
        const resolved = this.which(python, this.deps.parentEnv);
        const file = resolved ? this.which(path.join(path.dirname(resolved), 'jupyter-console'), this.deps.parentEnv) : undefined;
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
