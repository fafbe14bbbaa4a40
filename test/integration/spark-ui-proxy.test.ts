/**
 * The Spark UI through the gateway, against a real Spark 4 driver: one gateway and one `pyspark`
 * kernel (a SparkSession in local[*], its UI on the session's spark.ui.port) for the file.
 * `/api/sparkgate/sessions/{id}/ui/` must serve that UI with every link, asset and redirect kept
 * under the prefix (spark.ui.proxyBase does the pages; the proxy does the redirects), the REST
 * API included, behind the gateway's token (then the UI cookie) and nobody else's session id.
 *
 * What the real UI cannot show is what it received, so the checks that the gateway's credentials
 * never reach the UI use a recording listener on the UI port of a Spark session whose driver is
 * not running (the `spark-env` fixture kernel: Spark conf and ports, no JVM). That listener is a
 * probe, not a stand-in for the UI's pages.
 */
import http from 'node:http';
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, type TestGateway } from '../helpers/gateway.js';
import { execute } from '../helpers/kernel-client.js';

/** A JVM starting under load: kernel start and the first job can take minutes. */
const SLOW_MS = 240_000;
const MAX_PAGES = 60;
const MAX_ASSETS = 60;

let tg: TestGateway;
let km: KernelManager;
let kernel: Kernel.IKernelConnection;
let prefix: string;
let appId: string;
/** The UI cookie a `?token=` visit set (`name=value`). */
let uiCookie: string;

beforeAll(async () => {
  tg = await startGateway({
    kernelStartTimeoutMs: 180_000,
    spark: { driverPortRange: '19600-19602', blockManagerPortRange: '19700-19702', uiPortRange: '19800-19802' },
  });
  km = new KernelManager({ serverSettings: tg.settings });
  kernel = await km.startNew({ name: 'pyspark' });
  // A job with a shuffle, so the jobs and stages pages (and their detail pages) have content.
  const out = await execute(
    kernel,
    [
      'df = spark.range(0, 10000, numPartitions=4)',
      "print(df.groupBy((df.id % 7).alias('k')).count().orderBy('k').count())",
      'print(spark.sparkContext.applicationId)',
    ].join('\n'),
  );
  expect(out.errors).toEqual([]);
  const lines = out.stdout.trim().split('\n');
  expect(lines[0]).toBe('7');
  appId = lines[1]!;
  prefix = `/api/sparkgate/sessions/${kernel.id}/ui`;
  const opened = await fetch(`${tg.url}${prefix}/jobs/?token=${tg.token}`);
  expect(opened.status).toBe(200);
  uiCookie = opened.headers.get('set-cookie')!.split(';')[0]!;
}, SLOW_MS);

afterAll(async () => {
  await kernel?.shutdown().catch(() => undefined);
  km?.dispose();
  await tg?.stop();
}, SLOW_MS);

/** GET through the gateway with the UI cookie only, as the browser follows the UI's links. */
function viaCookie(pathAndQuery: string): Promise<Response> {
  return fetch(`${tg.url}${pathAndQuery}`, { headers: { cookie: uiCookie }, redirect: 'manual' });
}

/** Whether a link, resolved as a browser would against the page it is on, stays under the prefix. */
function underPrefix(link: string, pageUrl: string): boolean {
  const resolved = new URL(link, pageUrl);
  return resolved.origin === new URL(tg.url).origin && resolved.pathname.startsWith(`${prefix}/`);
}

/**
 * href/src/action values of a page (HTML-unescaped), except those that make no request: in-page
 * anchors, script URLs and inline `data:` content (the thread dump page's download link).
 */
function linksOf(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/\s(?:href|src|action)\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
    const raw = (m[1] ?? m[2]!).replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
    if (raw.startsWith('#') || /^(javascript|data):/i.test(raw)) continue;
    out.push(raw);
  }
  return out;
}

/**
 * One crawl key per page, not per sort order: the tables' sort/paging links would otherwise fill
 * the page budget with one page sorted twenty ways.
 */
