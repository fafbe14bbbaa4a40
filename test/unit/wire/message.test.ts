import { describe, expect, it } from 'vitest';
import { parseHeader } from '../../../src/wire/message.js';

const header = (h: unknown): Buffer => Buffer.from(JSON.stringify(h));

describe('parseHeader', () => {
  it('accepts what @jupyterlab/services and jupyter_client send, extra fields included', () => {
    const h = { msg_id: 'm', msg_type: 'execute_request', session: 's', username: 'u', date: '2026-01-01T00:00:00Z', version: '5.3', subshell_id: null };
    expect(parseHeader(header(h))).toEqual(h);
    expect(parseHeader(header({ msg_id: 'm', msg_type: 't', session: '' }))).toBeDefined();
  });

  it('refuses headers a kernel could choke on', () => {
    for (const bad of [
      null,
      [],
      'x',
      { msg_type: 't', session: 's' },
      { msg_id: '', msg_type: 't', session: 's' },
      { msg_id: 'm', msg_type: '', session: 's' },
      { msg_id: 'm', msg_type: 't' },
      { msg_id: 1, msg_type: 't', session: 's' },
      { msg_id: 'm', msg_type: 't', session: 's', username: 5 },
      { msg_id: 'm'.repeat(257), msg_type: 't', session: 's' },
      { msg_id: 'm', msg_type: 't', session: 's', version: 'v'.repeat(33) },
    ]) {
      expect(parseHeader(header(bad)), JSON.stringify(bad)?.slice(0, 60)).toBeUndefined();
    }
    expect(parseHeader(Buffer.from('{not json'))).toBeUndefined();
  });
});
