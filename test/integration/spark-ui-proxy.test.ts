/**
 * The Spark UI through the gateway: `/api/sparkgate/sessions/{id}/ui/` proxies to the port the
 * session's driver binds for its UI (`spark.ui.port`), prefix stripped as `spark.ui.proxyBase`
 * expects. Spark cannot run here, so a plain HTTP server stands on that port in the driver's
 * place: what is tested is the gateway's proxying, auth and errors, not Spark.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, type TestGateway } from '../helpers/gateway.js';

let tg: TestGateway;
let sparkId: string;
let plainId: string;
let ui: http.Server | undefined;
const seen: string[] = [];
const seenHeaders: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  tg = await startGateway({ spark: { driverPortRange: '42000-42002', blockManagerPortRange: '42100-42102', uiPortRange: '42200-42202' } });
  sparkId = (await (await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env' }) })).json()).id;
  plainId = (await (await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) })).json()).id;
});

afterAll(async () => {
  ui?.close();
  await tg?.stop();
});

describe('Spark UI proxy', () => {
  it('answers 502 with a clear message while no UI listens', async () => {
    const res = await api(tg, `/api/sparkgate/sessions/${sparkId}/ui/jobs/`);
    expect(res.status).toBe(502);
    expect((await res.json()).reason).toBe('spark_ui_unavailable');
  });

  it('proxies to the session UI port with the prefix stripped and the token removed', async () => {
    const port = tg.gateway.spark.session(sparkId)!.ports.uiPort;
    ui = http.createServer((req, res) => {
      seen.push(req.url!);
      seenHeaders.push(req.headers);
      res.setHeader('content-type', 'text/html');
      res.end(`<a href="/api/sparkgate/sessions/${sparkId}/ui/stages/">stages</a> at ${req.url}`);
    });
    await new Promise<void>((r) => ui!.listen(port, '127.0.0.1', () => r()));
    const res = await fetch(`${tg.url}/api/sparkgate/sessions/${sparkId}/ui/jobs/?id=3&token=${tg.token}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('at /jobs/?id=3');
    expect(seen).toContain('/jobs/?id=3');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toContain(`Path=/api/sparkgate/sessions/${sparkId}/ui`);
    expect(cookie).toContain('HttpOnly');

    // The UI's own links work with the cookie alone.
    const viaCookie = await fetch(`${tg.url}/api/sparkgate/sessions/${sparkId}/ui/stages/`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(viaCookie.status).toBe(200);
    // ...but the cookie opens nothing else.
    const elsewhere = await fetch(`${tg.url}/api/kernels`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(elsewhere.status).toBe(401);
  });

  it('needs the token like every route', async () => {
    expect((await fetch(`${tg.url}/api/sparkgate/sessions/${sparkId}/ui/`)).status).toBe(401);
  });

  it('404 for unknown sessions and non-Spark kernels', async () => {
    const unknown = await api(tg, '/api/sparkgate/sessions/00000000-0000-4000-8000-000000000000/ui/');
    expect(unknown.status).toBe(404);
    const plain = await api(tg, `/api/sparkgate/sessions/${plainId}/ui/`);
    expect(plain.status).toBe(404);
    expect((await plain.json()).message).toContain('not a Spark session');
  });

  it('lists no executors in local mode', async () => {
    const res = await api(tg, `/api/sparkgate/sessions/${sparkId}/executors`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
    expect((await api(tg, '/api/sparkgate/sessions/00000000-0000-4000-8000-000000000000/executors')).status).toBe(404);
  });

  it('never lets the gateway token reach the UI: not from a token-only query, the Authorization header or the UI cookie', async () => {
    seen.length = 0;
    seenHeaders.length = 0;
    // ?token= alone: once the token is stripped the query is empty, and the proxy library would
    // fall back to the client's own query (token included) unless told otherwise.
    const first = await fetch(`${tg.url}/api/sparkgate/sessions/${sparkId}/ui/jobs/?token=${tg.token}`);
    expect(first.status).toBe(200);
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    await fetch(`${tg.url}/api/sparkgate/sessions/${sparkId}/ui/stages/`, { headers: { cookie: `theme=dark; ${cookie}` } });
    await api(tg, `/api/sparkgate/sessions/${sparkId}/ui/executors/`);
    expect(seen).toEqual(['/jobs/', '/stages/', '/executors/']);
    for (const headers of seenHeaders) {
      expect(JSON.stringify(headers)).not.toContain(tg.token);
      expect(headers.authorization).toBeUndefined();
    }
    expect(seenHeaders[1]!.cookie).toBe('theme=dark');
  });

  it('validates the id before the redirect, and refuses undecodable or ".." UI paths', async () => {
    for (const bad of ['%01%02', '%C3%BF', 'x%0d%0aSet-Cookie:%20a=b']) {
      const res = await api(tg, `/api/sparkgate/sessions/${bad}/ui`, { redirect: 'manual' });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ message: expect.any(String), reason: 'kernel_not_found' });
    }
    const redirect = await api(tg, `/api/sparkgate/sessions/${sparkId}/ui?x=1`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(`/api/sparkgate/sessions/${sparkId}/ui/?x=1`);
    for (const path of ['..%2f..%2fapi%2fkernels', '%ff', 'a/%2e%2e%2fb']) {
      const res = await api(tg, `/api/sparkgate/sessions/${sparkId}/ui/${path}`);
      expect(res.status).toBe(400);
      expect((await res.json()).reason).toBe('bad_url');
    }
  });
});
