/**
 * The orphan guard (src/kernels/orphan-guard.ts, the compiled orphan-guard-main.js) with real
 * process groups standing in for kernels: when its stdin closes it ends exactly the groups still
 * registered (SIGTERM, then SIGKILL for one that ignores it); it is started again when it dies;
 * and neither it nor its pipe keeps a gateway's event loop alive, so a gateway process that just
 * ends (no stop()) still takes its kernels with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config.js';
import { groupExists, groupMembers } from '../../src/kernels/proc-stat.js';
import { createLogger } from '../../src/logger.js';
import { OrphanGuard } from '../../src/kernels/orphan-guard.js';
import { waitFor } from '../helpers/kernel-client.js';

const groups: number[] = [];
const dirs: string[] = [];
const guards: OrphanGuard[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-test-guard-'));
  dirs.push(dir);
  return dir;
}

/** A process group standing in for a kernel: a shell and a child of it. */
function fakeKernel(options: { ignoreTerm?: boolean } = {}): number {
  const script = `${options.ignoreTerm ? 'trap "" TERM; ' : ''}sleep 1000 & wait`;
  const child: ChildProcess = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  groups.push(child.pid!);
  return child.pid!;
}

function logSink(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, destination };
}

function newGuard(overrides: Partial<ConstructorParameters<typeof OrphanGuard>[0]> = {}): { guard: OrphanGuard; lines: string[] } {
  const { lines, destination } = logSink();
  const guard = new OrphanGuard({ logger: createLogger({ level: 'debug', destination }), graceMs: 500, ...overrides });
  guards.push(guard);
  return { guard, lines };
}

afterEach(async () => {
  for (const g of guards.splice(0)) await g.stop();
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* ended by the guard, as expected */
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('orphan guard', () => {
  it('on end-of-file ends the registered groups (SIGKILL for one that ignores SIGTERM) and nothing else', async () => {
    const { guard } = newGuard();
    await guard.start();
    expect(guard.pid).toBeGreaterThan(0);
    const polite = fakeKernel();
    const stubborn = fakeKernel({ ignoreTerm: true });
    const ended = fakeKernel();
    const unregistered = fakeKernel();
    await waitFor(() => [polite, stubborn, ended, unregistered].every((g) => groupMembers(g).length === 2), 5_000, 'fake kernels');
    guard.add(polite);
    guard.add(stubborn);
    guard.add(ended);
    guard.remove(ended);
    const guardPid = guard.pid!;
    const t0 = Date.now();
    await guard.stop();
    expect(groupExists(polite)).toBe(false);
    expect(groupExists(stubborn)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450); // the stubborn one needed the SIGKILL
    expect(groupMembers(ended)).toHaveLength(2);
    expect(groupMembers(unregistered)).toHaveLength(2);
    expect(groupExists(guardPid)).toBe(false);
  });

  it('is started again when it dies, and told the groups still running', async () => {
    const { guard, lines } = newGuard({ respawnDelayMs: 50 });
    await guard.start();
    const kernel = fakeKernel();
    guard.add(kernel);
    const first = guard.pid!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => guard.pid !== undefined && guard.pid !== first, 5_000, 'a new guard');
    expect(lines.some((l) => l.includes('the orphan guard exited'))).toBe(true);
    await new Promise((r) => setTimeout(r, 200)); // let it read its registrations
    await guard.stop();
    expect(groupExists(kernel)).toBe(false);
  });

  it('without its compiled script the gateway goes on, saying why', async () => {
    const { guard, lines } = newGuard({ script: path.join(tempDir(), 'missing.js') });
    await guard.start();
    guard.add(fakeKernel());
    expect(guard.pid).toBeUndefined();
    expect(lines.some((l) => l.includes('"level":"error"') && l.includes('npm run build'))).toBe(true);
    await guard.stop();
  });

  it('does not keep a gateway alive: a process that just ends still takes its kernels with it', async () => {
    const kernel = fakeKernel();
    const code = [
      `import { OrphanGuard } from ${JSON.stringify(path.join(REPO_ROOT, 'src/kernels/orphan-guard.ts'))};`,
      `import { createLogger } from ${JSON.stringify(path.join(REPO_ROOT, 'src/logger.ts'))};`,
      `const guard = new OrphanGuard({ logger: createLogger({ level: 'silent' }), graceMs: 500 });`,
      'await guard.start();',
      `guard.add(${kernel});`,
      'console.log(`guard ${guard.pid}`);',
    ].join('\n');
    const gateway = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    gateway.stdout!.on('data', (d) => (out += d));
    const exitCode = await new Promise((resolve) => gateway.once('exit', resolve));
    expect(exitCode).toBe(0);
    const guardPid = Number(/guard (\d+)/.exec(out)?.[1]);
    expect(guardPid).toBeGreaterThan(0);
    await waitFor(() => !groupExists(kernel) && !groupExists(guardPid), 5_000, 'the kernel and the guard to end');
  });
});
