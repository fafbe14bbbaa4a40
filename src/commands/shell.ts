/**
 * `sparkgate shell`: a REPL on the gateway in this terminal. Creates a terminal over REST
 * (a new Python/Spark REPL, or attached to a running kernel with --kernel), connects its
 * websocket, puts the local TTY in raw mode (so Ctrl-C, Ctrl-D and line editing are the remote
 * REPL's), forwards keystrokes and window size, prints the output, and exits with the REPL's
 * status when it ends. The terminal it created is deleted on the way out.
 */
import { StringDecoder } from 'node:string_decoder';
import { Command, Option } from 'commander';
import WebSocket from 'ws';
import { apiRequest, authHeaders, CliError, resolveTarget, wsUrl, type GatewayTarget } from '../terminals/gateway-client.js';
import { SPARK_KINDS } from '../terminals/repl-launcher.js';
import {
  decodeServerFrame,
  encodeSetSize,
  encodeStdin,
  shellStatus,
} from '../terminals/terminado-codec.js';
import type { TerminalModel } from '../terminals/terminal-models.js';

export interface ShellFlags {
  kernel?: string;
  spec?: string;
  url?: string;
  token?: string;
}

/** Runs the session; resolves with the exit status for the process. */
export async function runShell(flags: ShellFlags): Promise<number> {
  const target = resolveTarget(flags, process.env);
  const body = flags.kernel ? { kernel_id: flags.kernel } : flags.spec ? { kernelspec: flags.spec } : {};
  const terminal = await apiRequest<TerminalModel>(target, '/api/terminals', { method: 'POST', body });
  const remove = (): Promise<void> =>
    apiRequest<void>(target, `/api/terminals/${encodeURIComponent(terminal.name)}`, { method: 'DELETE', timeoutMs: 5_000 }).catch(
      () => undefined, // already gone with its process, or the gateway is
    );
  try {
    return await attach(target, terminal.name);
  } finally {
    await remove();
  }
}

function attach(target: GatewayTarget, name: string): Promise<number> {
  const { stdin, stdout, stderr } = process;
  const ws = new WebSocket(wsUrl(target, `/terminals/websocket/${encodeURIComponent(name)}`), {
    headers: authHeaders(target),
    perMessageDeflate: false,
  });
  const decoder = new StringDecoder('utf8');
  const size = (): string => encodeSetSize(stdout.rows || 24, stdout.columns || 80);
  const onInput = (chunk: Buffer): void => {
    const text = decoder.write(chunk);
    if (text && ws.readyState === ws.OPEN) ws.send(encodeStdin(text));
  };
  // Piped input: end of input is Ctrl-D for the REPL.
  const onEnd = (): void => {
    if (ws.readyState === ws.OPEN) ws.send(encodeStdin('\x04'));
  };
  const onResize = (): void => {
    if (ws.readyState === ws.OPEN) ws.send(size());
  };
  const onSignal = (signal: NodeJS.Signals): void => finish(signal === 'SIGHUP' ? 129 : 143);

  let done: (status: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (done = resolve));
  let ended = false;
  function finish(status: number, message?: string): void {
    if (ended) return;
    ended = true;
    stdin.off('data', onInput);
    stdin.off('end', onEnd);
    stdout.off('resize', onResize);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    if (message) stderr.write(`\r\nsparkgate: ${message}\r\n`);
    ws.close(1000);
    done(status);
  }

  ws.on('message', (data: Buffer) => {
    const frame = decodeServerFrame(data.toString('utf8'));
    if (!frame) return;
    switch (frame.type) {
      case 'setup':
        ws.send(size());
        if (stdin.isTTY) stdin.setRawMode(true);
        stdin.on('data', onInput);
        stdin.on('end', onEnd);
        stdin.resume();
        return;
      case 'stdout':
        stdout.write(frame.data);
        return;
      case 'disconnect':
        finish(shellStatus(frame.status));
        return;
      default: {
        const never: never = frame;
        return never;
      }
    }
  });
  ws.on('unexpected-response', (_req, res) => {
    finish(1, `cannot open terminal ${name}: HTTP ${res.statusCode}`);
  });
  ws.on('error', (err) => finish(1, `terminal connection failed: ${err.message}`));
  ws.on('close', (code, reason) => {
    finish(1, `connection to the gateway closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
  });
  stdout.on('resize', onResize);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  return finished;
}

export function registerShell(program: Command): void {
  program
    .command('shell')
    .description('open a REPL on the gateway: Python, a Spark shell, or one attached to a running kernel')
    .addOption(new Option('--kernel <id>', 'attach to this running Python kernel (shares its namespace and SparkSession)').conflicts('spec'))
    .addOption(new Option('--spec <name>', 'start a new session with this REPL').choices([...SPARK_KINDS]))
    .addOption(new Option('--url <url>', 'gateway URL (env SPARKGATE_URL, default http://127.0.0.1:8888)'))
    .addOption(new Option('--token <token>', 'API token (env SPARKGATE_TOKEN)'))
    .addHelpText('after', '\nCtrl-C interrupts the remote REPL; leave it as you would locally (Ctrl-D, exit()).')
    .action(async (flags: ShellFlags) => {
      let status: number;
      try {
        status = await runShell(flags);
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        process.stderr.write(`sparkgate: ${err.message}\n`);
        status = err.exitCode;
      }
      // Let the last output reach the terminal, then leave (stdin may hold the loop open).
      process.stdout.write('', () => process.exit(status));
    });
}
