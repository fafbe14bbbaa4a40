/**
 * How a kernelspec becomes a process: a small plug-in point chosen by data
 * (`metadata.sparkgate.launcher` in kernel.json, default `ipykernel`), plus session plug-ins
 * (Spark conf rendering, executor GC) that add to every launch and run at every session end.
 */
import path from 'node:path';
import { REPO_ROOT, type GatewayConfig } from '../config.js';
import { errors } from '../errors.js';
import type { Owner } from '../users/identity.js';
import type { TeamPolicy } from '../users/policy-file.js';
import type { Kernelspec } from './kernelspec-store.js';

export interface LaunchContext {
  kernelId: string;
  spec: Kernelspec;
  connectionFile: string;
  /** Validated KERNEL_* variables from the client. */
  userEnv: Readonly<Record<string, string>>;
  config: GatewayConfig;
  /** Python interpreter with ipykernel, when one was found. */
  python: string | undefined;
  /** That interpreter's Spark home (pyspark's SPARK_HOME), when it has pyspark. */
  sparkHome?: string | undefined;
  /** Whose session this is, and that owner's team policy (executor namespace, service account). */
  owner: Owner;
  team: TeamPolicy;
}

export interface LaunchPlan {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface KernelLauncher {
  readonly name: string;
  plan(ctx: LaunchContext): LaunchPlan;
}

/** What a session plug-in adds to a launch; `files` are removed when the session ends. */
export interface SessionContribution {
  env?: Record<string, string>;
  files?: string[];
}

/** `abandoned`: the client that asked for the start went away before it finished (its timeout). */
export type SessionEndReason = 'shutdown' | 'restart' | 'culled' | 'crashed' | 'start_failed' | 'abandoned' | 'gateway_stop';

export interface SessionPlugin {
  readonly name: string;
  /** Validate a start request before anything is spawned; throws a GatewayError (400/403). */
  check?(spec: Kernelspec, userEnv: Readonly<Record<string, string>>): void;
  /** Before each (re)start; may reject with a GatewayError (policy, limits). */
  prepare?(ctx: LaunchContext): Promise<SessionContribution>;
  /** After the kernel process is gone, on every path into ended/dead/restart. */
  onEnd?(kernelId: string, reason: SessionEndReason): Promise<void>;
}

/** Variables of the gateway that a kernel must never see (they hold the API token). */
const PRIVATE_ENV = /^SPARKGATE_/;

export function baseKernelEnv(parentEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parentEnv)) if (v !== undefined && !PRIVATE_ENV.test(k)) env[k] = v;
  return env;
}

/** The compiled gateway (`npm run build`): kernel adapters written in TypeScript run from here. */
export const SPARKGATE_LIB_DIR = path.join(REPO_ROOT, 'dist');

/**
 * The Jupyter kernelspec argv with placeholders substituted: `{connection_file}`,
 * `{resource_dir}` (jupyter_client's), and ours: `{python}` (the interpreter with ipykernel),
 * `{node}` (this Node.js) and `{sparkgate_lib}` (the compiled gateway, e.g.
 * `{sparkgate_lib}/adapters/scala/main.js`).
 */
export class ProcessLauncher implements KernelLauncher {
  readonly name: string;

  constructor(
    name: string,
    private readonly parentEnv: NodeJS.ProcessEnv,
  ) {
    this.name = name;
  }

  plan(ctx: LaunchContext): LaunchPlan {
    const usesPython = ctx.spec.spec.argv.some((a) => a.includes('{python}'));
    if (usesPython && !ctx.python) {
      throw errors.unavailable(
        'No Python interpreter with ipykernel was found on the gateway: apt-get install -y python3-ipykernel, or set SPARKGATE_PYTHON',
      );
    }
    const argv = ctx.spec.spec.argv.map((arg) =>
      arg
        .replaceAll('{connection_file}', ctx.connectionFile)
        .replaceAll('{resource_dir}', ctx.spec.dir)
        .replaceAll('{python}', ctx.python ?? 'python3')
        .replaceAll('{node}', process.execPath)
        .replaceAll('{sparkgate_lib}', SPARKGATE_LIB_DIR),
    );
    const env = baseKernelEnv(this.parentEnv);
    const pythonPath = [ctx.config.kernelPythonPath, env['PYTHONPATH']].filter(Boolean).join(':');
    // debugpy warns on every start about Python 3.11's frozen modules; the warning is noise here.
    env['PYDEVD_DISABLE_FILE_VALIDATION'] ??= '1';
    Object.assign(env, ctx.spec.spec.env, ctx.userEnv, {
      PYTHONPATH: pythonPath,
      SPARKGATE_KERNEL_ID: ctx.kernelId,
      JPY_PARENT_PID: String(process.pid),
    });
    const workingDir = ctx.config.mirrorWorkingDirs ? ctx.userEnv['KERNEL_WORKING_DIR'] : undefined;
    return { argv, env, cwd: workingDir ?? ctx.config.workDir };
  }
}

export class LauncherRegistry {
  private readonly launchers = new Map<string, KernelLauncher>();

  register(launcher: KernelLauncher): this {
    this.launchers.set(launcher.name, launcher);
    return this;
  }

  for(spec: Kernelspec): KernelLauncher {
    const launcher = this.launchers.get(spec.sparkgate.launcher);
    if (!launcher) {
      throw errors.unavailable(
        `Kernelspec ${spec.name} asks for launcher ${JSON.stringify(spec.sparkgate.launcher)}, which this gateway does not have`,
      );
    }
    return launcher;
  }
}
