import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_SPARK_CONF, confKeyFromEnvSuffix, parseUserSparkConf } from '../../../src/spark/index.js';
import { gatewayError, k8sSettings } from './fixtures.js';

const settings = k8sSettings();

describe('KERNEL_SPARK_CONF_<KEY> names', () => {
  const patterns = [...DEFAULT_ALLOWED_SPARK_CONF, 'spark.driver.blockManager.port'];
  it.each([
    ['SPARK_SQL_SHUFFLE_PARTITIONS', 'spark.sql.shuffle.partitions'],
    ['spark_sql_shuffle_partitions', 'spark.sql.shuffle.partitions'],
    ['SPARK_DYNAMICALLOCATION_EXECUTORIDLETIMEOUT', 'spark.dynamicAllocation.executorIdleTimeout'],
    ['SPARK_EXECUTOR_MEMORYOVERHEAD', 'spark.executor.memoryOverhead'],
    ['SPARK_KRYOSERIALIZER_BUFFER_MAX', 'spark.kryoserializer.buffer.max'],
    ['SPARK_SQL_CATALOG_MY__CAT', 'spark.sql.catalog.my_cat'],
    ['SPARK_DRIVER_BLOCKMANAGER_PORT', 'spark.driver.blockManager.port'],
    // past the matched pattern the key stays lower-case: the JSON form exists for these
    ['SPARK_SQL_ADAPTIVE_COALESCEPARTITIONS_ENABLED', 'spark.sql.adaptive.coalescepartitions.enabled'],
  ])('%s -> %s', (suffix, key) => {
    expect(confKeyFromEnvSuffix(suffix, patterns)).toBe(key);
  });
});

