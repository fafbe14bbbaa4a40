/**
 * `sparkgate serve` as a process: prints its URL and token, SIGTERM shuts every kernel down and
 * leaves no process or connection file behind; after SIGKILL the kernels exit by themselves
 * (orphans.test.ts covers every kind of kernel, a subreaper and the runtime dir).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config.js';
import { FIXTURE_SPECS } from '../helpers/gateway.js';
import { alive, waitFor } from '../helpers/kernel-client.js';

interface Running {
  child: ChildProcess;
  url: string;
  token: string;
  runtimeDir: string;
  output: () => string;
}

const started: Running[] = [];

async function serve(extraEnv: Record<string, string> = {}): Promise<Running> {
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-cli-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'test/helpers/cli-entry.ts'), 'serve', '--port', '0', '--log-level', 'warn'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, SPARKGATE_RUNTIME_DIR: runtimeDir, SPARKGATE_KERNELSPEC_DIRS: FIXTURE_SPECS, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await waitFor(() => /running at (\S+)/.test(out) || child.exitCode !== null, 30_000, 'gateway banner');
  if (child.exitCode !== null) throw new Error(`gateway exited: ${out}`);
  const url = /running at (\S+)/.exec(out)![1]!;
  const token = /token: (\S+)/.exec(out)![1]!;
  const running = { child, url, token, runtimeDir, output: () => out };
  started.push(running);
  return running;
}

async function startKernel(r: Running): Promise<{ id: string; pid: number }> {
  const res = await fetch(`${r.url}/api/kernels`, {
    method: 'POST',
    headers: { authorization: `token ${r.token}` },
    body: JSON.stringify({ name: 'plain-python' }),
  });
  expect(res.status).toBe(201);
  const { id } = await res.json();
  const file = JSON.parse(readFileSync(path.join(gatewayDir(r), `kernel-${id}.json`), 'utf8'));
  expect(file.key).toMatch(/^[0-9a-f]{64}$/);
  const pid = pidOfKernel(id);
  return { id, pid };
}

/** The gateway's own directory in the runtime dir (src/kernels/runtime-dir.ts). */
function gatewayDir(r: Running): string {
  const dirs = readdirSync(r.runtimeDir).filter((f) => f.startsWith('gateway-'));
  expect(dirs).toHaveLength(1);
  return path.join(r.runtimeDir, dirs[0]!);
}

/** The kernel process whose command line holds the kernel's connection file. */
function pidOfKernel(id: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(`kernel-${id}.json`)) return Number(entry);
    } catch {
      /* gone */
    }
  }
  throw new Error(`no process for kernel ${id}`);
}


afterEach(() => {
  for (const r of started.splice(0)) {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
    rmSync(r.runtimeDir, { recursive: true, force: true });
  }
});

describe('sparkgate serve', () => {
  it('prints --help', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/helpers/cli-entry.ts'), 'serve', '--help'], {
      cwd: REPO_ROOT,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((r) => child.once('exit', r));
    expect(out).toContain('--port');
    expect(out).toContain('SPARKGATE_');
  });

  it('refuses an invalid setting with a message naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/helpers/cli-entry.ts'), 'serve'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SPARKGATE_MAX_KERNELS: 'lots' },
    });
    let out = '';
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(out).toContain('SPARKGATE_MAX_KERNELS');
  });

  it('SIGTERM shuts every kernel down and leaves nothing behind', async () => {
    const r = await serve();
    const kernels = [await startKernel(r), await startKernel(r)];
    expect(kernels.every((k) => alive(k.pid))).toBe(true);
    r.child.kill('SIGTERM');
    const code = await new Promise((resolve) => r.child.once('exit', resolve));
    expect(code).toBe(0);
    expect(kernels.some((k) => alive(k.pid))).toBe(false);
    // Connection files, the gateway's directory and its socket: all gone.
    expect(readdirSync(r.runtimeDir)).toEqual([]);
    expect(r.output()).not.toMatch(/"level":"(error|fatal)"/);
  });

  it('after SIGKILL of the gateway its kernels exit by themselves', async () => {
    const r = await serve();
    const kernel = await startKernel(r);
    r.child.kill('SIGKILL');
    await new Promise((resolve) => r.child.once('exit', resolve));
    await waitFor(() => !alive(kernel.pid), 15_000, 'orphaned kernel exits');
  });
});
