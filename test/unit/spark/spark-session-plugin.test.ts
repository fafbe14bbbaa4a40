/**
 * SparkSessionPlugin with teams and notices: a session renders its owner's team placement, and in
 * Kubernetes mode gets a notice file (SPARKGATE_SPARK_NOTICE_FILE) that the kernel's stderr feeds
 * through `onOutput`; the file goes with the session's other files.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LaunchContext } from '../../../src/kernels/kernel-launcher.js';
import { PortAllocator } from '../../../src/spark/port-allocator.js';
import { SparkSessionPlugin } from '../../../src/spark/spark-session-plugin.js';
import type { SparkSettings } from '../../../src/spark/spark-settings.js';
import { SESSION_ID, k8sSettings, localSettings } from './fixtures.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function plugin(settings: SparkSettings): SparkSessionPlugin {
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'sg-plugin-'));
  dirs.push(runtimeDir);
  return new SparkSessionPlugin({
    settings,
    runtimeDir,
    allocator: new PortAllocator({
      driverPortRange: settings.driverPortRange,
      blockManagerPortRange: settings.blockManagerPortRange,
      uiPortRange: settings.uiPortRange,
    }),
  });
}

function context(team: LaunchContext['team']): LaunchContext {
  return {
    kernelId: SESSION_ID,
    spec: { name: 'pyspark', dir: '/specs/pyspark', spec: {}, sparkgate: { spark: true, profile: {} }, resources: [] } as unknown as LaunchContext['spec'],
    connectionFile: '/run/kernel.json',
    userEnv: {},
    config: {} as LaunchContext['config'],
    python: undefined,
    owner: { user: 'alice', team: team.name },
    team,
  };
}

const REFUSAL = `pods "sg-0b6a1f8e-exec-1" is forbidden: exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0`;

describe('SparkSessionPlugin', () => {
  it('renders the owner\'s team namespace and feeds the kernel\'s stderr into the session\'s notice file', async () => {
    const spark = plugin(k8sSettings());
    const contribution = await spark.prepare(context({ name: 'analytics', namespace: 'spark-analytics', serviceAccount: 'analytics-executor' }));
    const conf = spark.session(SESSION_ID)!.conf;
    expect(conf['spark.kubernetes.namespace']).toBe('spark-analytics');
    expect(conf['spark.kubernetes.authenticate.executor.serviceAccountName']).toBe('analytics-executor');
    expect(conf['spark.kubernetes.driver.pod.name']).toBeUndefined();

    const noticeFile = contribution.env!['SPARKGATE_SPARK_NOTICE_FILE']!;
    expect(contribution.files).toContain(noticeFile);
    spark.onOutput(SESSION_ID, 'stdout', `${REFUSAL}\n`);
    expect(existsSync(noticeFile)).toBe(false); // the driver logs on stderr only
    spark.onOutput(SESSION_ID, 'stderr', `26/01/02 10:00:00 ERROR ExecutorPodsAllocator: Failed to create executor pod 1. Total failures: 1\n${REFUSAL.slice(0, 40)}`);
    spark.onOutput(SESSION_ID, 'stderr', `${REFUSAL.slice(40)}\n`);
    const notice = JSON.parse(readFileSync(noticeFile, 'utf8')) as { text: string };
    expect(notice.text).toBe(
      'Spark cannot start executors: namespace spark-analytics\'s ResourceQuota "q" refuses them (exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0)',
    );
    await spark.onEnd(SESSION_ID);
    spark.onOutput(SESSION_ID, 'stderr', `${REFUSAL}\n`); // late output of an ended run: ignored
    expect(spark.session(SESSION_ID)).toBeUndefined();
  });

  it('renders the gateway\'s namespace for a team without one; local mode gets no notice file', async () => {
    const k8s = plugin(k8sSettings());
    await k8s.prepare(context({ name: 'default' }));
    expect(k8s.session(SESSION_ID)!.conf).toMatchObject({ 'spark.kubernetes.namespace': 'spark', 'spark.kubernetes.driver.pod.name': 'sparkgate-0' });
    const local = plugin(localSettings());
    const contribution = await local.prepare(context({ name: 'analytics', namespace: 'spark-analytics' }));
    expect(contribution.env!['SPARKGATE_SPARK_NOTICE_FILE']).toBeUndefined();
    expect(local.session(SESSION_ID)!.conf['spark.kubernetes.namespace']).toBeUndefined();
  });
});