describe('parseUserSparkConf', () => {
  it('reads both forms; the exact JSON form wins for the same key', () => {
    expect(
      parseUserSparkConf(
        {
          KERNEL_SPARK_CONF_SPARK_SQL_SHUFFLE_PARTITIONS: '8',
          KERNEL_SPARK_CONF_SPARK_EXECUTOR_MEMORYOVERHEAD: '1024',
          KERNEL_SPARK_CONF: '{"spark.sql.shuffle.partitions":16,"spark.sql.adaptive.coalescePartitions.enabled":true}',
          KERNEL_SPARK_CONF_EMPTY: '',
        },
        settings,
      ),
    ).toEqual({
      'spark.executor.memoryOverhead': '1024',
      'spark.sql.adaptive.coalescePartitions.enabled': 'true',
      'spark.sql.shuffle.partitions': '16',
    });
  });

  it('refuses gateway-owned keys with 403 naming the key, whatever the allow-list says', () => {
    const permissive = k8sSettings({ allowedSparkConf: ['spark.'] });
    const cases: [Record<string, string>, string][] = [
      [{ KERNEL_SPARK_CONF_SPARK_MASTER: 'yarn' }, 'spark.master is set by the gateway and cannot be overridden (setting spark.master); sent as KERNEL_SPARK_CONF_SPARK_MASTER'],
      [{ KERNEL_SPARK_CONF_SPARK_DRIVER_BLOCKMANAGER_PORT: '1' }, 'spark.driver.blockManager.port is set by the gateway and cannot be overridden (allocated per session from spark.blockManagerPortRange); sent as KERNEL_SPARK_CONF_SPARK_DRIVER_BLOCKMANAGER_PORT'],
      [{ KERNEL_SPARK_CONF: '{"spark.kubernetes.namespace":"kube-system"}' }, 'spark.kubernetes.namespace is set by the gateway and cannot be overridden (setting spark.namespace); sent as KERNEL_SPARK_CONF'],
      [{ KERNEL_SPARK_CONF: '{"spark.kubernetes.executor.label.sparkgate.io/session":"x"}' }, 'spark.kubernetes.executor.label.sparkgate.io/session is set by the gateway and cannot be overridden (garbage collection depends on it); sent as KERNEL_SPARK_CONF'],
      [{ KERNEL_SPARK_CONF: '{"spark.authenticate.secret":"s"}' }, 'spark.authenticate.secret is set by the gateway and cannot be overridden (setting spark.authenticate); sent as KERNEL_SPARK_CONF'],
      [{ KERNEL_SPARK_CONF: '{"spark.kubernetes.authenticate.oauthTokenFile":"/x"}' }, 'spark.kubernetes.authenticate.oauthTokenFile is set by the gateway and cannot be overridden (settings spark.serviceAccount, spark.kubernetesCaCertFile, spark.kubernetesTokenFile); sent as KERNEL_SPARK_CONF'],
      [{ KERNEL_SPARK_CONF_SPARK_EXECUTOR_MEMORY: '64g' }, 'spark.executor.memory is set by the gateway and cannot be overridden (use KERNEL_EXECUTOR_MEMORY); sent as KERNEL_SPARK_CONF_SPARK_EXECUTOR_MEMORY'],
      [{ KERNEL_SPARK_CONF_SPARK_EXECUTOR_INSTANCES: '500' }, 'spark.executor.instances is set by the gateway and cannot be overridden (use KERNEL_MIN_EXECUTORS / KERNEL_MAX_EXECUTORS); sent as KERNEL_SPARK_CONF_SPARK_EXECUTOR_INSTANCES'],
      [{ KERNEL_SPARK_CONF_SPARK_SUBMIT_DEPLOYMODE: 'cluster' }, 'spark.submit.deployMode is set by the gateway and cannot be overridden (always client mode); sent as KERNEL_SPARK_CONF_SPARK_SUBMIT_DEPLOYMODE'],
    ];
    for (const [env, message] of cases) {
      const err = gatewayError(() => parseUserSparkConf(env, permissive));
      expect({ status: err.status, reason: err.reason, message: err.message }).toEqual({ status: 403, reason: 'forbidden', message });
    }
  });

  it('refuses keys outside the allow-list with 403 naming spark.allowedSparkConf', () => {
    const err = gatewayError(() => parseUserSparkConf({ KERNEL_SPARK_CONF_SPARK_EVENTLOG_DIR: 'file:///etc' }, settings));
    expect(err.status).toBe(403);
    expect(err.message).toBe(
      'spark.eventlog.dir is not among the Spark settings users may change on this gateway; sent as KERNEL_SPARK_CONF_SPARK_EVENTLOG_DIR (limit: spark.allowedSparkConf)',
    );
  });

  it('bounds spark.executor.memoryOverhead by maxExecutorMemory', () => {
    const err = gatewayError(() => parseUserSparkConf({ KERNEL_SPARK_CONF: '{"spark.executor.memoryOverhead":"100g"}' }, settings));
    expect(err.message).toBe('KERNEL_SPARK_CONF: spark.executor.memoryOverhead=100g is above the limit 8g (limit: spark.maxExecutorMemory)');
    expect(gatewayError(() => parseUserSparkConf({ KERNEL_SPARK_CONF_SPARK_EXECUTOR_MEMORYOVERHEAD: 'big' }, settings)).status).toBe(400);
  });

  it('refuses malformed input with 400 and an example', () => {
    const cases: [Record<string, string>, string][] = [
      [{ KERNEL_SPARK_CONF: '{"spark.sql.x":' }, `KERNEL_SPARK_CONF must be a JSON object of Spark keys to values, e.g. KERNEL_SPARK_CONF='{"spark.sql.shuffle.partitions":"8"}'`],
      [{ KERNEL_SPARK_CONF: '["spark.sql.x"]' }, `KERNEL_SPARK_CONF must be a JSON object of Spark keys to values, e.g. KERNEL_SPARK_CONF='{"spark.sql.shuffle.partitions":"8"}'`],
      [{ KERNEL_SPARK_CONF: '{"spark.sql.x":{"a":1}}' }, `KERNEL_SPARK_CONF: the value of "spark.sql.x" must be a string, number or boolean, e.g. KERNEL_SPARK_CONF='{"spark.sql.shuffle.partitions":"8"}'`],
      [{ KERNEL_SPARK_CONF: '{"sql.shuffle.partitions":"8"}' }, `KERNEL_SPARK_CONF: "sql.shuffle.partitions" is not a Spark configuration key; keys look like spark.sql.shuffle.partitions, e.g. KERNEL_SPARK_CONF_SPARK_SQL_SHUFFLE_PARTITIONS=8 or KERNEL_SPARK_CONF='{"spark.sql.shuffle.partitions":"8"}'`],
      [{ KERNEL_SPARK_CONF: '{"spark.sql.x":"a\\nb"}' }, 'KERNEL_SPARK_CONF: the value for spark.sql.x must be at most 4096 characters without control characters, e.g. KERNEL_SPARK_CONF_SPARK_SQL_SHUFFLE_PARTITIONS=8'],
      [{ 'KERNEL_SPARK_CONF_SPARK-SQL': '1' }, '"KERNEL_SPARK_CONF_SPARK-SQL" is not a valid variable name; e.g. KERNEL_SPARK_CONF_SPARK_SQL_SHUFFLE_PARTITIONS=8'],
    ];
    for (const [env, message] of cases) {
      const err = gatewayError(() => parseUserSparkConf(env, settings));
      expect({ status: err.status, reason: err.reason, message: err.message }).toEqual({ status: 400, reason: 'invalid_env', message });
    }
  });
});
