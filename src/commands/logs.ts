/**
 * `sparkgate logs ID [--executor N] [--tail N] [-f]`: a session's driver log, or one executor's,
 * from `GET /api/sparkgate/sessions/{id}/logs`, streamed to stdout as it arrives. Exits 0 when
 * the stream ends (with -f: when the session or executor ends), non-zero with the gateway's
 * message on errors.
 */
import type { Writable } from 'node:stream';
import { Command, InvalidArgumentError, Option } from 'commander';
import { authHeaders, CliError, resolveTarget, type GatewayTarget } from '../terminals/gateway-client.js';

export interface LogsFlags {
  url?: string;
  token?: string;
  executor?: string;
  tail?: number;
  follow?: boolean;
}

/** The route and query for these flags. */
export function logsRoute(sessionId: string, flags: Pick<LogsFlags, 'executor' | 'tail' | 'follow'>): string {
  const query = new URLSearchParams();
  if (flags.executor !== undefined) {
    query.set('source', 'executor');
    query.set('executor', flags.executor);
  }
  if (flags.tail !== undefined) query.set('tail', String(flags.tail));
  if (flags.follow) query.set('follow', 'true');
  const qs = query.toString();
  return `/api/sparkgate/sessions/${encodeURIComponent(sessionId)}/logs${qs ? `?${qs}` : ''}`;
}

/** Copies the log to `out` as it arrives; resolves at the end of the stream. */
export async function streamLogs(target: GatewayTarget, route: string, out: Writable, signal?: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(target.url + route, { headers: authHeaders(target), ...(signal ? { signal } : {}) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`cannot reach the gateway at ${target.url} (${cause}); set --url or SPARKGATE_URL`);
  }
  if (!res.ok) throw new CliError(await errorMessage(res));
  if (!res.body) return;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!out.write(chunk)) await waitForDrain(out);
    }
  } catch (err) {
    if (signal?.aborted) return;
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return; // `| head`: the reader has what it wanted
    throw new CliError(`the log stream broke off: ${(err as Error).message}`);
  }
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  let message = text.slice(0, 300) || res.statusText;
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not JSON
  }
  if (res.status === 401) message += '; set --token or SPARKGATE_TOKEN';
  return `${res.status} ${message}`;
}

function waitForDrain(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      out.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      out.off('drain', onDrain);
      reject(err);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}

function count(name: string): (value: string) => number {
  return (value) => {
    if (!/^[0-9]{1,9}$/.test(value)) throw new InvalidArgumentError(`${name} must be a number of lines, e.g. ${name} 100`);
    return Number(value);
  };
}

function executorId(value: string): string {
  if (!/^[0-9]{1,9}$/.test(value)) throw new InvalidArgumentError('must be an executor id, e.g. --executor 1 (sparkgate sessions lists executors)');
  return value;
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("print a session's driver log (or an executor's log with --executor); -f follows it until the session ends")
    .argument('<id>', 'session id (a kernel id)')
    .addOption(new Option('--executor <n>', "an executor's log instead of the driver's (Kubernetes mode)").argParser(executorId))
    .addOption(new Option('--tail <n>', 'only the last N lines').argParser(count('--tail')))
    .addOption(new Option('-f, --follow', 'keep printing new output until the session (or executor) ends'))
    .addOption(new Option('--url <url>', 'gateway URL (env SPARKGATE_URL, default http://127.0.0.1:8888)'))
    .addOption(new Option('--token <token>', 'API token (env SPARKGATE_TOKEN)'))
    .action(async (id: string, flags: LogsFlags) => {
      // A reader that goes away (`| head`) is not an error.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(0);
      });
      try {
        await streamLogs(resolveTarget(flags, process.env), logsRoute(id, flags), process.stdout);
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        process.stderr.write(`sparkgate: ${err.message}\n`);
        process.exitCode = err.exitCode;
      }
    });
}
