/** `sparkgate run NOTEBOOK.ipynb`: execute a notebook headless through a gateway (see src/runner/). */
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT, EXIT_CODES_HELP } from '../runner/exit-codes.js';
import { createProgress } from '../runner/progress.js';
import { runNotebook, type RunNotebookResult } from '../runner/run-notebook.js';

export interface RunFlags {
  kernel?: string;
  parameter?: string[];
  output?: string;
  cellTimeout?: number;
  timeout?: number;
  allowErrors?: boolean;
  url?: string;
  token?: string;
  cwd?: string;
  logOutput?: boolean;
  progress?: boolean;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds greater than 0, e.g. 600');
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * `-p` takes two words (papermill's `-p name value`); commander hands us the words in order.
 * A notebook path written after the parameters lands at the end of the list.
 */
export function pairParameters(words: readonly string[], notebook: string | undefined): { pairs: [string, string][]; notebook?: string } {
  const list = [...words];
  let file = notebook;
  if (file === undefined && list.length % 2 === 1) file = list.pop();
  if (list.length % 2 === 1) throw new InvalidArgumentError(`-p needs a name and a value, e.g. -p region West (got: ${list.join(' ')})`);
  const pairs: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) pairs.push([list[i]!, list[i + 1]!]);
  return file === undefined ? { pairs } : { pairs, notebook: file };
}

const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** What the terminal shows after a run (stderr). */
export function resultLines(result: RunNotebookResult, options: { color: boolean }): string[] {
  const lines: string[] = [];
  const failure = result.outcome?.failures[0];
  if (failure && result.exitCode !== EXIT.ok) {
    lines.push(`sparkgate run: ${result.message}`);
    for (const line of failure.traceback.flatMap((t) => t.split('\n'))) lines.push(`  ${options.color ? line : stripAnsi(line)}`);
  } else if (result.exitCode !== EXIT.ok) {
    lines.push(`sparkgate run: ${result.message}`);
  }
  for (const warning of result.warnings) lines.push(`sparkgate run: warning: ${warning}`);
  const took = `${(result.durationMs / 1000).toFixed(1)} s`;
  if (result.outputPath) {
    const summary = result.exitCode === EXIT.ok ? result.message : `exit ${result.exitCode}`;
    lines.push(`sparkgate run: wrote ${result.outputPath} (${summary}, ${took})`);
  }
  return lines;
}

/**
 * @jupyterlab/services reports websocket steps with console.debug/console.log, which Node sends
 * to stdout; stdout is kept for the output path, so they go to stderr (debug: nowhere).
 */
function quietClientLibrary(): void {
  console.debug = () => undefined;
  console.log = (...args: unknown[]) => console.error(...args);
}

async function run(notebookArg: string | undefined, flags: RunFlags): Promise<void> {
  let pairs: [string, string][];
  let notebook: string | undefined;
  try {
    ({ pairs, notebook } = pairParameters(flags.parameter ?? [], notebookArg));
  } catch (err) {
    process.stderr.write(`sparkgate run: ${(err as Error).message}\n`);
    process.exit(EXIT.usage);
  }
  if (notebook === undefined) {
    process.stderr.write('sparkgate run: which notebook? usage: sparkgate run NOTEBOOK.ipynb [options]\n');
    process.exit(EXIT.usage);
  }
  quietClientLibrary();
  const progress = createProgress({ stream: process.stderr, ...(flags.progress === false ? { tty: false } : {}) });
  const controller = new AbortController();
  let signalled = 0;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    signalled += 1;
    if (signalled > 1) {
      process.stderr.write(`\nsparkgate run: second ${signal}: exiting now; the gateway may still hold the kernel until it is culled\n`);
      process.exit(signal === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint);
    }
    progress.log(`${signal}: interrupting the kernel, shutting it down and saving the cells that ran (again to exit at once)`);
    controller.abort(signal);
  };
  const sigint = (): void => onSignal('SIGINT');
  const sigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  const result = await runNotebook({
    input: notebook,
    output: flags.output,
    kernelName: flags.kernel,
    parameters: pairs,
    cellTimeoutMs: flags.cellTimeout !== undefined ? flags.cellTimeout * 1000 : undefined,
    timeoutMs: flags.timeout !== undefined ? flags.timeout * 1000 : undefined,
    allowErrors: flags.allowErrors ?? false,
    remote: flags.url ? { url: flags.url, token: flags.token ?? '' } : undefined,
    cwd: flags.cwd,
    env: process.env,
    stopSignal: controller.signal,
    progress,
    stderr: process.stderr,
    logOutput: flags.logOutput ?? false,
  });
  process.off('SIGINT', sigint);
  process.off('SIGTERM', sigterm);
  for (const line of resultLines(result, { color: process.stderr.isTTY === true })) process.stderr.write(`${line}\n`);
  // The last stdout line is the executed notebook (Airflow's BashOperator pushes it to XCom).
  if (result.outputPath) process.stdout.write(`${result.outputPath}\n`);
  // Exit now: the kernel is shut down and the notebook written; nothing else should hold the process.
  process.exit(result.exitCode);
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('execute a notebook top to bottom through a gateway and save it with its outputs')
    .argument('[notebook]', 'the .ipynb file to run')
    .addOption(new Option('-k, --kernel <name>', 'kernelspec to run it on (default: the notebook\'s metadata.kernelspec.name)'))
    .addOption(
      new Option('-p, --parameter <name value...>', 'set a parameter (repeatable): JSON values stay typed, anything else is a string').argParser(
        collect,
      ),
    )
    .addOption(new Option('-o, --output <file>', 'where to write the executed notebook (default: NAME.out.ipynb next to it)'))
    .addOption(new Option('--cell-timeout <seconds>', 'interrupt and fail a cell that runs longer').argParser(seconds))
    .addOption(new Option('--timeout <seconds>', 'interrupt and stop the whole run after this long').argParser(seconds))
    .addOption(new Option('--allow-errors', 'keep going after a cell fails (exit 0; errors are saved in the notebook)'))
    .addOption(new Option('--url <url>', 'a running gateway (default: start an embedded one)').env('SPARKGATE_URL'))
    .addOption(new Option('--token <token>', 'the remote gateway\'s API token').env('SPARKGATE_TOKEN'))
    .addOption(new Option('--cwd <dir>', 'kernel working directory (default: the notebook\'s folder; remote: sent as KERNEL_WORKING_DIR)'))
    .addOption(new Option('--log-output', 'echo the cells\' stdout/stderr while they run'))
    .addOption(new Option('--no-progress', 'plain log lines instead of a progress bar on a terminal'))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  sparkgate run notebooks/00-python-basics.ipynb -p top_n 5 -p region West\n' +
        '  sparkgate run report.ipynb -o out/report.ipynb --timeout 3600 --url http://sparkgate:8888\n' +
        '\nThe embedded gateway reads SPARKGATE_* settings like `sparkgate serve`.\n' +
        EXIT_CODES_HELP,
    )
    .action((notebook: string | undefined, flags: RunFlags) => run(notebook, flags));
}
