/** Warm pool policy that needs no kernel: settings parsing, the global bound, env matching, refill timing and warm-up (stub kernels). */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import type { Kernel } from '../../../src/kernels/kernel.js';
import { launchChanges } from '../../../src/kernels/kernel-manager.js';
import { WarmPool, poolTargets } from '../../../src/kernels/warm-pool.js';
import { createLogger } from '../../../src/logger.js';
import { GatewayMetrics } from '../../../src/metrics.js';

describe('warmPool setting', () => {
  it('reads name=count lists and JSON from the environment, objects from files', () => {
    expect(loadConfig({ env: { SPARKGATE_WARM_POOL: 'python3=2, pyspark=1' } }).warmPool).toEqual({ python3: 2, pyspark: 1 });
    expect(loadConfig({ env: { SPARKGATE_WARM_POOL: '{"spark-sql": 3}' } }).warmPool).toEqual({ 'spark-sql': 3 });
    expect(loadConfig({ overrides: { warmPool: { python3: 1 } } }).warmPool).toEqual({ python3: 1 });
    expect(loadConfig({}).warmPool).toEqual({});
    expect(loadConfig({}).warmPoolMaxTotal).toBe(8);
  });

  it('names the setting and its variable when the value is wrong', () => {
    expect(() => loadConfig({ env: { SPARKGATE_WARM_POOL: 'python3' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { SPARKGATE_WARM_POOL: 'python3' } })).toThrow(/SPARKGATE_WARM_POOL.*kernelspec=count/s);
    expect(() => loadConfig({ env: { SPARKGATE_WARM_POOL: 'python3=lots' } })).toThrow(/warmPool/);
    expect(() => loadConfig({ env: { SPARKGATE_WARM_POOL: 'python3=1000' } })).toThrow(/warmPool/);
  });
});

describe('poolTargets', () => {
  it('caps the total, first configured first served', () => {
    expect([...poolTargets({ a: 2, b: 3, c: 1 }, 4)]).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    expect([...poolTargets({ a: 0, b: 1 }, 8)]).toEqual([['b', 1]]);
    expect([...poolTargets({ a: 5 }, 0)]).toEqual([]);
  });
});

describe('launchChanges', () => {
  const config = { warmPoolIgnoredEnv: ['KERNEL_USERNAME', 'KERNEL_LAUNCH_TIMEOUT', 'KERNEL_WORKING_DIR'], mirrorWorkingDirs: false };

  it('lets habitual variables through, and any other variable forces a cold start', () => {
    expect(launchChanges({ KERNEL_USERNAME: 'ann', KERNEL_LAUNCH_TIMEOUT: '40' }, config)).toEqual([]);
    expect(launchChanges({ KERNEL_USERNAME: 'ann', KERNEL_DRIVER_MEMORY: '4g' }, config)).toEqual(['KERNEL_DRIVER_MEMORY']);
    expect(launchChanges({}, config)).toEqual([]);
  });

  it('treats KERNEL_WORKING_DIR as part of the launch when working directories are mirrored', () => {
    expect(launchChanges({ KERNEL_WORKING_DIR: '/home/ann' }, config)).toEqual([]);
    expect(launchChanges({ KERNEL_WORKING_DIR: '/home/ann' }, { ...config, mirrorWorkingDirs: true })).toEqual(['KERNEL_WORKING_DIR']);
  });

  it('honours an empty ignore list: only KERNEL_LAUNCH_TIMEOUT is the gateway\'s own', () => {
    const strict = { warmPoolIgnoredEnv: [], mirrorWorkingDirs: false };
    expect(launchChanges({ KERNEL_USERNAME: 'ann', KERNEL_LAUNCH_TIMEOUT: '40' }, strict)).toEqual(['KERNEL_USERNAME']);
  });
});

describe('WarmPool refills and warm-up', () => {
  /** Just what the pool uses of a Kernel: start, state, id, on('state'), shutdown. */
  class StubKernel extends EventEmitter {
    state = 'starting';
    constructor(readonly id: string) {
      super();
    }
    async start(): Promise<void> {
      this.state = 'idle';
    }
    async shutdown(): Promise<void> {
      this.state = 'ended';
    }
  }

  function pool(options: { refillDelayMs?: number; warmUp?: (k: Kernel) => Promise<void> } = {}) {
    let n = 0;
    const created: StubKernel[] = [];
    const warm = new WarmPool({
      sizes: { spec: 1 },
      maxTotal: 8,
      logger: createLogger({ level: 'silent' }),
      metrics: new GatewayMetrics(),
      create: () => {
        const k = new StubKernel(`k${++n}`);
        created.push(k);
        return k as unknown as Kernel;
      },
      retryBaseMs: 10,
      ...options,
    });
    return { warm, created };
  }
  const ready = (warm: WarmPool): number => warm.counts()[0]!.ready;
  const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('waits refillDelayMs after a claim before it starts the next session', async () => {
    const { warm, created } = pool({ refillDelayMs: 300 });
    warm.start();
    await vi.waitFor(() => expect(ready(warm)).toBe(1));
    expect(warm.take('spec')?.id).toBe('k1');
    await settle(150);
    expect(created).toHaveLength(1);
    await vi.waitFor(() => expect(ready(warm)).toBe(1));
    expect(created).toHaveLength(2);
    await warm.stop();
  });

  it('counts a session ready only after its warm-up; a failed warm-up is retried with a new session', async () => {
    let calls = 0;
    const { warm, created } = pool({
      warmUp: async () => {
        calls++;
        if (calls === 1) throw new Error('the warm-up failed');
      },
    });
    warm.start();
    await vi.waitFor(() => expect(ready(warm)).toBe(1));
    expect(calls).toBe(2);
    expect(created.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect(warm.take('spec')?.id).toBe('k2');
    await warm.stop();
  });
});
