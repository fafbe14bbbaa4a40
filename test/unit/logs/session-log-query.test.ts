import { describe, expect, it } from 'vitest';
import { logsRoute } from '../../../src/commands/logs.js';
import { MAX_TAIL_LINES, parseLogQuery } from '../../../src/http/routes/session-logs.js';

describe('parseLogQuery', () => {
  it('defaults to the whole driver log, not followed; executor=N alone means source=executor', () => {
    expect(parseLogQuery({})).toEqual({ source: 'driver', executor: undefined, tail: undefined, follow: false });
    expect(parseLogQuery({ tail: '10', follow: 'true', token: 'ignored' })).toEqual({ source: 'driver', executor: undefined, tail: 10, follow: true });
    expect(parseLogQuery({ executor: '3', follow: '0' })).toEqual({ source: 'executor', executor: '3', tail: undefined, follow: false });
    expect(parseLogQuery({ source: 'executor', executor: '12', tail: String(MAX_TAIL_LINES) }).tail).toBe(MAX_TAIL_LINES);
  });

  it('refuses with a 400 that names the parameter and shows a valid example', () => {
    const refused = (q: Record<string, unknown>) => {
      try {
        parseLogQuery(q);
      } catch (err) {
        return { status: (err as { status: number }).status, message: (err as Error).message };
      }
      throw new Error('accepted');
    };
    expect(refused({ tail: '-1' })).toEqual({ status: 400, message: 'Invalid query: tail: must be a number of lines, e.g. tail=100' });
    expect(refused({ tail: String(MAX_TAIL_LINES + 1) }).message).toMatch(/tail: must be at most 100000/);
    expect(refused({ source: 'executor' }).message).toMatch(/executor: is required with source=executor, e\.g\. \?source=executor&executor=1/);
    expect(refused({ source: 'driver', executor: '1' }).message).toMatch(/goes with source=executor/);
    expect(refused({ source: 'pods' }).message).toMatch(/source: must be "driver" or "executor"/);
    expect(refused({ follow: 'yes' }).message).toMatch(/^Invalid query: follow:/);
    expect(refused({ tail: ['1', '2'] }).message).toMatch(/tail is given more than once/);
  });
});

describe('sparkgate logs: the route for its flags', () => {
  it('maps --executor, --tail and -f to the query', () => {
    const id = '0e1b2c3d-0000-4000-8000-000000000000';
    expect(logsRoute(id, {})).toBe(`/api/sparkgate/sessions/${id}/logs`);
    expect(logsRoute(id, { tail: 0, follow: true })).toBe(`/api/sparkgate/sessions/${id}/logs?tail=0&follow=true`);
    expect(logsRoute(id, { executor: '2', tail: 5 })).toBe(`/api/sparkgate/sessions/${id}/logs?source=executor&executor=2&tail=5`);
    expect(logsRoute('a/b', {})).toBe('/api/sparkgate/sessions/a%2Fb/logs');
  });
});
