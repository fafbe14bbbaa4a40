/**
 * Fuzz tier, REST: every route of the gateway (Jupyter's, sparkgate's, the terminals', the Spark
 * UI proxy, probes and metrics) gets hostile requests over raw TCP: ids with control, non-Latin-1
 * and percent-garbage characters, long URLs and query strings, deep / huge / broken / mistyped
 * JSON bodies, wrong content types, bad or missing tokens, cut-off requests and plain byte noise.
 * Every answer must be a non-5xx (bar the documented start failures) with the `{message, reason}`
 * body; after each batch the gateway and a bystander's kernel still work.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectErrorShape, hostileJsonTexts, startFuzzGateway, type FuzzGateway } from './fuzz-gateway.js';
import { fuzzParams } from './fuzz-config.js';
import { buildRequest, rawRequest } from './raw-http.js';

let fg: FuzzGateway;
let port: number;

beforeAll(async () => {
  fg = await startFuzzGateway();
  port = Number(new URL(fg.tg.url).port);
}, 60_000);

afterAll(async () => {
  await fg?.stop();
});

const ROUTES = [
  '/api', '/api/', '/api/kernels', '/api/kernels/{a}', '/api/kernels/{a}/interrupt', '/api/kernels/{a}/restart',
  '/api/kernels/{a}/channels', '/api/kernelspecs', '/api/kernelspecs/{b}', '/kernelspecs/{b}/{a}', '/api/sessions',
  '/api/sessions/{a}', '/api/terminals', '/api/terminals/{b}', '/terminals/websocket/{b}',
  '/api/sparkgate/sessions/{a}/executors', '/api/sparkgate/sessions/{a}/ui', '/api/sparkgate/sessions/{a}/ui/{b}',
  '/api/sparkgate/sessions/{a}/ui/static/{b}', '/metrics', '/healthz', '/readyz', '/shell', '/shell/{b}', '/{b}', '/api/{b}/{a}',
];

/** Allowed 5xx: the documented failures of starting something, never a crash of a handler. */
const ALLOWED_5XX_REASONS = new Set(['kernel_start_failed', 'terminal_start_failed', 'spark_ui_unavailable', 'unavailable']);

function segment(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant('VICTIM'),
    fc.uuid(),
    fc.constantFrom('python3', 'pyspark', 'logo-64x64.png', '..', '%2e%2e%2f%2e%2e', '%00', '%01%02', '%0d%0aSet-Cookie:%20x=1', '%E2%82%AC', '%ff%fe', '%zz', '%', 'a'.repeat(300), 'é', '\u0001', 'a b'),
    fc.string({ maxLength: 30 }).map(encodeURIComponent),
    fc.string({ unit: 'binary', maxLength: 12 }),
  );
}

const query = fc.oneof(
  fc.constant(''),
  fc.constant('?token=TOKEN'),
  fc.constant('?session_id=%ff%fe&token=TOKEN'),
  fc.constant('?a[b][c][d][e]=1&a[b]=2&a=3'),
  fc.constant('?' + 'x=1&'.repeat(3_000)),
  fc.string({ maxLength: 40 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
);

const body = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...hostileJsonTexts()).map((t) => Buffer.from(t, 'utf8')),
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .record(
      {
        name: fc.oneof(fc.constantFrom('python3', 'nope', 'scala-lookalike', ''), fc.jsonValue({ maxDepth: 2 })),
        env: fc.oneof(fc.dictionary(fc.constantFrom('KERNEL_X', 'KERNEL_SPARK_CONF', 'PATH', 'KERNEL_EXECUTOR_MEMORY', 'x'), fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 }))), fc.jsonValue({ maxDepth: 2 })),
        path: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })),
        kernel: fc.oneof(fc.record({ name: fc.string(), id: fc.string() }), fc.jsonValue({ maxDepth: 2 })),
        kernelspec: fc.oneof(fc.constantFrom('pyspark', 'spark-sql', 'nope'), fc.jsonValue({ maxDepth: 2 })),
        kernel_id: fc.oneof(fc.constant('VICTIM'), fc.string()),
        type: fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((o) => Buffer.from(JSON.stringify(o))),
  fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
);

const contentType = fc.constantFrom(undefined, 'application/json', 'text/plain', ';;;', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '\u00e9');
const auth = fc.constantFrom('header', 'header', 'header', 'bearer', 'none', 'garbage', 'long', 'query');
const method = fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD');

