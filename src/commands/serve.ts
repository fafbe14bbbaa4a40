/** `sparkgate serve`: run the gateway. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { packageVersion } from '../gateway.js';
import { createGateway } from '../gateway-factory.js';

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

export interface ServeFlags {
  host?: string;
  port?: number;
  token?: string;
  config?: string;
  logLevel?: string;
  python?: string;
  maxKernels?: number;
  kernelspecDir?: string[];
  kubeconfig?: string;
  warmPool?: string;
}

export function flagsToOverrides(flags: ServeFlags): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (flags.host !== undefined) o['host'] = flags.host;
  if (flags.port !== undefined) o['port'] = flags.port;
  if (flags.token !== undefined) o['token'] = flags.token;
  if (flags.logLevel !== undefined) o['logLevel'] = flags.logLevel;
  if (flags.python !== undefined) o['python'] = flags.python;
  if (flags.maxKernels !== undefined) o['maxKernels'] = flags.maxKernels;
  if (flags.kernelspecDir !== undefined) o['kernelspecDirs'] = flags.kernelspecDir;
  if (flags.warmPool !== undefined) o['warmPool'] = flags.warmPool;
  // --kubeconfig: run outside the cluster against it (kubernetes mode with that file's credentials).
  if (flags.kubeconfig !== undefined) o['spark'] = { mode: 'kubernetes', kubeconfig: flags.kubeconfig };
  return o;
}

async function serve(flags: ServeFlags): Promise<void> {
  let config;
  try {
    config = loadConfig({
      env: process.env,
      ...(flags.config ? { file: flags.config } : {}),
      overrides: flagsToOverrides(flags),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sparkgate: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const gateway = createGateway({ config, env: process.env });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`sparkgate: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    gateway.logger.info({ signal }, 'shutting down: stopping every kernel');
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        gateway.logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const url = await gateway.start();
  const shown = url.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://127.0.0.1');
  // Printed once for the operator; never written to the JSON log.
  process.stderr.write(
    `\nsparkgate ${packageVersion()} is running at ${shown}\n` +
      `  token: ${config.token ? '(as configured)' : gateway.token}\n` +
      `  JupyterLab: jupyter lab --gateway-url=${shown} --GatewayClient.auth_token=${config.token ? '<your token>' : gateway.token}\n\n`,
  );
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the gateway (embedded local mode unless configured for Kubernetes)')
    .addOption(new Option('--host <host>', 'interface to listen on'))
    .addOption(new Option('--port <port>', 'port to listen on (0 = any free port)').argParser(integer))
    .addOption(new Option('--token <token>', 'API token (generated when not set)'))
    .addOption(new Option('-c, --config <file>', 'JSON or YAML config file'))
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent'))
    .addOption(new Option('--python <path>', 'Python interpreter with ipykernel'))
    .addOption(new Option('--max-kernels <n>', 'most kernels at once').argParser(integer))
    .addOption(new Option('--kernelspec-dir <dir...>', 'directories holding kernelspecs'))
    .addOption(new Option('--warm-pool <sizes>', 'pre-started sessions per kernelspec, e.g. python3=2,pyspark=1'))
    .addOption(new Option('--kubeconfig <file>', 'Kubernetes mode with this kubeconfig (in a pod: the service account)'))
    .addHelpText(
      'after',
      '\nEvery setting can also come from the config file or a SPARKGATE_<SETTING> variable,\n' +
        'e.g. SPARKGATE_CULL_IDLE_TIMEOUT_SECONDS=3600. See README.md, "Configuration".',
    )
    .action((flags: ServeFlags) => serve(flags));
}
