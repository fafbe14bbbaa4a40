/** Resuming a container log read with timestamps: no line twice, none lost. */
import { describe, expect, it } from 'vitest';
import { LineSplitter, LogDeduper, parseTimestampedLine, sinceTimeOf, timestampKey } from '../../../src/k8s/log-cursor.js';

describe('timestamps', () => {
  it('parse RFC 3339 with 0-9 fraction digits and offsets to nanoseconds', () => {
    expect(timestampKey('1970-01-01T00:00:01Z')).toBe(1_000_000_000n);
    expect(timestampKey('1970-01-01T00:00:01.5Z')).toBe(1_500_000_000n);
    expect(timestampKey('1970-01-01T00:00:01.000000007Z')).toBe(1_000_000_007n);
    expect(timestampKey('1970-01-01T01:00:01+01:00')).toBe(1_000_000_000n);
    expect(timestampKey('yesterday')).toBeUndefined();
    expect(parseTimestampedLine('2024-05-01T10:00:00.123456789Z hello world')).toEqual({
      time: '2024-05-01T10:00:00.123456789Z',
      key: timestampKey('2024-05-01T10:00:00.123456789Z'),
      text: 'hello world',
    });
    expect(parseTimestampedLine('2024-05-01T10:00:00Z ')?.text).toBe('');
    expect(parseTimestampedLine('no time here')).toBeUndefined();
  });

  it('sinceTime is the cursor second in UTC', () => {
    expect(sinceTimeOf({ time: '2024-05-01T10:00:07.999Z', seen: 1 })).toBe('2024-05-01T10:00:07Z');
    expect(sinceTimeOf({ time: '2024-05-01T12:00:07.5+02:00', seen: 1 })).toBe('2024-05-01T10:00:07Z');
  });
});

describe('LogDeduper', () => {
  const t = (s: string) => `2024-05-01T10:00:${s}Z`;

  it('keeps everything the first time and remembers the last time and its count', () => {
    const d = new LogDeduper(null);
    expect(d.accept(`${t('01.1')} a`)).toBe('a');
    expect(d.accept(`${t('01.2')} b`)).toBe('b');
    expect(d.accept(`${t('01.2')} c`)).toBe('c');
    expect(d.state).toEqual({ time: t('01.2'), seen: 2 });
  });

  it('after a restart from the same second drops what was kept, also lines with the same time', () => {
    const d = new LogDeduper({ time: t('01.2'), seen: 2 });
    // The server resends from 10:00:01 (sinceTime), with lines a, b, c again, then new ones.
    const got = [`${t('01.1')} a`, `${t('01.2')} b`, `${t('01.2')} c`, `${t('01.2')} d`, `${t('02')} e`].map((l) => d.accept(l));
    expect(got).toEqual([undefined, undefined, undefined, 'd', 'e']);
    expect(d.state).toEqual({ time: t('02'), seen: 1 });
    d.restart();
    expect(d.accept(`${t('02')} e`)).toBeUndefined();
    expect(d.accept(`${t('02')} f`)).toBe('f');
  });

  it('keeps lines without a timestamp as they are', () => {
    const d = new LogDeduper({ time: t('05'), seen: 1 });
    expect(d.accept('plain')).toBe('plain');
    expect(d.state).toEqual({ time: t('05'), seen: 1 });
  });
});

describe('LineSplitter', () => {
  it('splits lines across chunks and multi-byte characters', () => {
    const s = new LineSplitter();
    const bytes = Buffer.from('añb\nc', 'utf8');
    expect(s.push(bytes.subarray(0, 2))).toEqual([]); // 'a' and half of 'ñ'
    expect(s.push(bytes.subarray(2))).toEqual(['añb']);
    expect(s.flush()).toBe('c');
    expect(s.flush()).toBeUndefined();
    s.push('partial');
    s.discard();
    expect(s.push('x\n')).toEqual(['x']);
  });
});
