/**
 * One headless notebook run, start to end:
 *   read + validate the file -> connect the gateway (embedded or remote) -> check the kernelspec
 *   -> start the kernel -> inject parameters -> execute cell by cell -> shut the kernel down
 *   (always: errors, timeouts, SIGINT/SIGTERM) -> validate and write the executed notebook
 *   -> stop the embedded gateway.
 * Returns the exit code instead of exiting, so tests and other callers can use it in-process.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Kernel } from '@jupyterlab/services';
import { EXIT, RunnerError, type ExitCode } from './exit-codes.js';
import {
  embeddedGateway,
  findKernelspec,
  remoteGateway,
  shutdownKernel,
  startKernel,
  type ConnectedGateway,
} from './gateway-client.js';
import { NotebookExecutor, runnableCells, type RunOutcome, type StopReason } from './notebook-executor.js';
import { defaultOutputPath, serializeNotebook } from './notebook-format.js';
import { newCellId, NotebookFormatError, parseNotebook, validateNotebook, type Notebook } from './notebook-schema.js';
import { injectParameters, parameterLanguage, ParameterError, parseParameter, renderParameters, type Parameter } from './parameters.js';
import type { Progress } from './progress.js';
import { parseSparkProgress } from './spark-job-progress.js';

export interface RunNotebookOptions {
  input: string;
  output?: string | undefined;
  kernelName?: string | undefined;
  /** `-p name value` pairs, in order (a later one wins). */
  parameters?: readonly (readonly [string, string])[];
  cellTimeoutMs?: number | undefined;
  timeoutMs?: number | undefined;
  allowErrors?: boolean;
  /** A remote gateway; the embedded one when undefined. */
  remote?: { url: string; token: string } | undefined;
  /** Kernel working directory: embedded default the notebook's folder; remote: sent as KERNEL_WORKING_DIR. */
  cwd?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Aborted with 'SIGINT' / 'SIGTERM' by the command's signal handlers. */
  stopSignal?: AbortSignal;
  progress: Progress;
  /** Where the embedded gateway logs and cell output goes with logOutput. */
  stderr: NodeJS.WritableStream;
  /** Echo the cells' stdout/stderr as they run. */
  logOutput?: boolean;
  kernelStartTimeoutMs?: number;
  interruptGraceMs?: number;
  now?: () => number;
}

export interface RunNotebookResult {
  exitCode: ExitCode;
  /** Set when the executed notebook was written. */
  outputPath?: string;
  outcome?: RunOutcome;
  /** One line for the terminal. */
  message: string;
  /** Problems that did not change the exit code (a failed kernel shutdown). */
  warnings: string[];
  durationMs: number;
  notebook?: Notebook;
}

function readNotebook(input: string): Notebook {
  let text: string;
  try {
    text = readFileSync(input, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new RunnerError(`cannot read ${input}: ${why}`, EXIT.usage);
  }
  try {
    return parseNotebook(text, input);
  } catch (err) {
    if (err instanceof NotebookFormatError) throw new RunnerError(err.message, EXIT.usage);
    throw err;
  }
}

function checkOutputDir(output: string): void {
  const dir = path.dirname(path.resolve(output));
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new RunnerError(`cannot write ${output}: the folder ${dir} does not exist`, EXIT.usage);
}

/** Exit code and one-line message for how the cells went. */
export function judge(outcome: RunOutcome): { exitCode: ExitCode; message: string } {
  const first = outcome.failures[0];
  const where = first ? `cell ${first.cellIndex + 1}` : '';
  const error = first ? `${first.ename}: ${first.evalue.split('\n')[0] ?? ''}` : '';
  switch (outcome.status) {
    case 'completed':
      return outcome.failures.length === 0
        ? { exitCode: EXIT.ok, message: `${outcome.executed} cell${outcome.executed === 1 ? '' : 's'} ran` }
        : { exitCode: EXIT.ok, message: `finished with ${outcome.failures.length} failed cell${outcome.failures.length === 1 ? '' : 's'} (--allow-errors); first: ${where}: ${error}` };
    case 'failed':
      return { exitCode: EXIT.cellError, message: `${where} failed: ${error}` };
    case 'cell-timeout':
      return { exitCode: EXIT.timeout, message: `${where} timed out: ${error}` };
    case 'kernel-died':
      return { exitCode: EXIT.gateway, message: `${where}: ${error}` };
    case 'stopped': {
      const reason: StopReason = outcome.stopReason ?? 'SIGINT';
      const codes: Record<StopReason, ExitCode> = { timeout: EXIT.timeout, SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm };
      const what = reason === 'timeout' ? 'reached --timeout' : `stopped by ${reason}`;
      return { exitCode: codes[reason], message: `${what}${where ? ` during ${where}` : ' between cells'} (${outcome.executed} of ${outcome.total} cells ran)` };
    }
    default: {
      const never: never = outcome.status;
      throw new Error(`unknown status ${String(never)}`);
    }
  }
}

function withParameters(nb: Notebook, params: Parameter[], language: string | undefined, kernel: string): Notebook {
  if (params.length === 0) return nb;
  const target = parameterLanguage(language);
  if (!target) {
    throw new RunnerError(`-p is supported for Python and Spark SQL kernels; kernel "${kernel}" speaks ${language ?? 'an unknown language'}`, EXIT.usage);
  }
  // A later -p for the same name wins, keeping the first one's position.
  const byName = new Map<string, Parameter>();
  for (const p of params) byName.set(p.name, p);
  try {
    return injectParameters(nb, renderParameters([...byName.values()], target), newCellId());
  } catch (err) {
    if (err instanceof ParameterError) throw new RunnerError(err.message, EXIT.usage);
    throw err;
  }
}

function writeNotebook(nb: Notebook, output: string): string | undefined {
  const problems = validateNotebook(nb);
  const tmp = `${output}.tmp-${process.pid}`;
  mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
  writeFileSync(tmp, serializeNotebook(nb));
  renameSync(tmp, output);
  return problems[0];
}

/** Abort `into` with `timeout` after ms, and forward `from`'s abort reason. */
function stopController(from: AbortSignal | undefined, timeoutMs: number | undefined): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const forward = (): void => controller.abort(from?.reason ?? 'SIGINT');
  if (from?.aborted) forward();
  from?.addEventListener('abort', forward, { once: true });
  const timer = timeoutMs !== undefined ? setTimeout(() => controller.abort('timeout' satisfies StopReason), timeoutMs) : undefined;
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      from?.removeEventListener('abort', forward);
    },
  };
}

