/** The bench helper runs and reports a sane number (the bench runner owns the real measurement). */
import { describe, expect, it } from 'vitest';
import { measureGcLatency } from '../../../bench/gc-latency.js';

describe('measureGcLatency', () => {
  it('collects 50 executor pods and reports the latency', async () => {
    const result = await measureGcLatency({ pods: 50 });
    expect(result.pods).toBe(50);
    expect(result.ms).toBeGreaterThan(0);
    expect(result.ms).toBeLessThan(5_000);
  });

  it('includes the graceful deletion delay', async () => {
    const result = await measureGcLatency({ pods: 5, deletionDelayMs: 100 });
    expect(result.ms).toBeGreaterThanOrEqual(95);
  });
});
