/**
 * Job counts from Spark's REST API: max(jobId) + 1 per SparkContext (old jobs dropped by the UI do
 * not matter), deltas between polls, a restarted context (same app id, new attempt start) counted
 * from 0, a driver that does not answer counts nothing.
 */
import { describe, expect, it } from 'vitest';
import { SparkJobCounter } from '../../../src/usage/job-counter.js';

function fakeSpark() {
  const state = { startTime: '2025-01-31T10:00:00.000GMT', jobIds: [] as number[], down: false, requests: [] as string[] };
  const fakeFetch = (async (input: string | URL | Request) => {
    const url = String(input);
    state.requests.push(url);
    if (state.down) throw new TypeError('fetch failed');
    const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
    if (url.endsWith('/api/v1/applications')) return json([{ id: 'sparkgate-abc', name: 'x', attempts: [{ startTime: state.startTime, completed: false }] }]);
    if (url.endsWith('/api/v1/applications/sparkgate-abc/jobs')) return json(state.jobIds.map((jobId) => ({ jobId, status: 'SUCCEEDED' })));
    return new Response('{}', { status: 404 });
  }) as typeof globalThis.fetch;
  return { state, fetch: fakeFetch };
}

describe('SparkJobCounter', () => {
  it('counts max jobId + 1 and reports the new jobs of each poll', async () => {
    const spark = fakeSpark();
    const counter = new SparkJobCounter({ fetch: spark.fetch });
    expect(await counter.poll('s', 4040)).toBe(0);
    spark.state.jobIds = [0, 1, 2];
    expect(await counter.poll('s', 4040)).toBe(3);
    expect(await counter.poll('s', 4040)).toBe(0);
    // the UI kept only the latest jobs (spark.ui.retainedJobs): ids still say how many ran
    spark.state.jobIds = [7, 8];
    expect(await counter.poll('s', 4040)).toBe(6);
    expect(spark.state.requests[0]).toBe('http://127.0.0.1:4040/api/v1/applications');
  });

  it('a restarted SparkContext (new attempt start time) counts from 0', async () => {
    const spark = fakeSpark();
    const counter = new SparkJobCounter({ fetch: spark.fetch });
    spark.state.jobIds = [0, 1, 2, 3, 4];
    expect(await counter.poll('s', 4040)).toBe(5);
    spark.state.startTime = '2025-01-31T11:00:00.000GMT';
    spark.state.jobIds = [0, 1, 2, 3, 4, 5, 6];
    expect(await counter.poll('s', 4040)).toBe(7);
  });

  it('a driver that does not answer counts nothing, and the count resumes when it answers', async () => {
    const spark = fakeSpark();
    const counter = new SparkJobCounter({ fetch: spark.fetch });
    spark.state.jobIds = [0];
    expect(await counter.poll('s', 4040)).toBe(1);
    spark.state.down = true;
    spark.state.jobIds = [0, 1, 2];
    expect(await counter.poll('s', 4040)).toBe(0);
    spark.state.down = false;
    expect(await counter.poll('s', 4040)).toBe(2);
  });

  it('concurrent polls of one session share one request, and only one of them reports the jobs', async () => {
    const spark = fakeSpark();
    spark.state.jobIds = [0, 1];
    const counter = new SparkJobCounter({ fetch: spark.fetch });
    const [a, b] = await Promise.all([counter.poll('s', 4040), counter.poll('s', 4040)]);
    expect([a, b]).toEqual([2, 0]);
    expect(spark.state.requests.filter((u) => u.endsWith('/applications'))).toHaveLength(1);
  });
});
