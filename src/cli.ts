/**
 * The `sparkgate` command line (commander: parsing, help and errors come from a well-kept
 * library rather than hand-rolled argv handling). Each subcommand lives in src/commands/ and
 * registers itself here.
 */
import { Command } from 'commander';
import { packageVersion } from './gateway.js';
import { registerLogs } from './commands/logs.js';
import { registerServe } from './commands/serve.js';
import { registerRun } from './commands/run.js';
import { registerSessions } from './commands/sessions.js';
import { registerShell } from './commands/shell.js';
import { registerUsers } from './commands/users.js';

export function buildCli(): Command {
  const program = new Command('sparkgate')
    .description('Jupyter kernel gateway and websocket shell for live Apache Spark sessions')
    .version(packageVersion());
  registerServe(program);
  registerRun(program);
  registerShell(program);
  registerSessions(program);
  registerLogs(program);
  registerUsers(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildCli().parseAsync(argv);
}
