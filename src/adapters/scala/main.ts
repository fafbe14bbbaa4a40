#!/usr/bin/env node
/**
 * The Scala kernel adapter's command line, what a kernelspec runs:
 *
 *   node dist/adapters/scala/main.js -f CONNECTION_FILE [--engine scala|spark-shell]
 *        [--init kernel/scala/init.scala] [--start-timeout-ms 600000] -- REPL_COMMAND [ARGS...]
 *
 * It binds the connection file's ports, starts the REPL and serves Jupyter requests until a
 * shutdown_request, SIGTERM, the REPL's death (exit code 1, which the gateway reports as a
 * dead kernel), or the end of its lifeline (the gateway is gone: KERNEL_LIFELINE_FD, see
 * src/kernels/kernel-lifeline.ts). Whenever it exits, the REPL's JVM ends too: its stdin closes,
 * on which the init script stops the SparkContext and exits (and stop() kills it if it does not
 * within its grace). Its log goes to stderr.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readConnectionFile, type ConnectionInfo } from '../../kernels/connection-file.js';
import { watchLifeline } from '../../kernels/kernel-lifeline.js';
import { MessageSigner } from '../../wire/zmq-codec.js';
import { KernelServerSockets } from './kernel-server-sockets.js';
import { replEnv, resolveReplCommand, type EngineKind } from './repl-command.js';
import { ScalaReplEngine, UnavailableEngine, type ReplEngine } from './repl-engine.js';
import { ReplKernel } from './repl-kernel.js';
import { ReplProcess } from './repl-process.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const VERSION = '0.1.0';

function log(level: string, message: string): void {
  process.stderr.write(`[sparkgate-scala ${level}] ${message.replace(/\s+$/, '')}\n`);
}

function usage(message: string): never {
  process.stderr.write(`sparkgate-scala: ${message}\nusage: main.js -f CONNECTION_FILE [--engine scala|spark-shell] [--init FILE] -- REPL_COMMAND [ARGS...]\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  // Before anything slow (the REPL takes seconds to start): a gateway that dies meanwhile ends us.
  let stopRepl: (() => Promise<void>) | undefined;
  watchLifeline(process.env, () => {
    log('info', 'the gateway is gone (lifeline closed): stopping the REPL');
    const hardExit = setTimeout(() => process.exit(1), 10_000);
    void (stopRepl?.() ?? Promise.resolve()).finally(() => {
      clearTimeout(hardExit);
      process.exit(0);
    });
  });
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'connection-file': { type: 'string', short: 'f' },
      engine: { type: 'string', default: 'scala' },
      init: { type: 'string', default: path.join(REPO_ROOT, 'kernel', 'scala', 'init.scala') },
      'start-timeout-ms': { type: 'string', default: '600000' },
    },
  });
  const file = values['connection-file'];
  if (!file) usage('missing -f CONNECTION_FILE');
  const engineKind = values.engine;
  if (engineKind !== 'scala' && engineKind !== 'spark-shell') usage(`--engine must be scala or spark-shell, not ${engineKind}`);
  const startTimeoutMs = Number(values['start-timeout-ms']);
  if (!Number.isInteger(startTimeoutMs) || startTimeoutMs < 1_000) usage('--start-timeout-ms must be an integer >= 1000');

  let info: ConnectionInfo;
  try {
    info = readConnectionFile(file);
  } catch (err) {
    usage(`cannot read connection file ${file}: ${(err as Error).message}`);
  }

  const engine = makeEngine(engineKind, positionals, values.init, startTimeoutMs, file);
  stopRepl = () => engine.stop();
  let kernel: ReplKernel | undefined;
  // Subscriptions that arrive before the kernel exists are greeted once it does.
  const earlySubscriptions: string[] = [];
  const sockets = await KernelServerSockets.bind({
    info,
    signer: new MessageSigner(info.key),
    onRequest: (req) => kernel?.onRequest(req),
    onSubscribe: (topic) => (kernel ? kernel.welcome(topic) : earlySubscriptions.push(topic)),
    onDecodeError: (channel, error) => log('warn', `dropped a ${channel} message: ${error}`),
  });
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    sockets.close();
    // Give ZeroMQ's linger a moment to deliver the last replies.
    setTimeout(() => process.exit(code), 100);
  };
  kernel = new ReplKernel({
    sockets,
    engine,
    implementation: 'sparkgate-scala',
    implementationVersion: VERSION,
    log,
    onExit: exit,
  });
  for (const topic of earlySubscriptions.splice(0)) kernel.welcome(topic);
  const terminate = (signal: string): void => {
    log('info', `${signal}: stopping the REPL`);
    void engine.stop().finally(() => exit(0));
  };
  process.on('SIGTERM', () => terminate('SIGTERM'));
  process.on('SIGHUP', () => terminate('SIGHUP'));
  // A group-wide SIGINT (interrupt_mode "signal") also reaches the JVM, whose handler interrupts
  // the cell; the adapter itself must survive it.
  process.on('SIGINT', () => log('info', 'SIGINT ignored (the REPL handles its own)'));
}

function makeEngine(kind: EngineKind, command: string[], initScript: string, startTimeoutMs: number, connectionFile: string): ReplEngine {
  const plan = resolveReplCommand({ engine: kind, command, env: process.env });
  if (!plan.ok) {
    log('warn', plan.message);
    return new UnavailableEngine(
      { ename: plan.ename, message: plan.message },
      { version: '', banner: `Scala kernel (sparkgate): ${plan.message.split('\n')[0]}` },
    );
  }
  log('info', `REPL: ${plan.argv.join(' ')}`);
  const repl = new ReplProcess({
    argv: plan.argv,
    env: replEnv(process.env, connectionFile),
    cwd: process.cwd(),
    initScript,
    key: randomBytes(18).toString('base64url'),
    startTimeoutMs,
    log: (stream, text) => log(stream === 'stderr' ? 'repl-stderr' : 'repl', text),
  });
  // spark-shell stops its SparkContext when its stdin closes (executors, UI, temp dirs): give it
  // time before the JVM is killed.
  return new ScalaReplEngine(repl, { stopGraceMs: kind === 'spark-shell' ? 10_000 : 3_000 });
}

main().catch((err: Error) => {
  log('error', err.stack ?? err.message);
  process.exit(1);
});
