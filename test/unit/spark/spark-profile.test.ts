import { describe, expect, it } from 'vitest';
import { kernelspecProfileSchema, resolveProfile } from '../../../src/spark/index.js';
import { gatewayError, k8sSettings, localSettings } from './fixtures.js';

describe('resolveProfile', () => {
  it('gives a session that asks for nothing the gateway defaults', () => {
    expect(resolveProfile({ settings: k8sSettings() })).toEqual({
      executorMemory: '2g',
      executorCores: 1,
      driverMemory: '1g',
      minExecutors: 0,
      maxExecutors: 10,
      image: 'registry.example.com/spark:3.5.3',
      jars: [],
      packages: [],
      conf: {},
    });
  });

  it('has no executor image in local mode, and ignores KERNEL_IMAGE there', () => {
    expect(resolveProfile({ settings: localSettings(), env: { KERNEL_IMAGE: 'anything:1' } }).image).toBeUndefined();
  });

  it('takes KERNEL_* over the kernelspec over the defaults', () => {
    const profile = resolveProfile({
      settings: k8sSettings({ allowedImages: ['registry.example.com/spark-gpu:*'] }),
      kernelspecProfile: kernelspecProfileSchema.parse({
        executorMemory: '3g',
        executorCores: 2,
        maxExecutors: 6,
        jars: ['local:///opt/jars/base.jar'],
        packages: ['org.apache.spark:spark-avro_2.12:3.5.3'],
        conf: { 'spark.sql.shuffle.partitions': '64', 'spark.eventLog.enabled': 'true' },
      }),
      env: {
        KERNEL_EXECUTOR_MEMORY: '6G',
        KERNEL_DRIVER_MEMORY: '2048m',
        KERNEL_MAX_EXECUTORS: '8',
        KERNEL_MIN_EXECUTORS: '1',
        KERNEL_IMAGE: 'registry.example.com/spark-gpu:3.5.3',
        KERNEL_SPARK_JARS: 'https://repo.example.com/udfs.jar, local:///opt/jars/base.jar',
        KERNEL_SPARK_PACKAGES: 'io.delta:delta-spark_2.12:3.2.0',
        KERNEL_SPARK_CONF_SPARK_SQL_SHUFFLE_PARTITIONS: '8',
        KERNEL_USERNAME: 'ignored',
      },
    });
    expect(profile).toEqual({
      executorMemory: '6g',
      executorCores: 2,
      driverMemory: '2048m',
      minExecutors: 1,
      maxExecutors: 8,
      image: 'registry.example.com/spark-gpu:3.5.3',
      jars: ['local:///opt/jars/base.jar', 'https://repo.example.com/udfs.jar'],
      packages: ['org.apache.spark:spark-avro_2.12:3.5.3', 'io.delta:delta-spark_2.12:3.2.0'],
      conf: { 'spark.sql.shuffle.partitions': '8', 'spark.eventLog.enabled': 'true' },
    });
    expect(Object.isFrozen(profile)).toBe(true);
  });

  it('treats blank KERNEL_* values as unset', () => {
    expect(resolveProfile({ settings: k8sSettings(), env: { KERNEL_EXECUTOR_MEMORY: '  ', KERNEL_MAX_EXECUTORS: '' } })).toMatchObject({
      executorMemory: '2g',
      maxExecutors: 10,
    });
  });

  it('refuses requests above a limit with 403 naming the limit setting', () => {
    const settings = k8sSettings();
    const cases: [Record<string, string>, string][] = [
      [{ KERNEL_EXECUTOR_MEMORY: '16g' }, 'KERNEL_EXECUTOR_MEMORY=16g is above the limit 8g (limit: spark.maxExecutorMemory)'],
      [{ KERNEL_EXECUTOR_MEMORY: '8193m' }, 'KERNEL_EXECUTOR_MEMORY=8193m is above the limit 8g (limit: spark.maxExecutorMemory)'],
      [{ KERNEL_DRIVER_MEMORY: '5g' }, 'KERNEL_DRIVER_MEMORY=5g is above the limit 4g (limit: spark.maxDriverMemory)'],
      [{ KERNEL_EXECUTOR_CORES: '5' }, 'KERNEL_EXECUTOR_CORES=5 is above the limit 4 (limit: spark.maxExecutorCores)'],
      [{ KERNEL_MAX_EXECUTORS: '11' }, 'KERNEL_MAX_EXECUTORS=11 is above the limit 10 (limit: spark.maxExecutors)'],
      [{ KERNEL_MIN_EXECUTORS: '11' }, 'KERNEL_MIN_EXECUTORS=11 is above the limit 10 (limit: spark.maxExecutors)'],
      [{ KERNEL_IMAGE: 'docker.io/evil/miner:latest' }, 'KERNEL_IMAGE="docker.io/evil/miner:latest" is not an allowed image (limit: spark.allowedImages)'],
    ];
    for (const [env, message] of cases) {
      const err = gatewayError(() => resolveProfile({ settings, env }));
      expect({ status: err.status, reason: err.reason, message: err.message }).toEqual({ status: 403, reason: 'policy_limit', message });
    }
  });

  it('refuses code when allowPackages is off, but keeps the kernelspec\'s own', () => {
    const settings = k8sSettings({ allowPackages: false });
    for (const variable of ['KERNEL_SPARK_PACKAGES', 'KERNEL_SPARK_JARS']) {
      const err = gatewayError(() => resolveProfile({ settings, env: { [variable]: 'a:b:1' } }));
      expect(err.status).toBe(403);
      expect(err.message).toBe(`${variable} is not allowed: this gateway does not let sessions add code (limit: spark.allowPackages)`);
    }
    const ks = kernelspecProfileSchema.parse({ packages: ['org.apache.spark:spark-avro_2.12:3.5.3'] });
    expect(resolveProfile({ settings, kernelspecProfile: ks }).packages).toEqual(['org.apache.spark:spark-avro_2.12:3.5.3']);
  });

  it('refuses malformed values with 400 naming the variable and showing an example', () => {
    const settings = k8sSettings();
    const cases: [Record<string, string>, string][] = [
      [{ KERNEL_EXECUTOR_MEMORY: 'lots' }, 'KERNEL_EXECUTOR_MEMORY must be a Spark memory size: a whole number and a unit k, m, g or t, e.g. KERNEL_EXECUTOR_MEMORY=4g (got "lots")'],
      [{ KERNEL_DRIVER_MEMORY: '4096' }, 'KERNEL_DRIVER_MEMORY must be a Spark memory size: a whole number and a unit k, m, g or t, e.g. KERNEL_DRIVER_MEMORY=4g (got "4096")'],
      [{ KERNEL_EXECUTOR_CORES: '1.5' }, 'KERNEL_EXECUTOR_CORES must be a whole number >= 1, e.g. KERNEL_EXECUTOR_CORES=2 (got "1.5")'],
      [{ KERNEL_EXECUTOR_CORES: '0' }, 'KERNEL_EXECUTOR_CORES must be a whole number >= 1, e.g. KERNEL_EXECUTOR_CORES=2 (got "0")'],
      [{ KERNEL_MAX_EXECUTORS: '-1' }, 'KERNEL_MAX_EXECUTORS must be a whole number >= 1, e.g. KERNEL_MAX_EXECUTORS=4 (got "-1")'],
      [{ KERNEL_MIN_EXECUTORS: '5', KERNEL_MAX_EXECUTORS: '3' }, "KERNEL_MIN_EXECUTORS=5 is above the session's maximum of 3 executors; e.g. KERNEL_MIN_EXECUTORS=0 KERNEL_MAX_EXECUTORS=3"],
      [{ KERNEL_SPARK_PACKAGES: 'delta-spark' }, 'KERNEL_SPARK_PACKAGES: "delta-spark" is malformed; use a comma-separated list, e.g. KERNEL_SPARK_PACKAGES=org.apache.spark:spark-avro_2.12:3.5.3'],
      [{ KERNEL_SPARK_JARS: "a.jar,b c.jar" }, 'KERNEL_SPARK_JARS: "b c.jar" is malformed; use a comma-separated list, e.g. KERNEL_SPARK_JARS=local:///opt/jars/udfs.jar,https://repo.example.com/x.jar'],
      [{ KERNEL_IMAGE: 'not an image' }, 'KERNEL_IMAGE must be a container image reference, e.g. KERNEL_IMAGE=registry.example.com/spark:3.5.3 (got "not an image")'],
    ];
    for (const [env, message] of cases) {
      const err = gatewayError(() => resolveProfile({ settings, env }));
      expect({ status: err.status, reason: err.reason, message: err.message }).toEqual({ status: 400, reason: 'invalid_env', message });
    }
  });

  it('never echoes a long value whole', () => {
    const long = `${'x'.repeat(10_000)}g`;
    const err = gatewayError(() => resolveProfile({ settings: k8sSettings(), env: { KERNEL_EXECUTOR_MEMORY: long } }));
    expect(err.message.length).toBeLessThan(200);
    expect(err.message).toContain(`"${'x'.repeat(32)}…"`);
    const control = gatewayError(() => resolveProfile({ settings: k8sSettings(), env: { KERNEL_IMAGE: 'a\nb\u001b[31m' } }));
    expect(control.message).not.toMatch(/[\n\u001b]/);
  });

  it('clamps kernelspec values to policy instead of refusing the session', () => {
    const ks = kernelspecProfileSchema.parse({ executorMemory: '32g', driverMemory: '16g', executorCores: 16, maxExecutors: 50, minExecutors: 60 });
    expect(resolveProfile({ settings: k8sSettings(), kernelspecProfile: ks })).toMatchObject({
      executorMemory: '8g',
      driverMemory: '4g',
      executorCores: 4,
      maxExecutors: 10,
      minExecutors: 10,
    });
  });

  it('checks the kernelspec image against policy too', () => {
    const ks = kernelspecProfileSchema.parse({ image: 'registry.example.com/other:1' });
    const err = gatewayError(() => resolveProfile({ settings: k8sSettings(), kernelspecProfile: ks }));
    expect(err.message).toBe('the kernelspec\'s image "registry.example.com/other:1" is not an allowed image (limit: spark.allowedImages)');
  });

  it('accepts the default image by name and allowed-image prefixes', () => {
    const settings = k8sSettings({ allowedImages: ['registry.example.com/team-*', 'docker.io/apache/spark:3.5.3'] });
    for (const image of ['registry.example.com/spark:3.5.3', 'registry.example.com/team-a/spark:1', 'docker.io/apache/spark:3.5.3']) {
      expect(resolveProfile({ settings, env: { KERNEL_IMAGE: image } }).image).toBe(image);
    }
    expect(gatewayError(() => resolveProfile({ settings, env: { KERNEL_IMAGE: 'docker.io/apache/spark:3.5.4' } })).status).toBe(403);
  });
});

describe('kernelspecProfileSchema', () => {
  it('validates metadata.sparkgate.profile and refuses gateway-owned conf keys', () => {
    expect(kernelspecProfileSchema.parse({})).toEqual({});
    const bad = kernelspecProfileSchema.safeParse({
      executorMemory: '4 gigs',
      packages: ['nope'],
      conf: { 'spark.master': 'yarn', 'spark.driver.port': '1' },
      extra: 1,
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'executorMemory: must be a Spark memory size, e.g. "4g"',
      'packages.0: must be group:artifact:version, e.g. "org.apache.spark:spark-avro_2.12:3.5.3"',
      ': Unrecognized key: "extra"',
      'conf.spark.master: spark.master is rendered by the gateway (setting spark.master)',
      'conf.spark.driver.port: spark.driver.port is rendered by the gateway (allocated per session from spark.driverPortRange)',
    ]);
    const owned = kernelspecProfileSchema.safeParse({ conf: { 'spark.master': 'yarn', 'spark.sql.x': '1' } });
    expect(owned.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'conf.spark.master: spark.master is rendered by the gateway (setting spark.master)',
    ]);
  });
});
