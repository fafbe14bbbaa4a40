/**
 * Exit codes of `sparkgate run` (documented in `sparkgate run --help` and the README), and the
 * one error type that carries them. A RunnerError's message is one line for the terminal.
 */
export const EXIT = Object.freeze({
  /** Every cell ran (with --allow-errors: the run finished, errors are in the notebook). */
  ok: 0,
  /** A cell raised an error; the notebook was saved with it (e.g. SparkNotInstalledError). */
  cellError: 1,
  /** Bad input: unreadable or invalid notebook, bad option or parameter, unknown kernel. */
  usage: 2,
  /** The gateway or kernel failed: cannot connect, kernel did not start, kernel died. */
  gateway: 3,
  /** --cell-timeout or --timeout reached (as GNU timeout(1)); the notebook was saved. */
  timeout: 124,
  /** Stopped by SIGINT (Ctrl-C) / SIGTERM: the kernel was interrupted and shut down. */
  sigint: 130,
  sigterm: 143,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `
Exit codes:
  0    every cell ran (with --allow-errors: the run finished; errors are in the notebook)
  1    a cell raised an error; the output notebook holds it (e.g. SparkNotInstalledError)
  2    bad input: invalid notebook file, option, parameter or kernel name (nothing ran)
  3    gateway or kernel failure: cannot connect, kernel did not start or died
  124  --cell-timeout or --timeout reached; the output notebook was saved
  130  interrupted (SIGINT, Ctrl-C); 143: terminated (SIGTERM). The kernel is shut down and
       the cells that ran are saved.`;

export class RunnerError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'RunnerError';
  }
}
