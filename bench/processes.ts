/**
 * Every process the bench starts, so that all of them (servers, their kernels, directly spawned
 * kernels) are stopped at the end, on error and on SIGINT, and those a failed phase started are
 * stopped before the next phase (`processMark`, `stopStartedSince`). Also reads RSS and process
 * trees from /proc (Linux only, like the rest of the bench).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { withDeadline } from './deadline.js';

/** Scratch space of this run (connection files, server config and runtime dirs); removed by stopAll. */
export const BENCH_TMP_DIR = path.join(os.tmpdir(), `sparkgate-bench-${process.pid}`);

export interface Tracked {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited, or could not be spawned at all. */
  readonly exited: Promise<void>;
  /** Spawn order: what started after a `processMark()`. */
  readonly seq: number;
}

const tracked = new Set<Tracked>();
let lastSeq = 0;

/** Spawn in its own process group (so a group kill reaches what it spawns) and track it. */
export function spawnTracked(name: string, command: string, args: string[], options: SpawnOptions = {}): Tracked {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
    // A failed spawn (ENOENT, EACCES) emits 'error' and possibly no 'exit': that is an exit too,
    // and an 'error' without a listener would throw.
    child.once('error', () => resolve());
  });
  const entry: Tracked = { name, child, exited, seq: ++lastSeq };
  tracked.add(entry);
  void exited.then(() => tracked.delete(entry));
  return entry;
}

/** The spawn sequence so far; `stopStartedSince(mark)` stops what was spawned after it. */
export function processMark(): number {
  return lastSeq;
}

/** Stop every tracked process spawned after `mark` (a failed phase's servers and kernels). */
export async function stopStartedSince(mark: number, graceMs = 5_000): Promise<string[]> {
  const since = [...tracked].filter((t) => t.seq > mark);
  await Promise.all(since.map((t) => stopTracked(t, graceMs)));
  return since.map((t) => `${t.name} (pid ${t.child.pid ?? '?'})`);
}

/** Pids of every descendant of `pid` (kernels keep their parent even in their own session). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: fields restart after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      /* exited while we looked */
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Resident set size of one process (not its children), in KiB. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Stop gracefully (SIGTERM to the process, which shuts its kernels down), then SIGKILL whatever
 * of its tree is left after `graceMs`.
 */
export async function stopTracked(entry: Tracked, graceMs = 10_000): Promise<void> {
  const pid = entry.child.pid;
  if (pid === undefined) return;
  const tree = descendants(pid);
  kill(pid, 'SIGTERM');
  const timedOut = await withDeadline(entry.exited, graceMs, `${entry.name} to exit after SIGTERM`).then(
    () => false,
    () => true,
  );
  if (timedOut) kill(-pid, 'SIGKILL');
  // Kernels in their own process groups: whatever outlived the server goes now.
  await sleep(timedOut ? 0 : 200);
  for (const p of tree) {
    kill(-p, 'SIGKILL');
    kill(p, 'SIGKILL');
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...tracked].map((t) => stopTracked(t, 5_000)));
  rmSync(BENCH_TMP_DIR, { recursive: true, force: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
