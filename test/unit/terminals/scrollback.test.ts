import { describe, expect, it } from 'vitest';
import { Scrollback } from '../../../src/terminals/scrollback.js';

describe('Scrollback', () => {
  it('keeps everything under the limit, oldest first', () => {
    const s = new Scrollback(100);
    s.push('a\r\n');
    s.push('b\r\n');
    expect(s.text()).toBe('a\r\nb\r\n');
    expect(s.size).toBe(6);
  });

  it('drops whole old chunks, then cuts to a line start', () => {
    const s = new Scrollback(20);
    s.push('0123456789\r\n');
    s.push('line two\r\nline three\r\n');
    const text = s.text();
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(20);
    expect(text).toBe('line three\r\n');
    expect(s.size).toBe(Buffer.byteLength(text));
  });

  it('keeps the tail of one long line and never splits a UTF-8 character', () => {
    const s = new Scrollback(10);
    s.push('é'.repeat(20)); // 40 bytes, no newline
    const text = s.text();
    expect(text).toMatch(/^é+$/);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(10);
    expect(s.size).toBe(Buffer.byteLength(text));
  });

  it('stays bounded under many pushes', () => {
    const s = new Scrollback(256 * 1024);
    for (let i = 0; i < 20_000; i++) s.push(`${i} ${'x'.repeat(50)}\r\n`);
    expect(s.size).toBeLessThanOrEqual(256 * 1024);
    expect(s.text().endsWith(`19999 ${'x'.repeat(50)}\r\n`)).toBe(true);
  });

  it('a zero limit keeps nothing; clear empties it', () => {
    const none = new Scrollback(0);
    none.push('x');
    expect(none.text()).toBe('');
    const s = new Scrollback(10);
    s.push('abc');
    s.clear();
    expect(s.text()).toBe('');
    expect(s.size).toBe(0);
  });
});
