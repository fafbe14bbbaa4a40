/**
 * Nothing outlives the gateway. `sparkgate serve` runs as a process with a kernel of each kind
 * (the python3 launcher; the Scala adapter with its REPL's shell script and JVM; a plain
 * `python -m ipykernel_launcher` kernelspec) and a terminal REPL, and is SIGKILLed: every process
 * of every kernel's process group exits within EXIT_BOUND_MS and the kernels' ports close.
 *
 * - directly under this test (orphans go to PID 1);
 * - under a subreaper (test/helpers/subreaper.py, what tini or Docker's --init do), where an
 *   orphan's parent becomes the subreaper and never PID 1, so ipykernel's own parent poll never
 *   fires: the subreaper's log proves it adopted (and reaped) every kernel;
 * - under a subreaper with the orphan guard killed first: our own kernels still end by their
 *   lifeline (fd 3), which is what they watch besides the guard.
 *
 * And the runtime dir: a gateway started on the runtime dir a SIGKILLed gateway left behind
 * removes its connection and Spark conf files, while a live gateway's directory survives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config.js';
import { groupMembers, procStat } from '../../src/kernels/proc-stat.js';
import { FIXTURE_SPECS, REPO_SPECS, testSparkPortsEnv } from '../helpers/gateway.js';
import { waitFor } from '../helpers/kernel-client.js';
import { socketOwner, tcpSockets, TCP_LISTEN } from '../soak/process-probe.js';
import { VENV_PYTHON } from '../helpers/python.js';

const KERNEL_PYTHON = VENV_PYTHON;
const CLI_ENTRY = path.join(REPO_ROOT, 'test', 'helpers', 'cli-entry.ts');
const SUBREAPER = path.join(REPO_ROOT, 'test', 'helpers', 'subreaper.py');
/** From the gateway's SIGKILL to the last process of every kernel gone. */
const EXIT_BOUND_MS = 10_000;
const KERNEL_START_TIMEOUT_MS = 180_000;
const TEST_TIMEOUT_MS = 300_000;

interface Served {
  /** The gateway, or the subreaper running it. */
  child: ChildProcess;
  gatewayPid: number;
  subreaperPid: number | undefined;
  url: string;
  token: string;
  root: string;
  output: () => string;
  /** Pids the subreaper reaped (its children, and every orphan it adopted). */
  reaped: Set<number>;
  exited: Promise<number | null>;
}

interface StartedKernel {
  name: string;
  id: string;
  /** The process group leader (the kernel process the gateway started). */
  pid: number;
  ports: number[];
  members: number[];
}

const served: Served[] = [];
const roots: string[] = [];
const groups: number[] = [];

function tempRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-cli-orphans-'));
  roots.push(root);
  return root;
}

async function serve(root: string, options: { subreaper?: boolean } = {}): Promise<Served> {
  const cli = [process.execPath, '--import', 'tsx', CLI_ENTRY, 'serve', '--port', '0', '--log-level', 'warn'];
  const argv = options.subreaper ? [KERNEL_PYTHON, SUBREAPER, '--label', root, ...cli] : cli;
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      SPARKGATE_RUNTIME_DIR: root,
      SPARKGATE_KERNELSPEC_DIRS: `${REPO_SPECS},${FIXTURE_SPECS}`,
      SPARKGATE_KERNEL_START_TIMEOUT_MS: String(KERNEL_START_TIMEOUT_MS),
      ...testSparkPortsEnv(),
    },
    stdio: [options.subreaper ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const reaped = new Set<number>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
    for (const m of d.toString().matchAll(/^subreaper reaped (\d+)$/gm)) reaped.add(Number(m[1]));
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d;
    if (process.env['SPARKGATE_TEST_LOGS']) process.stderr.write(d);
  });
  const s: Served = { child, gatewayPid: 0, subreaperPid: undefined, url: '', token: '', root, output: () => out, reaped, exited };
  served.push(s);
  await waitFor(() => /running at (\S+)/.test(out) || child.exitCode !== null, 60_000, 'gateway banner');
  if (child.exitCode !== null) throw new Error(`gateway exited: ${out}`);
  s.url = /running at (\S+)/.exec(out)![1]!;
  s.token = /token: (\S+)/.exec(out)![1]!;
  if (options.subreaper) {
    const m = /^subreaper (\d+) started (\d+)$/m.exec(out)!;
    s.subreaperPid = Number(m[1]);
    s.gatewayPid = Number(m[2]);
    expect(procStat(s.gatewayPid)?.ppid).toBe(s.subreaperPid);
  } else {
    s.gatewayPid = child.pid!;
  }
  return s;
}

