import { describe, expect, it } from 'vitest';
import { parseMemorySize } from '../../../src/spark/index.js';

describe('parseMemorySize', () => {
  it('reads Spark memory strings, case-insensitive, with an optional b', () => {
    expect(parseMemorySize('512m')).toEqual({ bytes: 512 * 2 ** 20, text: '512m' });
    expect(parseMemorySize('4G')).toEqual({ bytes: 4 * 2 ** 30, text: '4g' });
    expect(parseMemorySize('1t')?.bytes).toBe(2 ** 40);
    expect(parseMemorySize('2048k')?.text).toBe('2048k');
    expect(parseMemorySize(' 8gb ')?.text).toBe('8g');
  });

  it('compares across units', () => {
    expect(parseMemorySize('8192m')!.bytes).toBe(parseMemorySize('8g')!.bytes);
    expect(parseMemorySize('8193m')!.bytes).toBeGreaterThan(parseMemorySize('8g')!.bytes);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'g', '4', '4.5g', '-1g', '0g', '4x', '4 g b', '1p', '12345678g']) {
      expect(parseMemorySize(bad), bad).toBeUndefined();
    }
  });

  it('reads bare numbers only with a default unit (Spark reads memoryOverhead "384" as MiB)', () => {
    expect(parseMemorySize('384')).toBeUndefined();
    expect(parseMemorySize('384', { defaultUnit: 'm' })?.text).toBe('384m');
  });
});
