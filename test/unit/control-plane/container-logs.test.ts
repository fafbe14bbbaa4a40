/**
 * The node agent's kubelet log endpoint (test infrastructure): the query parameters kube-apiserver
 * forwards (tailLines, then sinceTime, then stream; timestamps; limitBytes), follow until the
 * container ends, and the log removed with its pod.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerLogServer, formatNanoTime } from '../../control-plane/container-logs.js';

let dir: string;
let server: ContainerLogServer;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-container-logs-'));
  const key = path.join(dir, 'k.key');
  const cert = path.join(dir, 'k.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=node', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  server = new ContainerLogServer({ dir: path.join(dir, 'logs'), tls: { cert: readFileSync(cert), key: readFileSync(key) } });
  port = await server.start();
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function get(pathAndQuery: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathAndQuery, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ContainerLogServer', () => {
  it('formats times as Go RFC3339Nano', () => {
    expect(formatNanoTime(1_000_000_000n)).toBe('1970-01-01T00:00:01Z');
    expect(formatNanoTime(1_500_000_000n)).toBe('1970-01-01T00:00:01.5Z');
    expect(formatNanoTime(1_000_000_007n)).toBe('1970-01-01T00:00:01.000000007Z');
  });

  it('serves a container log with the kubelet\'s parameters', async () => {
    const log = server.open('ns', 'p', 'uid-1', 'main');
    log.write('stdout', 'one');
    log.write('stderr', 'two');
    log.write('stdout', 'three');
    const base = '/containerLogs/ns/p/main';
    expect(await get(base)).toEqual({ status: 200, body: 'one\ntwo\nthree\n' });
    expect((await get(`${base}?tailLines=2`)).body).toBe('two\nthree\n');
    expect((await get(`${base}?stream=Stderr`)).body).toBe('two\n');
    expect((await get(`${base}?limitBytes=6`)).body).toBe('one\ntw');
    const stamped = (await get(`${base}?timestamps=true&tailLines=1`)).body;
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z three\n$/);
    expect((await get(`${base}?sinceTime=2999-01-01T00:00:00Z`)).body).toBe('');
    expect((await get('/containerLogs/ns/p/other')).status).toBe(404);
    expect((await get('/containerLogs/ns/q/main')).body).toContain('waiting to start');
  });

  it('follows until the container ends, then serves the whole log without following', async () => {
    const log = server.open('ns', 'f', 'uid-2', 'main');
    log.write('stdout', 'before');
    const following = get('/containerLogs/ns/f/main?follow=true');
    await new Promise((r) => setTimeout(r, 50));
    log.write('stdout', 'after');
    log.end();
    expect((await following).body).toBe('before\nafter\n');
    expect((await get('/containerLogs/ns/f/main?follow=true')).body).toBe('before\nafter\n');
    server.remove('ns', 'f', 'uid-1'); // not this incarnation: kept
    expect((await get('/containerLogs/ns/f/main')).status).toBe(200);
    server.remove('ns', 'f', 'uid-2');
    expect((await get('/containerLogs/ns/f/main')).status).toBe(400);
  });
});
