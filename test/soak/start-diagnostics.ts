/**
 * What a cycle that hangs looks like from outside, captured while it hangs (the gateway kills a
 * kernel that does not start within kernelStartTimeoutMs): each kernel's ports, whether
 * it listens on them, the gateway's sockets to them, any socket connected to itself on one of
 * them (TCP self-connect: a client retrying a port nobody listens on yet can be handed that very
 * port as its own), and where each of the kernel's threads waits (wchan, proc(5)).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cmdline, socketInodes, socketOwner, tcpSockets, TCP_LISTEN } from './process-probe.js';

const CONNECTION_FILE = /-f (\S*kernel-[0-9a-f-]+\.json)/;

/** The five ports of a connection file (jupyter_client's format). */
export function connectionFilePorts(file: string): number[] {
  const info = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'].map((k) => info[k]).filter((p): p is number => typeof p === 'number');
}

export function kernelDiagnostics(gatewayPid: number, runtimeDir: string): string[] {
  const out: string[] = [];
  const sockets = tcpSockets();
  const gatewayInodes = socketInodes(gatewayPid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const cmd = cmdline(pid);
    const file = CONNECTION_FILE.exec(cmd)?.[1];
    if (!file || !file.startsWith(runtimeDir)) continue;
    let ports: number[] = [];
    try {
      ports = connectionFilePorts(file);
    } catch (err) {
      out.push(`kernel ${pid}: connection file unreadable: ${(err as Error).message}`);
    }
    const own = socketInodes(pid);
    out.push(`kernel process ${pid}, ${ageSeconds(pid)} s old, threads [${threadStates(pid)}]: ${cmd}`);
    for (const port of ports) {
      const on = sockets.filter((s) => s.localPort === port || s.remotePort === port);
      const describe = (s: (typeof sockets)[number]): string => {
        const owner = own.has(s.inode) ? 'kernel' : gatewayInodes.has(s.inode) ? 'gateway' : s.inode === 0 ? 'nobody' : `pid ${socketOwner(s.inode) ?? '?'}`;
        const self = s.localPort === s.remotePort && s.state !== TCP_LISTEN ? ' SELF-CONNECTED' : '';
        return `${s.localPort}->${s.remotePort} ${s.state} ${owner}${self}`;
      };
      out.push(`  port ${port}: ${on.length ? on.map(describe).join('; ') : 'no socket at all'}`);
    }
  }
  if (out.length === 0) out.push('no kernel process found');
  return out;
}

/** Each thread's state and wait channel: `tid S wchan`, comma-separated. */
function threadStates(pid: number): string {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map((tid) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        let wchan = '';
        try {
          wchan = readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8');
        } catch {
          /* not readable */
        }
        return `${tid} ${state} ${wchan || '-'}`;
      })
      .join(', ');
  } catch {
    return 'gone';
  }
}

/** Seconds since the process started (proc(5) stat field 22, in clock ticks; USER_HZ is 100 on Linux). */
function ageSeconds(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return (uptime - startTicks / 100).toFixed(1);
  } catch {
    return '?';
  }
}