function crawlKey(url: URL): string {
  const params = [...url.searchParams].filter(([k]) => !/\.(sort|desc|pageSize|page)$/.test(k)).sort();
  return `${url.pathname}?${new URLSearchParams(params).toString()}`;
}

const CONTENT_TYPES: [RegExp, RegExp][] = [
  [/\.css$/, /^text\/css/],
  [/\.m?js$/, /javascript/],
  [/\.svg$/, /^image\/svg\+xml/],
  [/\.png$/, /^image\/png/],
  [/\.ico$/, /^image\//],
  [/\.html$/, /^text\/html/],
];

describe('Spark UI proxy, real Spark', () => {
  it('opens with ?token=, sets the UI cookie, and keeps the UI redirects under the prefix', async () => {
    const first = await fetch(`${tg.url}${prefix}/?token=${tg.token}`, { redirect: 'manual' });
    expect(first.status).toBe(302);
    // Spark's own answer is `Location: http://127.0.0.1:<ui port>/jobs/`.
    expect(first.headers.get('location')).toBe(`${prefix}/jobs/`);
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toContain(`Path=${prefix}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie.split(';')[0]).toBe(uiCookie);

    // Jetty's trailing-slash redirect, also rewritten.
    const noSlash = await viaCookie(`${prefix}/jobs`);
    expect(noSlash.status).toBe(301);
    expect(noSlash.headers.get('location')).toBe(`${prefix}/jobs/`);

    // The gateway's own redirect for the bare prefix, then Spark's.
    const bare = await api(tg, prefix, { redirect: 'manual' });
    expect(bare.status).toBe(302);
    expect(bare.headers.get('location')).toBe(`${prefix}/`);

    // A browser following them all lands on the jobs page.
    const followed = await fetch(`${tg.url}${prefix}`, { headers: { authorization: `token ${tg.token}` } });
    expect(followed.status).toBe(200);
    expect(new URL(followed.url).pathname).toBe(`${prefix}/jobs/`);
    expect(await followed.text()).toContain('Spark Jobs');

    // The cookie opens this UI only.
    expect((await fetch(`${tg.url}/api/kernels`, { headers: { cookie: uiCookie } })).status).toBe(401);
    expect((await fetch(`${tg.url}${prefix}/jobs/`)).status).toBe(401);
  });

  it(
    'serves the jobs, stages, executors and environment pages and every page they link, all links under the prefix',
    async () => {
      // The thread dump page is linked from the executors table, which script renders.
      const seeds = ['jobs/', 'stages/', 'executors/', 'environment/', 'executors/threadDump/?executorId=driver'].map((p) => new URL(`${prefix}/${p}`, tg.url));
      const queue = [...seeds];
      const crawled = new Set<string>();
      const pages: string[] = [];
      const assets = new Set<string>();
      const offPrefix: string[] = [];
      while (queue.length > 0 && pages.length < MAX_PAGES) {
        const url = queue.shift()!;
        const key = crawlKey(url);
        if (crawled.has(key)) continue;
        crawled.add(key);
        const res = await viaCookie(url.pathname + url.search);
        if (res.status >= 300 && res.status < 400) {
          const location = res.headers.get('location')!;
          if (!underPrefix(location, url.href)) offPrefix.push(`${url.pathname}${url.search} redirects to ${location}`);
          else queue.push(new URL(location, url));
          continue;
        }
        expect(res.status, `${url.pathname}${url.search}`).toBe(200);
        expect(res.headers.get('content-type'), url.pathname).toMatch(/^text\/html/);
        pages.push(`${url.pathname}${url.search}`);
        const html = await res.text();
        // The UI's scripts build their REST and template URLs from this.
        expect(html, url.pathname).toContain(`setUIRoot('${prefix}')`);
        for (const link of linksOf(html)) {
          if (!underPrefix(link, url.href)) {
            offPrefix.push(`${url.pathname}${url.search} links ${link}`);
            continue;
          }
          const target = new URL(link, url);
          target.hash = '';
          if (target.pathname.startsWith(`${prefix}/static/`)) assets.add(target.pathname);
          // Kill links change state (and want POST): a crawler does not follow them.
          else if (!/\/kill\/?$/.test(target.pathname)) queue.push(target);
        }
      }
      expect(offPrefix).toEqual([]);
      // Measured: 17 pages (every job and stage of the job above, storage, SQL) and 34 assets.
      expect(pages.length).toBeGreaterThanOrEqual(12);
      const visited = pages.map((p) => p.slice(prefix.length).split('?')[0]);
      for (const page of ['/jobs/', '/jobs/job/', '/stages/', '/stages/stage/', '/executors/', '/executors/threadDump/', '/environment/']) {
        expect(visited, page).toContain(page);
      }
      // A job detail page and a stage detail page of the job run above.
      expect(pages.some((p) => /\/jobs\/job\/\?id=\d+/.test(p))).toBe(true);
      expect(pages.some((p) => /\/stages\/stage\/\?id=\d+&attempt=0/.test(p))).toBe(true);

      // Static assets: every one linked, plus the templates the executors and stage pages fetch
      // from script (utils.js getTemplate: uiRoot + "/static/<page>-template.html").
      for (const t of ['executorspage', 'stagespage']) assets.add(`${prefix}/static/${t}-template.html`);
      expect(assets.size).toBeGreaterThan(10);
      for (const asset of [...assets].slice(0, MAX_ASSETS)) {
        const res = await viaCookie(asset);
        expect(res.status, asset).toBe(200);
        const type = CONTENT_TYPES.find(([ext]) => ext.test(asset))?.[1];
        if (type) expect(res.headers.get('content-type'), asset).toMatch(type);
        expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
      }
    },
    SLOW_MS,
  );

  it('serves the REST API the pages script against (uiRoot + /api/v1/...)', async () => {
    const apps = await viaCookie(`${prefix}/api/v1/applications`);
    expect(apps.status).toBe(200);
    expect(apps.headers.get('content-type')).toMatch(/^application\/json/);
    const list = (await apps.json()) as { id: string; name: string }[];
    expect(list).toEqual([expect.objectContaining({ id: appId, name: `sparkgate-pyspark-${kernel.id.slice(0, 8)}` })]);

    const executors = (await (await viaCookie(`${prefix}/api/v1/applications/${appId}/allexecutors`)).json()) as { id: string }[];
    expect(executors.map((e) => e.id)).toContain('driver');
    const jobs = (await (await viaCookie(`${prefix}/api/v1/applications/${appId}/jobs`)).json()) as { status: string }[];
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.every((j) => j.status === 'SUCCEEDED')).toBe(true);
    const stages = await viaCookie(`${prefix}/api/v1/applications/${appId}/stages`);
    expect(stages.status).toBe(200);
    const env = (await (await viaCookie(`${prefix}/api/v1/applications/${appId}/environment`)).json()) as { sparkProperties: [string, string][] };
    expect(env.sparkProperties).toContainEqual(['spark.ui.proxyBase', prefix]);
    // The gateway's token is nowhere in what the driver knows.
    expect(JSON.stringify(env)).not.toContain(tg.token);
  });

  it("404 {message, reason} for any id that is not this live Spark session's", async () => {
    const plain = (await (await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'plain-python' }) })).json()) as { id: string };
    const gone = (await (await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env' }) })).json()) as { id: string };
    expect((await api(tg, `/api/kernels/${gone.id}`, { method: 'DELETE' })).status).toBe(204);
    try {
      const cases: [string, string, string][] = [
        ['00000000-0000-4000-8000-000000000000', 'kernel_not_found', 'does not exist'],
        [gone.id, 'kernel_not_found', 'does not exist'],
        [plain.id, 'not_found', 'not a Spark session'],
      ];
      for (const [id, reason, message] of cases) {
        for (const sub of ['', 'jobs/', 'api/v1/applications', 'static/webui.css']) {
          const res = await api(tg, `/api/sparkgate/sessions/${id}/ui/${sub}`);
          expect(res.status, `${id} ${sub}`).toBe(404);
          const body = (await res.json()) as { message: string; reason: string };
          expect(body).toEqual({ message: expect.stringContaining(message), reason });
        }
      }
    } finally {
      await api(tg, `/api/kernels/${plain.id}`, { method: 'DELETE' });
    }
  });

  it('lists no executors in local mode (Spark runs no executor pods)', async () => {
    const res = await api(tg, `/api/sparkgate/sessions/${kernel.id}/executors`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
    expect((await api(tg, '/api/sparkgate/sessions/00000000-0000-4000-8000-000000000000/executors')).status).toBe(404);
  });

  it('refuses undecodable or ".." UI paths before they reach the UI', async () => {
    for (const bad of ['%01%02', '%C3%BF', 'x%0d%0aSet-Cookie:%20a=b']) {
      const res = await api(tg, `/api/sparkgate/sessions/${bad}/ui`, { redirect: 'manual' });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ message: expect.any(String), reason: 'kernel_not_found' });
    }
    const redirect = await api(tg, `${prefix}?x=1`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(`${prefix}/?x=1`);
    for (const path of ['..%2f..%2fapi%2fkernels', '%ff', 'a/%2e%2e%2fb', 'static/..%2f..%2fenvironment/']) {
      const res = await api(tg, `${prefix}/${path}`);
      expect(res.status, path).toBe(400);
      expect((await res.json()).reason).toBe('bad_url');
    }
  });
});

describe('Spark UI proxy, what reaches the UI (recording probe on a driverless session)', () => {
  let probeId: string;
  let probe: http.Server | undefined;
  const seen: { url: string; headers: http.IncomingHttpHeaders }[] = [];
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end('ok');

  beforeAll(async () => {
    probeId = ((await (await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'spark-env' }) })).json()) as { id: string }).id;
  });

  afterAll(async () => {
    probe?.closeAllConnections();
    probe?.close();
    if (probeId) await api(tg, `/api/kernels/${probeId}`, { method: 'DELETE' });
  });

  it('answers 502 {message, reason} while no UI listens', async () => {
    const res = await api(tg, `/api/sparkgate/sessions/${probeId}/ui/jobs/`);
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ message: expect.stringContaining('not answering'), reason: 'spark_ui_unavailable' });
  });

  it('never lets the gateway token reach the UI: not from a token-only query, the Authorization header or the UI cookie', async () => {
    probe = http.createServer((req, res) => {
      seen.push({ url: req.url!, headers: req.headers });
      answer(req, res);
    });
    await new Promise<void>((r) => probe!.listen(tg.gateway.spark.session(probeId)!.ports.uiPort, '127.0.0.1', () => r()));
    const base = `/api/sparkgate/sessions/${probeId}/ui`;
    // ?token= alone: once the token is stripped the query is empty, and the proxy library would
    // fall back to the client's own query (token included) unless told otherwise.
    const first = await fetch(`${tg.url}${base}/jobs/?token=${tg.token}`);
    expect(first.status).toBe(200);
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    await fetch(`${tg.url}${base}/stages/?id=3&token=${tg.token}`);
    await fetch(`${tg.url}${base}/stages/`, { headers: { cookie: `theme=dark; ${cookie}` } });
    await api(tg, `${base}/executors/`);
    expect(seen.map((s) => s.url)).toEqual(['/jobs/', '/stages/?id=3', '/stages/', '/executors/']);
    for (const { headers } of seen) {
      expect(JSON.stringify(headers)).not.toContain(tg.token);
      expect(headers.authorization).toBeUndefined();
    }
    expect(seen[2]!.headers.cookie).toBe('theme=dark');
  });

  it('does not relay a redirect out of the session UI (notebook code owns the driver)', async () => {
    const base = `/api/sparkgate/sessions/${probeId}/ui`;
    answer = (req, res) => {
      res.writeHead(302, { location: req.url === '/out' ? 'http://169.254.169.254/latest/meta-data/' : '//evil.example/' });
      res.end();
    };
    for (const path of ['out', 'protocol-relative']) {
      const res = await api(tg, `${base}/${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(502);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.json()).toEqual({ message: expect.stringContaining('outside'), reason: 'spark_ui_bad_redirect' });
    }
  });
});
