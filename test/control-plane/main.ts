/**
 * Test infrastructure CLI: start the test control plane (see control-plane.ts), write its admin
 * kubeconfig, and either run a command with KUBECONFIG set and stop everything when it ends, or
 * (no command) stay up until SIGINT/SIGTERM.
 *
 *   node --import tsx test/control-plane/main.ts [--dir DIR] [-- command args...]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlPlane } from './control-plane.js';

async function main(argv: string[]): Promise<number> {
  const sep = argv.indexOf('--');
  const own = sep === -1 ? argv : argv.slice(0, sep);
  const command = sep === -1 ? [] : argv.slice(sep + 1);
  const dirFlag = own.indexOf('--dir');
  const dir = dirFlag === -1 ? mkdtempSync(path.join(os.tmpdir(), 'sparkgate-cp-')) : path.resolve(own[dirFlag + 1] ?? '.');
  const cp = new ControlPlane({ dir, keepDir: dirFlag !== -1, log: (l) => process.stderr.write(`${l}\n`) });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= cp.stop());
  const started = Date.now();
  try {
    await cp.start();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    await stop();
    return 1;
  }
  process.stderr.write(`control-plane: ready in ${Date.now() - started} ms at ${cp.server}\n`);
  process.stdout.write(`KUBECONFIG=${cp.adminKubeconfigPath}\n`);
  if (command.length === 0) {
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await stop();
    return 0;
  }
  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, KUBECONFIG: cp.adminKubeconfigPath } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => child.once('exit', (c, s) => resolve(c ?? (s ? 128 : 1))));
  await stop();
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`control-plane: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
