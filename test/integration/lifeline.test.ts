/**
 * The kernel side of the lifeline (src/kernels/kernel-lifeline.ts), without a gateway: a kernel
 * started with KERNEL_LIFELINE_FD=3 ends when the other end of fd 3 closes, and only then.
 * The Python launcher (kernel/python/sparkgate_kernel/lifeline.py) dies of the SIGTERM it sends
 * its own process group; the Scala adapter stops its engine and exits 0. (orphans.test.ts does
 * the same through a SIGKILLed gateway, with the Scala REPL's JVM.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config.js';
import { newConnectionInfo, releasePorts, writeConnectionFile, type ConnectionInfo } from '../../src/kernels/connection-file.js';
import { LIFELINE_ENV, LIFELINE_FD } from '../../src/kernels/kernel-lifeline.js';
import { groupMembers } from '../../src/kernels/proc-stat.js';
import { waitFor } from '../helpers/kernel-client.js';
import { VENV_PYTHON } from '../helpers/python.js';

const KERNEL_PYTHON = VENV_PYTHON;
const started: { child: ChildProcess; dir: string; info: ConnectionInfo }[] = [];

interface Kernel {
  child: ChildProcess;
  lifeline: Socket;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startKernel(argv: (file: string) => string[], env: Record<string, string> = {}): Promise<Kernel> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-test-lifeline-'));
  const info = await newConnectionInfo('lifeline');
  const file = writeConnectionFile(dir, 'k', info);
  const [command, ...args] = argv(file);
  const child = spawn(command!, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, [LIFELINE_ENV]: String(LIFELINE_FD) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  started.push({ child, dir, info });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, lifeline: child.stdio[LIFELINE_FD] as Socket, output: () => out, exited };
}

/** Ready enough: the kernel has bound its heartbeat port (it does so before anything else can happen). */
async function waitListening(k: Kernel, port: number): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  await waitFor(
    () => readFileSync('/proc/net/tcp', 'utf8').split('\n').some((l) => l.includes(`:${hex} `) && l.trim().split(/\s+/)[3] === '0A'),
    60_000,
    `the kernel to bind port ${port}; output: ${k.output()}`,
  );
}

afterEach(() => {
  for (const { child, dir, info } of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* ended, as expected */
    }
    releasePorts(info);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('a kernel ends when its lifeline closes', () => {
  it('the Python launcher: SIGTERM to its process group', async () => {
    const k = await startKernel((file) => [KERNEL_PYTHON, '-m', 'sparkgate_kernel', '--kind', 'python', '-f', file], {
      PYTHONPATH: path.join(REPO_ROOT, 'kernel', 'python'),
    });
    const { info } = started.at(-1)!;
    await waitListening(k, info.hb_port);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(k.child.exitCode).toBeNull(); // an open lifeline keeps nothing from running
    k.lifeline.destroy();
    const t0 = Date.now();
    const exit = await k.exited;
    expect(exit.signal).toBe('SIGTERM');
    expect(Date.now() - t0).toBeLessThan(5_000);
    await waitFor(() => groupMembers(k.child.pid!).length === 0, 5_000, 'the group to be gone');
  });

  it('the Scala adapter: stops its engine and exits 0', async () => {
    // spark-shell is not installed here: the adapter runs its "unavailable" engine, no JVM.
    const k = await startKernel((file) => [
      process.execPath,
      path.join(REPO_ROOT, 'dist', 'adapters', 'scala', 'main.js'),
      '-f',
      file,
      '--engine',
      'spark-shell',
      '--',
      'spark-shell',
    ], { SPARK_HOME: '', PATH: '/usr/bin:/bin' });
    const { info } = started.at(-1)!;
    await waitListening(k, info.hb_port);
    expect(k.child.exitCode).toBeNull();
    k.lifeline.destroy();
    const exit = await k.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(k.output()).toContain('the gateway is gone (lifeline closed)');
  });
});