function api(s: Served, route: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.url}${route}`, { ...init, headers: { authorization: `token ${s.token}`, 'content-type': 'application/json' } });
}

/** The gateway's own directory in the runtime dir (src/kernels/runtime-dir.ts). */
function gatewayDir(s: Served): string {
  const name = readdirSync(s.root).find((f) => f.startsWith(`gateway-${s.gatewayPid}-`));
  expect(name, `runtime dir of gateway ${s.gatewayPid}`).toBeDefined();
  return path.join(s.root, name!);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Processes whose command line contains `text` (leaders first when asked). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => pid !== process.pid && cmdline(pid).includes(text));
}

/** Every process of the group, with its command line (for messages). */
function describeGroup(pgid: number): string[] {
  return groupMembers(pgid).map((m) => `${m.pid} ${m.state} ${cmdline(m.pid).slice(0, 120)}`);
}

async function startKernel(s: Served, name: string): Promise<StartedKernel> {
  const res = await api(s, '/api/kernels', { method: 'POST', body: JSON.stringify({ name }) });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id } = (await res.json()) as { id: string };
  const file = path.join(gatewayDir(s), `kernel-${id}.json`);
  const info = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  const ports = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'].map((k) => info[k]!);
  // The Scala REPL's JVM names the connection file too; the leader is the kernel process itself.
  const pid = processesMentioning(`kernel-${id}.json`).find((p) => procStat(p)?.pgid === p);
  expect(pid, `the process group leader of kernel ${name}`).toBeDefined();
  groups.push(pid!);
  const members = groupMembers(pid!).map((m) => m.pid);
  for (const port of ports) expect(listening(port), `${name} port ${port} before`).toBe(true);
  return { name, id, pid: pid!, ports, members };
}

/**
 * A `pyspark` terminal: the real PySpark shell on a pty of the gateway, and its driver JVM. Returns
 * the JVM's pid (its command line names the session's properties file under the runtime dir).
 */
async function startTerminal(s: Served): Promise<number> {
  const res = await api(s, '/api/terminals', { method: 'POST', body: JSON.stringify({ kernelspec: 'pyspark' }) });
  expect(res.status).toBe(200);
  let pid: number | undefined;
  const isDriver = (p: number): boolean => cmdline(p).includes('org.apache.spark.deploy.SparkSubmit');
  await waitFor(
    () => (pid = processesMentioning(s.root).find(isDriver)) !== undefined,
    KERNEL_START_TIMEOUT_MS,
    'the terminal\'s driver JVM',
  );
  groups.push(pid!);
  return pid!;
}

/**
 * Whether a TCP socket listens on the port (/proc/net/tcp, state 0A). Not a connect(): with
 * nothing listening, a connect to a port of the ephemeral range can succeed by connecting to
 * itself (TCP simultaneous open).
 */
function listening(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) return true;
    }
  }
  return false;
}

function guardPid(s: Served): number | undefined {
  return processesMentioning('orphan-guard-main.js').find((p) => cmdline(p).includes(`--gateway-pid ${s.gatewayPid} `));
}

/** SIGKILL the gateway; resolves with the time it took every group to end. */
async function killAndExpectEverythingGone(s: Served, kernels: StartedKernel[], otherGroups: number[] = []): Promise<number> {
  const pgids = [...kernels.map((k) => k.pid), ...otherGroups];
  const t0 = Date.now();
  process.kill(s.gatewayPid, 'SIGKILL');
  try {
    await waitFor(() => pgids.every((g) => groupMembers(g).length === 0), EXIT_BOUND_MS, 'every kernel process group to exit');
  } catch (err) {
    throw new Error(`${(err as Error).message}; left: ${pgids.flatMap(describeGroup).join(' | ')}\n${s.output().slice(-3000)}`);
  }
  const ms = Date.now() - t0;
  // The ports were released: another test running beside this one may bind the same number at
  // once, so what must not listen there is anything of this gateway's (its runtime dir is in
  // every kernel's command line), not anything at all.
  for (const k of kernels) {
    for (const port of k.ports) {
      const holders = tcpSockets()
        .filter((t) => t.state === TCP_LISTEN && t.localPort === port)
        .map((t) => socketOwner(t.inode))
        .filter((pid): pid is number => pid !== undefined && cmdline(pid).includes(s.root));
      expect(holders, `${k.name} port ${port} after: still held by ${holders.map((p) => `${p} ${cmdline(p)}`).join(', ')}`).toEqual([]);
    }
  }
  return ms;
}

afterEach(async () => {
  for (const s of served.splice(0)) {
    for (const pid of [s.gatewayPid, s.child.pid]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    s.child.stdin?.end();
  }
  // Whatever a failed test left: never leak a kernel into the rest of the suite.
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone, as expected */
    }
  }
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('when the gateway is SIGKILLed, every kernel exits on its own', () => {
  it(
    'python3, scala (adapter, shell script and JVM), a plain ipykernel and a pyspark terminal (shell and JVM)',
    async () => {
      const s = await serve(tempRoot());
      const kernels = [await startKernel(s, 'python3'), await startKernel(s, 'scala'), await startKernel(s, 'plain-python')];
      const scala = kernels[1]!;
      expect(scala.members.length, describeGroup(scala.pid).join(' | ')).toBeGreaterThanOrEqual(2);
      expect(scala.members.some((p) => /\bjava\b/.test(cmdline(p)))).toBe(true);
      const terminal = await startTerminal(s);
      const guard = guardPid(s);
      expect(guard).toBeDefined();
      await killAndExpectEverythingGone(s, kernels, [terminal, guard!]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'under a subreaper (orphans are adopted by it, never by PID 1)',
    async () => {
      const s = await serve(tempRoot(), { subreaper: true });
      const kernels = [await startKernel(s, 'python3'), await startKernel(s, 'scala'), await startKernel(s, 'plain-python')];
      const terminal = await startTerminal(s);
      const guard = guardPid(s)!;
      for (const k of kernels) expect(procStat(k.pid)?.ppid).toBe(s.gatewayPid);
      await killAndExpectEverythingGone(s, kernels, [terminal, guard]);
      // Reaped by the subreaper: it had adopted them (only a parent reaps), so their parent never
      // became 1. (A kernel's own children may be reaped by the kernel before it exits.)
      // (The terminal's JVM is a child of its PySpark shell, which may reap it first.)
      const adopted = [...kernels.map((k) => k.pid), guard];
      await waitFor(() => adopted.every((pid) => s.reaped.has(pid)), 5_000, 'the subreaper to reap every orphan').catch(() => undefined);
      expect(adopted.filter((pid) => !s.reaped.has(pid))).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'under a subreaper with the orphan guard killed first: our kernels end by their own lifeline',
    async () => {
      const s = await serve(tempRoot(), { subreaper: true });
      const kernels = [await startKernel(s, 'python3'), await startKernel(s, 'scala')];
      const guard = guardPid(s)!;
      process.kill(guard, 'SIGKILL');
      await waitFor(() => groupMembers(guard).length === 0, 5_000, 'the guard to die');
      // Before the gateway starts another guard (a second later). Nothing else is left to end the
      // kernels: no guard, and a parent pid of 1 never appears.
      expect(guardPid(s)).toBeUndefined();
      await killAndExpectEverythingGone(s, kernels);
      expect(guardPid(s)).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );
});

describe('runtime dir', () => {
  it(
    "a gateway started where a SIGKILLed one left its files removes them; a live gateway's stay",
    async () => {
      const root = tempRoot();
      const live = await serve(root);
      const liveKernel = await startKernel(live, 'python3');
      const liveDir = gatewayDir(live);

      const dead = await serve(root);
      const deadKernel = await startKernel(dead, 'pyspark');
      const deadDir = gatewayDir(dead);
      const id = deadKernel.id;
      expect(readdirSync(deadDir).sort()).toEqual(['gateway.sock', `kernel-${id}.json`, `spark-${id}.json`, `spark-${id}.properties`]);
      await killAndExpectEverythingGone(dead, [deadKernel]);
      expect(readdirSync(deadDir), 'a SIGKILLed gateway cannot clean up after itself').toContain(`kernel-${id}.json`);

      const restarted = await serve(root);
      expect(existsSync(deadDir)).toBe(false);
      expect(readdirSync(root).sort()).toEqual([path.basename(liveDir), path.basename(gatewayDir(restarted))].sort());
      // The live gateway's files and kernel are untouched, and it still serves the kernel.
      expect(readdirSync(liveDir).sort()).toEqual(['gateway.sock', `kernel-${liveKernel.id}.json`]);
      expect(groupMembers(liveKernel.pid).length).toBeGreaterThan(0);
      const res = await api(live, `/api/kernels/${liveKernel.id}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { execution_state: string }).execution_state).toBe('idle');

      // Clean stops remove each gateway's own directory.
      for (const s of [live, restarted]) {
        s.child.kill('SIGTERM');
        expect(await s.exited).toBe(0);
      }
      expect(readdirSync(root)).toEqual([]);
      expect(groupMembers(liveKernel.pid)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
