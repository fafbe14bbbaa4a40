/**
 * The gateway's own directory for runtime state (connection files, Spark conf files): one
 * subdirectory of `runtimeDir` per gateway process, so several gateways can share `runtimeDir`
 * (the default is per user) and a restarted one can tell what a dead one left behind.
 *
 *   <runtimeDir>/                                  mode 0700, shared
 *     gateway-<pid>-<start>-<n>/                   one per gateway; removed at its stop
 *       gateway.sock                               listening while the gateway lives
 *       kernel-<id>.json                           connection files (0600)
 *       spark-<id>.json, spark-<id>.properties     Spark sessions' conf (0600)
 *
 * `<start>` is the process start time from /proc/<pid>/stat (a random token where there is no
 * /proc); `<n>` tells apart gateways of one process (tests run several). At start() every
 * sibling `gateway-*` whose owner is gone is removed. The owner is alive when its socket accepts
 * a connection (this works across PID namespaces: two containers sharing the directory) or when
 * its pid is a process with the same start time (a gateway of this namespace that has not bound
 * its socket yet). A SIGKILLed gateway's socket file stays but refuses connections, and its pid
 * is gone or belongs to a process that started later. (Left open: a gateway of another PID
 * namespace in the millisecond between creating its directory and binding its socket.)
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { hasProcfs, pidExists, procStat } from './proc-stat.js';

export const GATEWAY_DIR_PREFIX = 'gateway-';
export const GATEWAY_SOCKET = 'gateway.sock';
const GATEWAY_DIR = /^gateway-(\d+)-([0-9a-z]+)-[0-9a-z]+$/;
/** A stale directory being removed (renamed first, so two sweeping gateways never race on it). */
const REMOVING_PREFIX = '.removing-';
/** sockaddr_un.sun_path holds 108 bytes with the NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

let instances = 0;

export interface OwnerIdentity {
  pid: number;
  token: string;
}

export interface RuntimeDirOptions {
  /** The shared `runtimeDir` setting. */
  root: string;
  /** Tests: another identity than this process's. */
  self?: OwnerIdentity;
  /** Whether the owner of a sibling directory is alive; the default is described above. */
  isOwnerAlive?: (dir: string, owner: OwnerIdentity) => Promise<boolean>;
  onRemoved?: (dir: string) => void;
}

let thisProcess: OwnerIdentity | undefined;

/** This process: its pid and start time (or a random token where there is no /proc). */
export function selfIdentity(): OwnerIdentity {
  thisProcess ??= { pid: process.pid, token: procStat(process.pid)?.startTime ?? randomBytes(6).toString('hex') };
  return thisProcess;
}

export function parseGatewayDirName(name: string): OwnerIdentity | undefined {
  const m = GATEWAY_DIR.exec(name);
  return m ? { pid: Number(m[1]), token: m[2]! } : undefined;
}

/** The default liveness test: the owner's socket answers, or its pid is still the same process. */
export async function isOwnerAlive(dir: string, owner: OwnerIdentity): Promise<boolean> {
  if (await socketAnswers(path.join(dir, GATEWAY_SOCKET))) return true;
  if (!hasProcfs()) return pidExists(owner.pid);
  return procStat(owner.pid)?.startTime === owner.token;
}

/** True when something listens on the socket; "cannot tell" (permissions, a full backlog) counts as yes. */
export function socketAnswers(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    const done = (answer: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(true), 2_000);
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT' && err.code !== 'ENOTSOCK'));
  });
}

export class RuntimeDir {
  /** This gateway's directory (exists between start() and stop()). */
  readonly path: string;
  private readonly self: OwnerIdentity;
  private server: net.Server | undefined;
  private starting: Promise<string[]> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: RuntimeDirOptions) {
    this.self = options.self ?? selfIdentity();
    this.path = path.join(options.root, `${GATEWAY_DIR_PREFIX}${this.self.pid}-${this.self.token}-${(++instances).toString(36)}`);
  }

  /** Create this gateway's directory, then remove what dead gateways left; resolves with what was removed. */
  start(): Promise<string[]> {
    this.starting ??= (async () => {
      mkdirSync(this.options.root, { recursive: true, mode: 0o700 });
      mkdirSync(this.path, { recursive: true, mode: 0o700 });
      await this.listen();
      return this.sweep();
    })();
    return this.starting;
  }

  /** Remove this gateway's directory and everything in it; safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.starting) await this.starting.catch(() => undefined);
      const server = this.server;
      this.server = undefined;
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(this.path, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  /** The liveness socket; skipped when its path would be too long (the pid test remains). */
  private async listen(): Promise<void> {
    const file = path.join(this.path, GATEWAY_SOCKET);
    if (Buffer.byteLength(file) > MAX_SOCKET_PATH_BYTES) return;
    rmSync(file, { force: true });
    const server = net.createServer((socket) => socket.destroy());
    server.unref();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    this.server = server;
  }

  private async sweep(): Promise<string[]> {
    const isAlive = this.options.isOwnerAlive ?? isOwnerAlive;
    const removed: string[] = [];
    for (const name of readdirSync(this.options.root)) {
      const dir = path.join(this.options.root, name);
      if (dir === this.path) continue;
      const owner = parseGatewayDirName(name);
      if (!owner && !name.startsWith(REMOVING_PREFIX)) continue; // not ours to judge
      if (!isOwnDirectory(dir)) continue;
      if (owner && (await isAlive(dir, owner))) continue;
      removeTree(this.options.root, dir);
      removed.push(dir);
      this.options.onRemoved?.(dir);
    }
    return removed;
  }
}

/** A real directory (not a link) owned by this user. */
function isOwnDirectory(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && (process.getuid === undefined || st.uid === process.getuid());
  } catch {
    return false;
  }
}

function removeTree(root: string, dir: string): void {
  let target = dir;
  if (!path.basename(dir).startsWith(REMOVING_PREFIX)) {
    target = path.join(root, `${REMOVING_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      renameSync(dir, target);
    } catch {
      return; // another gateway got there first
    }
  }
  try {
    rmSync(target, { recursive: true, force: true });
  } catch {
    /* another gateway is removing it too */
  }
}
