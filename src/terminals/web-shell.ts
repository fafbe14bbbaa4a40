/**
 * `GET /shell`: the web shell page (web/shell/) and xterm.js from node_modules, served by the
 * gateway itself (no CDN). A fixed list of files, each its own route: no path from the URL ever
 * reaches the file system. These routes are public (src/http/server.ts, PUBLIC_ROUTE_PREFIXES):
 * the page holds no data, and every API and websocket call it makes carries the token.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { REPO_ROOT } from '../config.js';

const require = createRequire(import.meta.url);
const WEB_DIR = path.join(REPO_ROOT, 'web', 'shell');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** URL -> file. */
export function webShellFiles(): Record<string, string> {
  return {
    '/shell': path.join(WEB_DIR, 'index.html'),
    '/shell/shell.js': path.join(WEB_DIR, 'shell.js'),
    '/shell/shell.css': path.join(WEB_DIR, 'shell.css'),
    '/shell/vendor/xterm.js': require.resolve('@xterm/xterm/lib/xterm.js'),
    '/shell/vendor/xterm.css': require.resolve('@xterm/xterm/css/xterm.css'),
    '/shell/vendor/addon-fit.js': require.resolve('@xterm/addon-fit/lib/addon-fit.js'),
  };
}

/**
 * The page talks only to this gateway; xterm.js adds <style> elements for its theme, hence
 * 'unsafe-inline' for styles (never for scripts). No framing: the page takes a token.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

export function registerWebShell(app: FastifyInstance): void {
  const cache = new Map<string, Buffer>();
  for (const [url, file] of Object.entries(webShellFiles())) {
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    app.get(url, async (_req, reply) => {
      let body = cache.get(file);
      if (!body) {
        body = readFileSync(file);
        cache.set(file, body);
      }
      return reply
        .type(type)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(body);
    });
  }
  // The page's links are relative to `/shell`; a trailing slash would break them.
  app.get('/shell/', async (_req, reply) => reply.redirect('../shell'));
}
