import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameParser, type ReplEvent } from '../../../src/adapters/scala/repl-frames.js';

const KEY = 'k3y-0123456789abcdef';

/** Feed `input` split at every given offset; returns events with their data as strings. */
function parse(input: Buffer, cuts: number[] = []): { kind: string; text: string }[] {
  const parser = new FrameParser(KEY);
  const events: ReplEvent[] = [];
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    events.push(...parser.push(input.subarray(at, cut)));
    at = cut;
  }
  events.push(...parser.end());
  // Merge adjacent same-kind events (chunking may split them) for comparison.
  const merged: { kind: string; text: string }[] = [];
  for (const e of events) {
    const last = merged[merged.length - 1];
    if (last && last.kind === e.kind && e.kind !== 'message') last.text += e.data.toString('utf8');
    else merged.push({ kind: e.kind, text: e.data.toString('utf8') });
  }
  return merged;
}

const sample = Buffer.concat([
  Buffer.from('scala> '),
  encodeFrame(KEY, 'o', 'hello\n'),
  Buffer.from('<console>:11: error: type mismatch;\n'),
  encodeFrame(KEY, 'e', 'warn\n'),
  encodeFrame(KEY, 'm', '{"type":"done","id":"r1","status":"ok"}'),
]);
const expected = [
  { kind: 'text', text: 'scala> ' },
  { kind: 'stdout', text: 'hello\n' },
  { kind: 'text', text: '<console>:11: error: type mismatch;\n' },
  { kind: 'stderr', text: 'warn\n' },
  { kind: 'message', text: '{"type":"done","id":"r1","status":"ok"}' },
];

describe('FrameParser', () => {
  it('separates REPL text, user stdout/stderr and replies', () => {
    expect(parse(sample)).toEqual(expected);
  });

  it('gives the same result however the bytes are chunked (every split point)', () => {
    for (let cut = 1; cut < sample.length; cut++) expect(parse(sample, [cut])).toEqual(expected);
    const everyByte = Array.from({ length: sample.length - 1 }, (_, i) => i + 1);
    expect(parse(sample, everyByte)).toEqual(expected);
  });

  it('never scans user bytes: framing characters, a fake header and ANSI inside a frame stay data', () => {
    const nasty = `\u0001${KEY}:m:5\u0002{"x"}\u0001\u0002\u001b[31mred\u001b[0m`;
    const input = Buffer.concat([encodeFrame(KEY, 'o', nasty), encodeFrame(KEY, 'm', '{}')]);
    expect(parse(input)).toEqual([{ kind: 'stdout', text: nasty }, { kind: 'message', text: '{}' }]);
  });

  it('a header with another key, a bad kind or no length is plain REPL text', () => {
    const other = '\u0001otherkey123:m:2\u0002{}';
    const badKind = `\u0001${KEY}:z:2\u0002{}`;
    const noLength = `\u0001${KEY}:o:\u0002x`;
    for (const text of [other, badKind, noLength, 'lone \u0001 byte']) {
      expect(parse(Buffer.from(text))).toEqual([{ kind: 'text', text }]);
    }
  });

  it('streams a long frame as it arrives instead of holding it to its end', () => {
    const parser = new FrameParser(KEY);
    const frame = encodeFrame(KEY, 'o', 'x'.repeat(100));
    const first = parser.push(frame.subarray(0, 60));
    expect(first).toHaveLength(1);
    expect(first[0]!.kind).toBe('stdout');
    const rest = parser.push(frame.subarray(60));
    expect(first[0]!.data.length + rest[0]!.data.length).toBe(100);
  });

  it('keeps multi-byte UTF-8 split across frames as bytes (decoding is the consumer\'s)', () => {
    const euro = Buffer.from('€');
    const input = Buffer.concat([encodeFrame(KEY, 'o', euro.subarray(0, 1)), encodeFrame(KEY, 'o', euro.subarray(1))]);
    const events = new FrameParser(KEY).push(input);
    expect(Buffer.concat(events.map((e) => e.data)).toString('utf8')).toBe('€');
  });

  it('holds back a partial header, and releases it as text at the end', () => {
    const parser = new FrameParser(KEY);
    expect(parser.push(Buffer.from(`abc\u0001${KEY.slice(0, 5)}`))).toEqual([{ kind: 'text', data: Buffer.from('abc') }]);
    expect(parser.end()).toEqual([{ kind: 'text', data: Buffer.from(`\u0001${KEY.slice(0, 5)}`) }]);
  });

  it('refuses keys that could not be told apart from text', () => {
    expect(() => new FrameParser('short')).toThrow();
    expect(() => new FrameParser('has:colon-in-it')).toThrow();
  });
});
