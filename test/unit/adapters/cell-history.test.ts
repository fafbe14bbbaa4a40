import { describe, expect, it } from 'vitest';
import { CellHistory, globToRegExp, HISTORY_SESSION } from '../../../src/adapters/scala/cell-history.js';

function filled(): CellHistory {
  const h = new CellHistory();
  h.record(1, '1 + 2 + 3', '6');
  h.record(2, 'println("x")');
  h.record(3, '1 + 2 + 3', '6');
  h.record(4, 'val y = 2', 'y: Int = 2');
  return h;
}

describe('CellHistory', () => {
  it('tail: the last n cells as [session, line, input]', () => {
    expect(filled().query({ hist_access_type: 'tail', n: 2, output: false, raw: true })).toEqual([
      [HISTORY_SESSION, 3, '1 + 2 + 3'],
      [HISTORY_SESSION, 4, 'val y = 2'],
    ]);
  });

  it('output: [input, output] pairs, null when the cell had no result', () => {
    expect(filled().query({ hist_access_type: 'tail', n: 3, output: true })).toEqual([
      [HISTORY_SESSION, 2, ['println("x")', null]],
      [HISTORY_SESSION, 3, ['1 + 2 + 3', '6']],
      [HISTORY_SESSION, 4, ['val y = 2', 'y: Int = 2']],
    ]);
  });

  it('range: start <= line < stop of this session (its number or 0); other sessions are empty', () => {
    const h = filled();
    expect(h.query({ hist_access_type: 'range', session: HISTORY_SESSION, start: 2, stop: 4 })).toEqual([
      [HISTORY_SESSION, 2, 'println("x")'],
      [HISTORY_SESSION, 3, '1 + 2 + 3'],
    ]);
    expect(h.query({ hist_access_type: 'range', session: 0, start: 4 })).toEqual([[HISTORY_SESSION, 4, 'val y = 2']]);
    expect(h.query({ hist_access_type: 'range', session: -1, start: 1, stop: 5 })).toEqual([]);
    expect(h.query({ hist_access_type: 'range', session: 7, start: 1, stop: 5 })).toEqual([]);
  });

  it('search: whole-source glob, the last n, each source once with unique', () => {
    const h = filled();
    expect(h.query({ hist_access_type: 'search', pattern: '1 + 2*' }).map((e) => e[1])).toEqual([1, 3]);
    expect(h.query({ hist_access_type: 'search', pattern: '1 + 2*', unique: true }).map((e) => e[1])).toEqual([3]);
    expect(h.query({ hist_access_type: 'search', pattern: '*', n: 1 }).map((e) => e[1])).toEqual([4]);
    expect(h.query({ hist_access_type: 'search', pattern: 'y' })).toEqual([]);
  });

  it('forgets the oldest cells beyond its bound; a malformed request gets an empty history', () => {
    const h = new CellHistory(2);
    for (let i = 1; i <= 5; i++) h.record(i, `c${i}`);
    expect(h.query({ hist_access_type: 'tail', n: 10 }).map((e) => e[1])).toEqual([4, 5]);
    expect(h.query({ hist_access_type: 'sideways' })).toEqual([]);
    expect(h.query(null)).toEqual([]);
  });
});

describe('globToRegExp (SQLite GLOB)', () => {
  it('* and ? match any characters, newlines included; the rest is literal and case-sensitive', () => {
    expect(globToRegExp('1?2*').test('1+2+3')).toBe(true);
    expect(globToRegExp('def*').test('def f = {\n  1\n}')).toBe(true);
    expect(globToRegExp('a.b(c)').test('a.b(c)')).toBe(true);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('ABC').test('abc')).toBe(false);
    expect(globToRegExp('1?2').test('1+2+3')).toBe(false);
  });

  it('[...] and [^...] are character classes; an unclosed [ is literal', () => {
    expect(globToRegExp('[a-c]x').test('bx')).toBe(true);
    expect(globToRegExp('[^a-c]x').test('bx')).toBe(false);
    expect(globToRegExp('[^a-c]x').test('dx')).toBe(true);
    expect(globToRegExp('a[').test('a[')).toBe(true);
  });
});
