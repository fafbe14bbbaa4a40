/** Warm pool policy that needs no kernel: settings parsing, the global bound, env matching. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { launchChanges } from '../../../src/kernels/kernel-manager.js';
import { poolTargets } from '../../../src/kernels/warm-pool.js';

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
