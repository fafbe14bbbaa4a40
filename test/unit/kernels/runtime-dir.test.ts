/**
 * RuntimeDir on a real temp directory with real pids: which leftovers a starting gateway removes
 * (dead owner, pid reused by another process, an interrupted removal) and which it keeps (a live
 * owner by pid, a live owner by socket only, as in another PID namespace; anything not named
 * like a gateway's directory).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers, parseProcStat, procStat } from '../../../src/kernels/proc-stat.js';
import { GATEWAY_SOCKET, parseGatewayDirName, RuntimeDir, selfIdentity, socketAnswers } from '../../../src/kernels/runtime-dir.js';

const roots: string[] = [];
const servers: net.Server[] = [];

function tempRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-test-rtdir-'));
  roots.push(root);
  return root;
}

/** A pid that existed and is gone now. */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid!;
}

function leftover(root: string, name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'kernel-x.json'), '{}');
  return dir;
}

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe('proc stat', () => {
  it('parses a command name with spaces and parentheses', () => {
    const text = '4242 (we (ird) name) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3\n';
    expect(parseProcStat(text)).toEqual({ pid: 4242, state: 'S', ppid: 17, pgid: 4242, startTime: '987654' });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('reads this process and its group', () => {
    const me = procStat(process.pid)!;
    expect(me.pid).toBe(process.pid);
    expect(me.ppid).toBe(process.ppid);
    expect(groupMembers(me.pgid).map((m) => m.pid)).toContain(process.pid);
  });
});

describe('RuntimeDir', () => {
  it('creates its own directory (0700) with a liveness socket, and removes it at stop, twice safely', async () => {
    const root = tempRoot();
    const rd = new RuntimeDir({ root });
    const self = selfIdentity();
    expect(parseGatewayDirName(path.basename(rd.path))).toEqual(self);
    expect(await rd.start()).toEqual([]);
    expect(await rd.start()).toEqual([]);
    expect(statSync(rd.path).mode & 0o777).toBe(0o700);
    expect(await socketAnswers(path.join(rd.path, GATEWAY_SOCKET))).toBe(true);
    await rd.stop();
    await rd.stop();
    expect(existsSync(rd.path)).toBe(false);
    expect(readdirSync(root)).toEqual([]);
  });

  it('two gateways of one process get directories of their own', async () => {
    const root = tempRoot();
    const a = new RuntimeDir({ root });
    const b = new RuntimeDir({ root });
    expect(a.path).not.toBe(b.path);
    await a.start();
    await b.start();
    expect(existsSync(a.path)).toBe(true);
    await b.stop();
    expect(existsSync(a.path)).toBe(true);
    await a.stop();
  });

  it('removes what dead gateways left and keeps what live ones own', async () => {
    const root = tempRoot();
    const me = selfIdentity();
    // A live gateway of this process (same pid and start time).
    const sibling = new RuntimeDir({ root });
    await sibling.start();
    const dead = leftover(root, `gateway-${deadPid()}-${me.token}-1`);
    // The pid is alive, but it is another process than the one that made the directory.
    const reused = leftover(root, `gateway-${process.pid}-1-1`);
    const interrupted = leftover(root, '.removing-abc123');
    // A live gateway in another PID namespace: its pid means nothing here, its socket answers.
    const elsewhere = leftover(root, `gateway-${deadPid()}-77-1`);
    const server = net.createServer((s) => s.destroy());
    servers.push(server);
    await new Promise<void>((r) => server.listen(path.join(elsewhere, GATEWAY_SOCKET), r));
    // A SIGKILLed gateway's socket stays, but nothing listens on it any more.
    const killed = leftover(root, `gateway-${deadPid()}-${me.token}-2`);
    const bind = 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])';
    execFileSync('python3', ['-c', bind, path.join(killed, GATEWAY_SOCKET)]);
    expect(await socketAnswers(path.join(killed, GATEWAY_SOCKET))).toBe(false);
    // Not ours to judge: other names, files, and a link named like a gateway's directory.
    writeFileSync(path.join(root, 'kernel-legacy.json'), '{}');
    mkdirSync(path.join(root, 'gateway-notes'));
    const outside = leftover(tempRoot(), 'target');
    symlinkSync(outside, path.join(root, `gateway-${deadPid()}-5-1`));

    const removed: string[] = [];
    const rd = new RuntimeDir({ root, onRemoved: (d) => removed.push(d) });
    expect((await rd.start()).sort()).toEqual([dead, reused, interrupted, killed].sort());
    expect(removed.sort()).toEqual([dead, reused, interrupted, killed].sort());
    for (const d of [sibling.path, elsewhere, rd.path, path.join(root, 'gateway-notes')]) expect(existsSync(d), d).toBe(true);
    expect(existsSync(path.join(root, 'kernel-legacy.json'))).toBe(true);
    expect(existsSync(path.join(outside, 'kernel-x.json'))).toBe(true);
    expect(readdirSync(root).filter((n) => n.startsWith('.removing-'))).toEqual([]);
    await rd.stop();
    await sibling.stop();
  });
});
