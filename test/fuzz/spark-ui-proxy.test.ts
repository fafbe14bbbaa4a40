/** Stand-in UI on purpose: the fuzz needs a UI that misbehaves on demand, and a JVM per run is too slow. */
/*
 * A plain HTTP server listens on the session's spark.ui.port in the driver's place. The real
 * Spark 4 UI through the proxy (pages, links, assets, redirects, REST) is covered by
 * test/integration/spark-ui-proxy.test.ts; what is fuzzed here is the proxy against hostile
 * clients and a hostile upstream, which no well-behaved Spark UI can play.
 *
 * Fuzz tier, Spark UI proxy: hostile requests through `/api/sparkgate/sessions/{id}/ui/...`
 * (paths, queries, cookies, headers, methods, bodies) and a hostile UI behind it (notebook code
 * owns the driver, so whatever listens on the UI port is user-controlled): headers over the
 * limit, a connection dropped mid-response, broken chunking, no answer at all, a redirect out.
 * Every answer is 2xx/3xx from the UI or a `{message, reason}` error (502 when the UI misbehaves);
 * the gateway and a bystander's kernel carry on.
 */
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/gateway.js';
import { expectErrorShape, startFuzzGateway, type FuzzGateway } from './fuzz-gateway.js';
import { fuzzParams } from './fuzz-config.js';
import { buildRequest, rawRequest } from './raw-http.js';

let fg: FuzzGateway;
let sparkId: string;
let port: number;
let ui: http.Server;
const seen: string[] = [];

/** The stand-in UI misbehaves as its path asks: /mode/<name>/... */
function serveUi(req: http.IncomingMessage, res: http.ServerResponse): void {
  seen.push(`${req.url ?? ''} authorization=${req.headers.authorization ?? ''} cookie=${req.headers.cookie ?? ''}`);
  const mode = /^\/mode\/([a-z-]+)/.exec(req.url ?? '')?.[1];
  switch (mode) {
    case 'huge-header':
      res.setHeader('x-huge', 'h'.repeat(100_000));
      res.end('ok');
      return;
    case 'drop':
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    case 'bad-chunks':
      res.socket?.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnope\r\n');
      return;
    case 'silent':
      setTimeout(() => res.socket?.destroy(), 300);
      return;
    case 'redirect-out':
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
      return;
    case 'redirect-in':
      // As Spark's `/` does: absolute, built from the Host header the proxy sent.
      res.writeHead(302, { location: `http://${req.headers.host ?? ''}/jobs/?from=${encodeURIComponent(req.url ?? '')}` });
      res.end();
      return;
    case 'redirect-rel':
      res.writeHead(301, { location: '../../jobs/%2e%2e/x?y=1#z' });
      res.end();
      return;
    case 'garbage':
      res.socket?.end(Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 13, 10]));
      return;
    default:
      res.setHeader('content-type', 'text/html');
      res.end(`<a href="/api/sparkgate/sessions/${sparkId}/ui/stages/">stages</a>`);
  }
}

beforeAll(async () => {
  fg = await startFuzzGateway({ spark: { driverPortRange: '42300-42302', blockManagerPortRange: '42310-42312', uiPortRange: '42320-42322' } });
  sparkId = ((await (await api(fg.tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env' }) })).json()) as { id: string }).id;
  port = Number(new URL(fg.tg.url).port);
  ui = http.createServer(serveUi);
  await new Promise<void>((r) => ui.listen(fg.tg.gateway.spark.session(sparkId)!.ports.uiPort, '127.0.0.1', () => r()));
}, 60_000);

afterAll(async () => {
  ui?.closeAllConnections();
  ui?.close();
  await fg?.stop();
});

const pathSeg = fc.oneof(
  fc.constantFrom('jobs/', 'stages/stage/', 'static/app.js', 'mode/huge-header', 'mode/drop', 'mode/bad-chunks', 'mode/silent', 'mode/redirect-out', 'mode/redirect-in', 'mode/redirect-rel', 'mode/garbage', '..', '../..', '%2e%2e/%2e%2e/api/kernels', '%00', '%ff', '%zz', '%0d%0aX-Injected:%201', '//evil.example/', 'a'.repeat(5_000)),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const request = fc.record({
  method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'),
  segs: fc.array(pathSeg, { minLength: 0, maxLength: 3 }),
  query: fc.constantFrom('', '?token=TOKEN', '?id=1&token=TOKEN&token=x', '?%ff=%fe', '?' + 'q=1&'.repeat(1_000)),
  cookie: fc.constantFrom(undefined, 'sparkgate-ui-token=%zz', 'sparkgate-ui-token=TOKEN', 'sparkgate-ui-token=' + 'x'.repeat(5_000), 'a=b; sparkgate-ui-token="\u0001"'),
  extra: fc.option(fc.tuple(fc.constantFrom('Range', 'Upgrade', 'Connection', 'Transfer-Encoding', 'Accept-Encoding', 'X-Forwarded-For', 'Host'), fc.constantFrom('bytes=0-1,5-', 'websocket', 'keep-alive, Upgrade', 'chunked', 'gzip', '::1', ''))),
  body: fc.option(fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u))),
  noRedirect: fc.boolean(),
});

describe('Spark UI proxy fuzz', () => {
  for (let batch = 1; batch <= 2; batch++) {
    it(`batch ${batch}: hostile requests and a hostile UI behind the proxy; errors keep their shape, nothing crashes`, async () => {
      const token = fg.tg.token;
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const base = r.noRedirect ? `/api/sparkgate/sessions/${sparkId}/ui/` : `/api/sparkgate/sessions/${sparkId}/ui`;
          const path = base + (r.noRedirect ? r.segs.join('/') : '') + r.query.replace(/TOKEN/g, token);
          const headers: [string, string][] = [];
          if (!r.query.includes('token=TOKEN') && r.cookie !== 'sparkgate-ui-token=TOKEN') headers.push(['Authorization', `token ${token}`]);
          if (r.cookie) headers.push(['Cookie', r.cookie.replace('TOKEN', token)]);
          if (r.extra) headers.push(r.extra);
          const res = await rawRequest(port, buildRequest({ method: r.method, path, headers, ...(r.body ? { body: r.body } : {}) }), { timeoutMs: 15_000 });
          const context = `${r.method} ${JSON.stringify(path.slice(0, 150))}`;
          if (!res) return; // the gateway may drop a connection whose upstream died mid-response
          if (res.status >= 300 && res.status < 400 && res.headers['location'] !== undefined) {
            // The UI's redirects (and the gateway's own) stay under the session's UI prefix.
            const location = res.headers['location'];
            expect(location.startsWith(`/api/sparkgate/sessions/${sparkId}/ui`), `${context} -> ${location.slice(0, 150)}`).toBe(true);
          }
          if (res.status >= 400 && r.method !== 'HEAD') {
            expectErrorShape(res.status, res.body, context);
            // A UI that misbehaves is 502; one that redirects out of its prefix is refused, not relayed.
            if (res.status >= 500) expect(['spark_ui_unavailable', 'spark_ui_bad_redirect'], context).toContain(JSON.parse(res.body).reason);
          }
        }),
        fuzzParams(80),
      );
      // What reached the UI never carried the token: not in the query, the Authorization header
      // or the gateway's UI cookie (the UI is user code).
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((u) => u.includes(token))).toEqual([]);
      await fg.assertHealthy();
      const ok = await fetch(`${fg.tg.url}/api/sparkgate/sessions/${sparkId}/ui/jobs/`, { headers: { authorization: `token ${token}` } });
      expect(ok.status).toBe(200);
    }, 300_000);
  }
});
