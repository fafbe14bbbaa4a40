/**
 * What the soak reads about processes from /proc (Linux, like the rest of the suite): open fds,
 * child processes, processes naming the runtime dir, and TCP sockets by port and owner.
 * proc(5): https://man7.org/linux/man-pages/man5/proc.5.html
 */
import { readdirSync, readFileSync, readlinkSync, type Dirent } from 'node:fs';
import path from 'node:path';

// The same readings as the bench's (one implementation of each).
export { descendants, freePort, rssKiB } from '../../bench/processes.js';

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Direct children of a process, from every thread's `children` list (none once it is gone). */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const tid of tids) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) out.add(Number(c));
    } catch {
      /* thread exited */
    }
  }
  return [...out];
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** Every process (but this one) whose command line contains `text`: kernels name their connection file. */
export function processesMentioning(text: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmd = cmdline(Number(entry));
    if (cmd.includes(text)) out.push({ pid: Number(entry), cmd });
  }
  return out;
}

/** Socket inodes a process holds open. */
export function socketInodes(pid: number): Set<number> {
  const out = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(Number(m[1]));
    } catch {
      /* closed while we looked */
    }
  }
  return out;
}

export interface TcpSocket {
  readonly localPort: number;
  readonly remotePort: number;
  /** proc(5) state: 0A = LISTEN, 01 = ESTABLISHED, 06 = TIME_WAIT, ... */
  readonly state: string;
  /** 0 for sockets no process holds any more (TIME_WAIT). */
  readonly inode: number;
}

export const TCP_LISTEN = '0A';

/** Every TCP socket of this network namespace (IPv4 and IPv6). */
export function tcpSockets(): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      out.push({
        localPort: parseInt(f[1]!.split(':')[1]!, 16),
        remotePort: parseInt(f[2]!.split(':')[1]!, 16),
        state: f[3]!,
        inode: Number(f[9]),
      });
    }
  }
  return out;
}

/** The process holding a socket inode (among those we may read), if any. */
export function socketOwner(inode: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (socketInodes(Number(entry)).has(inode)) return Number(entry);
  }
  return undefined;
}

/** Nearest-rank percentile. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Every file under a directory, as paths relative to it (none when it is gone). */
export function filesUnder(dir: string): string[] {
  try {
    return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
      .filter((d) => !d.isDirectory())
      .map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
  } catch {
    return [];
  }
}
