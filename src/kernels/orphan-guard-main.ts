#!/usr/bin/env node
/**
 * The orphan guard process, one per gateway (started by orphan-guard.ts):
 *
 *   node dist/kernels/orphan-guard-main.js --gateway-pid PID [--grace-ms 3000]
 *
 * Its stdin is a pipe from the gateway, one line per change: `+PGID` a kernel process group was
 * started, `-PGID` it is gone. The gateway never closes the pipe while it runs, so end-of-file
 * means the gateway is gone (or stopped, with no group left): every group still registered gets
 * SIGTERM, and SIGKILL after the grace period, then the guard exits. This ends kernels that do
 * not watch their own lifeline (kernel-lifeline.ts), whatever their parent became.
 *
 * A group is skipped when its leader's pid now belongs to a process that started after it was
 * registered (pid reuse). The guard runs in its own process group and ignores SIGINT and SIGHUP,
 * so a Ctrl-C or a closed terminal that stops the gateway does not take the guard with it
 * before it has done its job. Imports nothing but proc-stat.js: it starts in tens of ms.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { groupExists, procStat } from './proc-stat.js';

const { values } = parseArgs({
  options: {
    'gateway-pid': { type: 'string', default: '0' },
    'grace-ms': { type: 'string', default: '3000' },
  },
});
const gatewayPid = values['gateway-pid'];
const graceMs = Math.max(0, Number(values['grace-ms']) || 0);

/** Registered groups: pgid -> the leader's start time when it was registered. */
const groups = new Map<number, string | undefined>();

function log(message: string): void {
  try {
    process.stderr.write(`sparkgate orphan guard (gateway pid ${gatewayPid}): ${message}\n`);
  } catch {
    /* nobody is reading any more */
  }
}

function signalGroups(pgids: readonly number[], signal: NodeJS.Signals): void {
  for (const pgid of pgids) {
    try {
      process.kill(-pgid, signal);
    } catch {
      /* already gone */
    }
  }
}

function stillTheSameGroup(pgid: number, startTime: string | undefined): boolean {
  const now = procStat(pgid);
  return !(now && startTime !== undefined && now.startTime !== startTime);
}

let reaping = false;

async function reap(): Promise<void> {
  if (reaping) return;
  reaping = true;
  const targets = [...groups].filter(([pgid, start]) => stillTheSameGroup(pgid, start)).map(([pgid]) => pgid);
  if (targets.length > 0) {
    signalGroups(targets, 'SIGTERM');
    log(`the gateway is gone or stopped (its pipe closed); ending kernel process group(s) ${targets.join(', ')}`);
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && targets.some(groupExists)) await new Promise((resolve) => setTimeout(resolve, 50));
    const left = targets.filter(groupExists);
    if (left.length > 0) {
      signalGroups(left, 'SIGKILL');
      log(`killed process group(s) ${left.join(', ')} still there after ${graceMs} ms`);
    }
  }
  process.exit(0);
}

process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
process.stderr.on('error', () => undefined);
process.stdin.on('error', () => void reap());
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const m = /^([+-])(\d+)$/.exec(line.trim());
  const pgid = Number(m?.[2]);
  if (!m || pgid <= 1) return;
  if (m[1] === '+') groups.set(pgid, procStat(pgid)?.startTime);
  else groups.delete(pgid);
});
lines.once('close', () => void reap());