const request = fc.record({ route: fc.constantFrom(...ROUTES), a: segment(), b: segment(), query, body, contentType, auth, method, extraHeader: fc.option(fc.tuple(fc.constantFrom('X-Fuzz', 'Cookie', 'Upgrade', 'Origin', 'Accept'), fc.string({ unit: 'binary', maxLength: 60 }))) });

/** Answers by status over the whole file, printed at the end: the fuzz must reach past the door. */
const statuses = new Map<number, number>();

describe('REST fuzz', () => {
  afterAll(() => {
    const seen = [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ');
    process.stderr.write(`REST fuzz answers by status: ${seen}\n`);
    // The generators must reach handlers, not only the auth and parse doors.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(404) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
  });

  for (let batch = 1; batch <= 4; batch++) {
    it(`batch ${batch}: hostile requests get non-5xx {message, reason} answers, and nobody else's session suffers`, async () => {
      const token = fg.tg.token;
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const fill = (s: string) => s.replace('VICTIM', fg.victimId);
          const path = r.route.replace('{a}', fill(r.a)).replace('{b}', fill(r.b)) + r.query.replace('TOKEN', token);
          const headers: [string, string][] = [];
          if (r.auth === 'header') headers.push(['Authorization', `token ${token}`]);
          if (r.auth === 'bearer') headers.push(['Authorization', `Bearer ${token}`]);
          if (r.auth === 'garbage') headers.push(['Authorization', 'token \u0001\u00ff']);
          if (r.auth === 'long') headers.push(['Authorization', `token ${'t'.repeat(8_000)}`]);
          if (r.contentType !== undefined) headers.push(['Content-Type', r.contentType]);
          if (r.extraHeader) headers.push([r.extraHeader[0], r.extraHeader[1].replace(/[\r\n]/g, ' ')]);
          const context = `${r.method} ${JSON.stringify(path.slice(0, 120))}`;
          const res = await rawRequest(port, buildRequest({ method: r.method, path: r.auth === 'query' && !path.includes('token=') ? `${path}${path.includes('?') ? '&' : '?'}token=${token}` : path, headers, body: r.body }));
          expect(res, `${context}: no answer`).toBeDefined();
          if (!res) return;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500) {
            expectErrorShape(res.status, res.body, context);
            const reason = (JSON.parse(res.body) as { reason: string }).reason;
            expect(ALLOWED_5XX_REASONS.has(reason), `${context}: ${res.status} ${res.body}`).toBe(true);
          } else if (res.status >= 400 && r.method !== 'HEAD') {
            expectErrorShape(res.status, res.body, context);
          }
        }),
        fuzzParams(300),
      );
      await fg.assertHealthy();
    }, 240_000);
  }

  it('byte noise, broken HTTP and requests cut off mid-way: answered with {message, reason} or dropped, never a crash', async () => {
    const token = fg.tg.token;
    const noise = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 400 }).map((u) => ({ bytes: Buffer.from(u), cut: undefined as number | undefined })),
      fc.tuple(fc.constantFrom('GET', 'POST', 'FOO', 'G\u0000T', ''), fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('HTTP/1.1', 'HTTP/9.9', 'HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5', 'HTTP/1.1\r\nContent-Length: -1', 'HTTP/1.1\r\nX: ' + 'y'.repeat(20_000)))
        .map(([m, p, v]) => ({ bytes: Buffer.from(`${m} /${p} ${v}\r\nAuthorization: token ${token}\r\n\r\nzz\r\n`, 'latin1'), cut: undefined })),
      fc.tuple(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 10, max: 100_000 })).map(([cut, len]) => ({
        bytes: Buffer.from(`POST /api/kernels HTTP/1.1\r\nHost: x\r\nAuthorization: token ${token}\r\nContent-Length: ${len}\r\n\r\n{"name":"python3","env":{`, 'latin1'),
        cut,
      })),
    );
    await fc.assert(
      fc.asyncProperty(noise, async ({ bytes, cut }) => {
        const res = await rawRequest(port, bytes, { cutAfter: cut, timeoutMs: 3_000 });
        if (res && res.status >= 400) expectErrorShape(res.status, res.body, `noise ${JSON.stringify(bytes.toString('latin1').slice(0, 60))}`);
      }),
      fuzzParams(200),
    );
    await fg.assertHealthy();
  }, 240_000);
});
