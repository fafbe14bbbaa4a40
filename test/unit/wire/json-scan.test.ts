/**
 * The bounded JSON scanner against JSON.parse as the oracle: the same texts are valid, member
 * spans hold exactly the members' values, and no nesting depth can exhaust the call stack.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonBounded, scanJson, splitJsonObject } from '../../../src/wire/json-scan.js';
import { fuzzParams } from '../../fuzz/fuzz-config.js';

const NO_LIMIT = 1_000_000;

function oracle(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const scans = (text: string): boolean => scanJson(Buffer.from(text, 'utf8'), { maxDepth: NO_LIMIT }).ok;

/** Valid JSON texts, then single-character edits of them: mostly invalid, near the grammar's edges. */
const jsonText = fc.jsonValue().map((v) => JSON.stringify(v, null, Math.random() < 0.3 ? 1 : undefined));
const edited = fc
  .tuple(jsonText, fc.nat(), fc.constantFrom('', '"', '\\', '{', '}', '[', ']', ',', ':', '-', '0', '.', 'e', 't', 'n', ' ', '\u0001', 'é', '1e', '\\u12'), fc.boolean())
  .map(([text, at, ch, replace]) => {
    const i = text.length === 0 ? 0 : at % text.length;
    return text.slice(0, i) + ch + text.slice(replace ? i + 1 : i);
  });

describe('scanJson', () => {
  it('accepts exactly what JSON.parse accepts', () => {
    fc.assert(fc.property(jsonText, (text) => scans(text) === true), fuzzParams(500));
    fc.assert(fc.property(edited, (text) => scans(text) === oracle(text)), fuzzParams(3000));
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => scans(text) === oracle(text)), fuzzParams(2000));
  });

  it.each([
    ['{}', true], ['[]', true], [' 1 ', true], ['-0.5e+10', true], ['"\\u00e9\\n"', true], ['null', true],
    ['', false], ['01', false], ['1.', false], ['.5', false], ['-', false], ['"\\x"', false], ['"\\u12"', false],
    ['{"a" 1}', false], ['{"a":1,}', false], ['[1,]', false], ['[1 2]', false], ['tru', false], ['nulll', false],
    ['"a\tb"', false], ['{"a":1}}', false], ['\ufeff{}', false], ['{1:2}', false], ['"unterminated', false],
  ])('%j is valid: %s', (text, valid) => {
    expect(scans(text)).toBe(valid);
    expect(oracle(text)).toBe(valid);
  });

  it('walks any depth without recursion, and stops at maxDepth', () => {
    for (const depth of [10_000, 200_000]) {
      const text = '['.repeat(depth) + ']'.repeat(depth);
      expect(scanJson(Buffer.from(text), { maxDepth: NO_LIMIT })).toEqual({ ok: true, depth });
      const capped = scanJson(Buffer.from(text), { maxDepth: 64 });
      expect(capped.ok).toBe(false);
      expect(!capped.ok && capped.error).toMatch(/deeper than 64 levels/);
    }
    const objects = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
    expect(scanJson(Buffer.from(objects), { maxDepth: NO_LIMIT })).toEqual({ ok: true, depth: 50_000 });
  });
});

describe('splitJsonObject', () => {
  it('gives each member the bytes of its value, as JSON.parse reads it (last duplicate wins)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.integer({ min: 0, max: 2 }), (dict, indent) => {
        const text = JSON.stringify(dict, null, indent);
        const split = splitJsonObject(Buffer.from(text), NO_LIMIT);
        if (!split.ok) return false;
        const expected = JSON.parse(text) as Record<string, unknown>;
        const keys = Object.keys(expected).filter((k) => Buffer.byteLength(JSON.stringify(k)) <= 256);
        for (const k of keys) {
          const bytes = split.members.get(k);
          if (!bytes || JSON.stringify(JSON.parse(bytes.toString('utf8'))) !== JSON.stringify(expected[k])) return false;
        }
        return split.members.size === keys.length;
      }),
      fuzzParams(500),
    );
    const dup = splitJsonObject(Buffer.from('{"a": 1, "b": [2], "a": {"x": 3} }'), 10);
    expect(dup.ok && dup.members.get('a')!.toString()).toBe('{"x": 3}');
    expect(dup.ok && dup.members.get('b')!.toString()).toBe('[2]');
  });

  it('refuses what is not one valid JSON object', () => {
    for (const text of ['[1]', '"x"', '{"a":1', '{"a":1} x', '{"a":[1,}']) expect(splitJsonObject(Buffer.from(text), 10).ok).toBe(false);
  });

  it('returns views into the input, not copies', () => {
    const input = Buffer.from('{"content":{"code":"1+1"}}');
    const split = splitJsonObject(input, 10);
    expect(split.ok && split.members.get('content')!.buffer).toBe(input.buffer);
  });
});

describe('parseJsonBounded', () => {
  it('parses within the limits and refuses past them, before JSON.parse', () => {
    expect(parseJsonBounded('{"a":[1,{"b":2}]}', { maxDepth: 3, maxBytes: 100 })).toEqual({ ok: true, value: { a: [1, { b: 2 }] } });
    expect(parseJsonBounded('[[[[1]]]]', { maxDepth: 3, maxBytes: 100 }).ok).toBe(false);
    expect(parseJsonBounded('"' + 'x'.repeat(200) + '"', { maxDepth: 3, maxBytes: 100 }).ok).toBe(false);
    expect(parseJsonBounded(Buffer.from([0x22, 0xff, 0x22]), { maxDepth: 3, maxBytes: 100 })).toEqual({ ok: false, error: 'JSON is not valid UTF-8' });
  });
});
