/**
 * Kernel connection files: the five ZeroMQ ports, transport, IP and HMAC key a kernel binds.
 * Spec: https://jupyter-client.readthedocs.io/en/latest/kernels.html#connection-files
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';

export interface ConnectionInfo {
  transport: 'tcp';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name: string;
}

/** Ports handed out but maybe not yet bound by their kernel: never hand them out twice. */
const reserved = new Set<number>();

function freePort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: ip, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Five free loopback ports, reserved until `releasePorts`. */
export async function pickPorts(ip: string, count = 5): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort(ip);
    if (reserved.has(port) || ports.includes(port)) continue;
    reserved.add(port);
    ports.push(port);
  }
  return ports;
}

export function releasePorts(info: ConnectionInfo): void {
  for (const p of [info.shell_port, info.iopub_port, info.stdin_port, info.control_port, info.hb_port]) reserved.delete(p);
}

export async function newConnectionInfo(kernelName: string, ip = '127.0.0.1'): Promise<ConnectionInfo> {
  const [shell, iopub, stdin, control, hb] = (await pickPorts(ip)) as [number, number, number, number, number];
  return {
    transport: 'tcp',
    ip,
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    key: randomBytes(32).toString('hex'),
    signature_scheme: 'hmac-sha256',
    kernel_name: kernelName,
  };
}

/** Write the file readable by the owner only (it holds the HMAC key). */
export function writeConnectionFile(dir: string, kernelId: string, info: ConnectionInfo): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `kernel-${kernelId}.json`);
  writeFileSync(file, JSON.stringify(info, null, 1), { mode: 0o600 });
  return file;
}

const connectionFileSchema = z.object({
  transport: z.literal('tcp'),
  ip: z.string().min(1),
  shell_port: z.number().int(),
  iopub_port: z.number().int(),
  stdin_port: z.number().int(),
  control_port: z.number().int(),
  hb_port: z.number().int(),
  key: z.string(),
  signature_scheme: z.literal('hmac-sha256'),
  kernel_name: z.string().default(''),
});

/** Read and check a connection file, as a kernel process does (kernel adapters); throws when invalid. */
export function readConnectionFile(file: string): ConnectionInfo {
  return connectionFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export function removeFile(file: string | undefined): void {
  if (file) rmSync(file, { force: true });
}

export function endpoint(info: ConnectionInfo, channel: 'shell' | 'iopub' | 'stdin' | 'control' | 'hb'): string {
  return `${info.transport}://${info.ip}:${info[`${channel}_port`]}`;
}
