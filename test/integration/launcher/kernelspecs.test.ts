/** The shipped kernelspecs: valid for the gateway's own schema, with real logo PNGs. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KernelspecStore } from '../../../src/kernels/kernelspec-store.js';
import { SPECS_DIR, KERNEL_PYTHON } from './launcher-kernel.js';

const EXPECTED = {
  python3: { language: 'python', spark: false, kind: 'python' },
  pyspark: { language: 'python', spark: true, kind: 'pyspark' },
  'spark-sql': { language: 'sql', spark: true, kind: 'spark-sql' },
} as const;

/** Width and height from a PNG's IHDR chunk (after the 8-byte signature). */
function pngSize(file: string): [number, number] {
  const bytes = readFileSync(file);
  expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

describe('kernelspecs', () => {
  it('load through the gateway KernelspecStore with the sparkgate launcher metadata', () => {
    const invalid: string[] = [];
    const store = new KernelspecStore({ dirs: [SPECS_DIR], defaultName: 'python3', onInvalid: (d, m) => invalid.push(`${d}: ${m}`) });
    expect(invalid).toEqual([]);
    for (const [name, want] of Object.entries(EXPECTED)) {
      const spec = store.get(name);
      expect(spec.spec.language).toBe(want.language);
      expect(spec.spec.interrupt_mode).toBe('signal');
      expect(spec.spec.argv).toEqual(['{python}', '-m', 'sparkgate_kernel', '--kind', want.kind, '-f', '{connection_file}']);
      expect(spec.sparkgate).toMatchObject({ launcher: 'ipykernel', spark: want.spark, kind: want.kind, profile: {} });
      expect(spec.resources.sort()).toEqual(['logo-32x32.png', 'logo-64x64.png']);
      expect(pngSize(store.resourcePath(name, 'logo-64x64.png'))).toEqual([64, 64]);
      expect(pngSize(store.resourcePath(name, 'logo-32x32.png'))).toEqual([32, 32]);
    }
  });

  it('ship the logos their generator makes', async () => {
    const run = await promisify(execFile)(KERNEL_PYTHON, [path.join(SPECS_DIR, 'make_logos.py'), '--check']);
    expect(run.stderr).toBe('');
  });
});