export async function runNotebook(options: RunNotebookOptions): Promise<RunNotebookResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const warnings: string[] = [];
  const done = (exitCode: ExitCode, message: string, extra: Partial<RunNotebookResult> = {}): RunNotebookResult => ({
    exitCode,
    message,
    warnings,
    durationMs: now() - started,
    ...extra,
  });
  const stop = stopController(options.stopSignal, options.timeoutMs);
  let gateway: ConnectedGateway | undefined;
  let kernel: Kernel.IKernelConnection | undefined;
  try {
    const source = readNotebook(options.input);
    const params = (options.parameters ?? []).map(([name, raw]) => parseParameter(name, raw));
    const kernelName = options.kernelName ?? source.metadata.kernelspec?.name;
    if (!kernelName) {
      throw new RunnerError(`${options.input} names no kernel (metadata.kernelspec.name is missing): choose one with -k NAME, e.g. -k python3`, EXIT.usage);
    }
    const output = options.output ?? defaultOutputPath(options.input);
    checkOutputDir(output);

    gateway = options.remote
      ? remoteGateway(options.remote.url, options.remote.token)
      : await embeddedGateway({
          env: options.env,
          workDir: path.resolve(options.cwd ?? path.dirname(options.input)),
          logDestination: options.stderr,
        });
    const spec = await findKernelspec(gateway, kernelName);
    const kernelEnv: Record<string, string> = options.remote && options.cwd ? { KERNEL_WORKING_DIR: path.resolve(options.cwd) } : {};
    const launched = await startKernel(gateway, kernelName, { env: kernelEnv, timeoutMs: options.kernelStartTimeoutMs ?? 120_000 });
    kernel = launched.kernel;
    const languageInfo = launched.info.language_info;
    const nb = withParameters(source, params, languageInfo?.name ?? spec.language, kernelName);
    nb.metadata = {
      ...nb.metadata,
      kernelspec: { name: spec.name, display_name: spec.displayName, language: spec.language },
      ...(languageInfo ? { language_info: JSON.parse(JSON.stringify(languageInfo)) } : {}),
    };
    if (stop.signal.aborted && stop.signal.reason !== 'timeout') {
      const reason = stop.signal.reason as StopReason;
      return done(reason === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint, `stopped by ${reason} before any cell ran`);
    }

    const executor = new NotebookExecutor({
      kernel,
      allowErrors: options.allowErrors ?? false,
      cellTimeoutMs: options.cellTimeoutMs,
      stopSignal: stop.signal,
      ...(options.interruptGraceMs !== undefined ? { interruptGraceMs: options.interruptGraceMs } : {}),
      now,
      events: {
        cellStarted: (e) => options.progress.cellStarted(e),
        cellFinished: (e) => options.progress.cellFinished(e),
        display: (data) => {
          const jobs = parseSparkProgress(data);
          if (jobs) options.progress.sparkJobs(jobs);
        },
        ...(options.logOutput ? { stream: (_name: string, text: string) => options.progress.log(text.replace(/\n$/, '')) } : {}),
      },
    });
    options.progress.runStarted({ notebook: options.input, kernel: kernelName, total: runnableCells(nb).length });
    const outcome = await executor.run(nb);
    options.progress.stop();

    const shutdownProblem = await shutdownKernel(kernel, gateway);
    kernel = undefined;
    if (shutdownProblem) warnings.push(shutdownProblem);

    const verdict = judge(outcome);
    nb.metadata = {
      ...nb.metadata,
      sparkgate: {
        run: {
          start_time: new Date(started).toISOString(),
          end_time: new Date(now()).toISOString(),
          duration_seconds: Math.round((now() - started) / 100) / 10,
          status: outcome.status,
          exit_code: verdict.exitCode,
          kernel: kernelName,
          parameters: Object.fromEntries(params.map((p) => [p.name, p.value])),
        },
      },
    };
    const invalid = writeNotebook(nb, output);
    if (invalid) {
      return done(EXIT.gateway, `wrote ${output}, but it does not validate as nbformat 4 (${invalid}); please report this`, {
        outputPath: output,
        outcome,
        notebook: nb,
      });
    }
    return done(verdict.exitCode, verdict.message, { outputPath: output, outcome, notebook: nb });
  } catch (err) {
    if (err instanceof RunnerError) return done(err.exitCode, err.message);
    return done(EXIT.gateway, `unexpected failure: ${(err as Error).message}`);
  } finally {
    stop.dispose();
    options.progress.stop();
    if (kernel && gateway) {
      const problem = await shutdownKernel(kernel, gateway);
      if (problem) warnings.push(problem);
    }
    if (gateway) await gateway.stop().catch((err: unknown) => warnings.push(`stopping the embedded gateway: ${(err as Error).message}`));
  }
}
