/** The Spark UI's redirects, kept under the session's proxy prefix (src/http/spark-ui-location.ts). */
import { describe, expect, it } from 'vitest';
import { rewriteUiLocation } from '../../../src/http/spark-ui-location.js';

const prefix = '/api/sparkgate/sessions/0f0e0d0c-0000-4000-8000-000000000001/ui';
const at = (path: string) => ({ upstreamUrl: `http://127.0.0.1:4040${path}`, prefix });

describe('rewriteUiLocation', () => {
  it('maps the redirects Spark 4.3 sends (measured) under the prefix', () => {
    // `/` -> 302 to an absolute URL built from the Host header the proxy sent.
    expect(rewriteUiLocation('http://127.0.0.1:4040/jobs/', at('/'))).toBe(`${prefix}/jobs/`);
    // Jetty's `/jobs` -> 301 `/jobs/`.
    expect(rewriteUiLocation('/jobs/', at('/jobs'))).toBe(`${prefix}/jobs/`);
  });

  it('keeps query and fragment, resolves relative Locations against the upstream request', () => {
    expect(rewriteUiLocation('/stages/stage/?id=1&attempt=0#tasks', at('/stages/'))).toBe(`${prefix}/stages/stage/?id=1&attempt=0#tasks`);
    expect(rewriteUiLocation('job/?id=2', at('/jobs/'))).toBe(`${prefix}/jobs/job/?id=2`);
    expect(rewriteUiLocation('../executors/', at('/jobs/job/'))).toBe(`${prefix}/jobs/executors/`);
    expect(rewriteUiLocation('?x=1', at('/jobs/'))).toBe(`${prefix}/jobs/?x=1`);
  });

  it('leaves a Location the UI already prefixed with spark.ui.proxyBase alone', () => {
    expect(rewriteUiLocation(`${prefix}/jobs/`, at('/'))).toBe(`${prefix}/jobs/`);
    expect(rewriteUiLocation(`http://127.0.0.1:4040${prefix}`, at('/'))).toBe(prefix);
    // A look-alike is not the prefix.
    expect(rewriteUiLocation(`${prefix}x/jobs/`, at('/'))).toBe(`${prefix}${prefix}x/jobs/`);
  });

  it('refuses redirects out of the session UI', () => {
    for (const out of [
      'http://169.254.169.254/latest/meta-data/',
      '//evil.example/jobs/',
      'https://127.0.0.1:4040/jobs/',
      'http://127.0.0.1:4041/jobs/',
      'http://localhost:4040/jobs/',
      'javascript:alert(1)',
      'http://[::1',
    ]) {
      expect(rewriteUiLocation(out, at('/')), out).toBeNull();
    }
  });

  it('never yields a header value with control characters or a protocol-relative path', () => {
    for (const loc of ['/a\r\nSet-Cookie: x=y', '/\\evil.example/', '/%0d%0aX: 1', '/\t/evil.example']) {
      const out = rewriteUiLocation(loc, at('/'));
      if (out === null) continue;
      expect(out).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(out.startsWith(`${prefix}/`)).toBe(true);
    }
  });
});
