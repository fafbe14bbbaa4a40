/** A users file with per-user tokens for the multi-user tests, and fetch as one of those users. */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { newUserToken } from '../../../src/users/users.js';

export interface TestUser {
  name: string;
  token: string;
}

export interface UsersFileSpec {
  users: { name: string; team?: string; admin?: boolean; trusted?: boolean; limits?: Record<string, unknown>; groups?: string[]; token?: boolean }[];
  teams?: Record<string, Record<string, unknown>>;
  defaults?: Record<string, unknown>;
}

/** Write the users file into `dir`; returns its path and each user's token (none for `token: false`). */
export function writeUsersFile(dir: string, spec: UsersFileSpec): { file: string; users: Record<string, TestUser> } {
  const users: Record<string, TestUser> = {};
  const entries = spec.users.map((u) => {
    const { token: wantsToken, ...rest } = u;
    if (wantsToken === false) return rest;
    const { token, sha256 } = newUserToken(randomBytes);
    users[u.name] = { name: u.name, token };
    return { ...rest, tokenSha256: sha256 };
  });
  const file = path.join(dir, 'users.yaml');
  writeFileSync(file, stringify({ users: entries, teams: spec.teams ?? {}, ...(spec.defaults ? { defaults: spec.defaults } : {}) }), { mode: 0o600 });
  return { file, users };
}

/** fetch as `token` (JSON body). */
export function as(baseUrl: string, token: string, route: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${baseUrl}${route}`, {
    ...init,
    headers: { authorization: `token ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
}

/** The HTTP status a websocket upgrade gets (101 when it opened; then it is closed again). */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(err);
    });
  });
}
