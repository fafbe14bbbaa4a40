import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { V1ConfigMap, V1Pod, V1Secret } from '@kubernetes/client-node';
import {
  baseEnv,
  buildExecutorCommand,
  ExecutorSpecError,
  exitCodeOf,
  expandVars,
  killGraceSeconds,
  mountMap,
  nodeStatus,
  referencedObjects,
  rewritePaths,
  runningStatus,
  terminatedStatus,
  type ExecutorInputs,
} from '../../control-plane/executor-command.js';
import { REPO_ROOT } from '../../../src/config.js';

const ENTRYPOINT = path.join(REPO_ROOT, 'manifests', 'executor-entrypoint.sh');

const SPARK_HOME = '/sw/pyspark';
const POD_DIR = '/tmp/agent/app-exec-1';

/** An executor pod as Spark 4's BasicExecutorFeatureStep + LocalDirsFeatureStep write it. */
function executorPod(): V1Pod {
  return {
    metadata: { name: 'app-exec-1', namespace: 'spark', uid: 'uid-1', labels: { 'spark-role': 'executor', 'spark-exec-id': '1' } },
    spec: {
      containers: [
        {
          name: 'spark-kubernetes-executor',
          image: 'apache/spark:4.3.0',
          args: ['executor'],
          env: [
            { name: 'SPARK_USER', value: 'alice' },
            { name: 'SPARK_DRIVER_URL', value: 'spark://CoarseGrainedScheduler@127.0.0.1:7078' },
            { name: 'SPARK_EXECUTOR_CORES', value: '2' },
            { name: 'SPARK_EXECUTOR_MEMORY', value: '1024m' },
            { name: 'SPARK_APPLICATION_ID', value: 'spark-app-42' },
            { name: 'SPARK_CONF_DIR', value: '/opt/spark/conf' },
            { name: 'SPARK_EXECUTOR_ID', value: '1' },
            { name: 'SPARK_RESOURCE_PROFILE_ID', value: '0' },
            { name: 'SPARK_EXECUTOR_POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
            { name: 'SPARK_EXECUTOR_POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
            { name: 'SPARK_JAVA_OPT_10', value: '-Dspark.ten=10' },
            { name: 'SPARK_JAVA_OPT_0', value: '-Dspark.driver.port=7078' },
            { name: 'SPARK_JAVA_OPT_2', value: '-Djava.io.tmpdir=/var/data/spark-d1/tmp' },
            { name: 'SPARK_LOCAL_DIRS', value: '/var/data/spark-d1' },
          ],
          volumeMounts: [
            { name: 'spark-local-dir-1', mountPath: '/var/data/spark-d1' },
            { name: 'spark-conf-volume-exec', mountPath: '/opt/spark/conf' },
          ],
        },
      ],
      volumes: [
        { name: 'spark-local-dir-1', emptyDir: {} },
        {
          name: 'spark-conf-volume-exec',
          configMap: { name: 'spark-exec-conf-map', items: [{ key: 'log4j2.properties', path: 'log4j2.properties' }] },
        },
        { name: 'unused', secret: { secretName: 'never-read' } },
      ],
    },
  };
}

const confMap: V1ConfigMap = { metadata: { name: 'spark-exec-conf-map' }, data: { 'log4j2.properties': 'rootLogger.level = info\n', 'other.conf': 'x' } };

function inputs(pod: V1Pod = executorPod(), extra: Partial<ExecutorInputs> = {}): ExecutorInputs {
  return {
    pod,
    nodeName: 'test-node',
    sparkHome: SPARK_HOME,
    podDir: POD_DIR,
    entrypoint: ENTRYPOINT,
    baseEnv: { PATH: '/usr/bin:/bin', HOME: '/home/me', LANG: 'C.UTF-8' },
    configMaps: new Map([['spark-exec-conf-map', confMap]]),
    secrets: new Map(),
    ...extra,
  };
}

/** Run the plan's entrypoint with a stand-in `java` that prints its arguments: the script's command line is what is tested. */
function javaArgs(plan: { argv: string[]; env: Record<string, string> }): string[] {
  const bin = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-entrypoint-'));
  try {
    writeFileSync(path.join(bin, 'java'), '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n', { mode: 0o755 });
    const out = execFileSync(plan.argv[0]!, plan.argv.slice(1), { env: { ...plan.env, PATH: `${bin}:/usr/bin:/bin`, JAVA_HOME: '' }, encoding: 'utf8' });
    return out.trim().split('\n');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

describe('buildExecutorCommand', () => {
  it('runs the image entrypoint with Spark\'s args, container paths moved to host folders in its env', () => {
    const plan = buildExecutorCommand(inputs());
    expect(plan.argv).toEqual(['bash', ENTRYPOINT, 'executor']);
    expect(plan.env).toMatchObject({
      SPARK_JAVA_OPT_2: `-Djava.io.tmpdir=${POD_DIR}/spark-local-dir-1/tmp`,
      SPARK_CONF_DIR: `${POD_DIR}/spark-conf-volume-exec`,
    });
    expect(plan.cwd).toBe(POD_DIR);
    expect(plan.warnings).toEqual([]);
  });

  it('the entrypoint script starts KubernetesExecutorBackend as Spark\'s image does', () => {
    expect(javaArgs(buildExecutorCommand(inputs()))).toEqual([
      '-Dspark.driver.port=7078',
      `-Djava.io.tmpdir=${POD_DIR}/spark-local-dir-1/tmp`,
      '-Dspark.ten=10',
      '-Xms1024m',
      '-Xmx1024m',
      '-cp',
      `${POD_DIR}/spark-conf-volume-exec:${SPARK_HOME}/jars/*`,
      'org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend',
      ...['--driver-url', 'spark://CoarseGrainedScheduler@127.0.0.1:7078', '--executor-id', '1', '--cores', '2'],
      ...['--app-id', 'spark-app-42', '--hostname', '127.0.0.1', '--resourceProfileId', '0', '--podName', 'app-exec-1'],
    ]);
  });

  it('builds the environment from a minimal base, the pod env, and SPARK_HOME', () => {
    const { env } = buildExecutorCommand(inputs());
    expect(env).toMatchObject({
      PATH: '/usr/bin:/bin',
      HOME: '/home/me',
      SPARK_HOME,
      SPARK_LOCAL_IP: '127.0.0.1',
      SPARK_USER: 'alice',
      SPARK_EXECUTOR_POD_IP: '127.0.0.1',
      SPARK_EXECUTOR_POD_NAME: 'app-exec-1',
      SPARK_CONF_DIR: `${POD_DIR}/spark-conf-volume-exec`,
      SPARK_LOCAL_DIRS: `${POD_DIR}/spark-local-dir-1`,
    });
    expect(env['SPARK_DRIVER_URL']).toBe('spark://CoarseGrainedScheduler@127.0.0.1:7078');
  });

  it('lays out one folder per mounted volume: ConfigMap items as files, emptyDir empty', () => {
    const { dirs } = buildExecutorCommand(inputs());
    expect(dirs.map((d) => ({ ...d, files: d.files.map((f) => [f.path, f.data.toString()]) }))).toEqual([
      { volume: 'spark-local-dir-1', hostPath: `${POD_DIR}/spark-local-dir-1`, files: [] },
      { volume: 'spark-conf-volume-exec', hostPath: `${POD_DIR}/spark-conf-volume-exec`, files: [['log4j2.properties', 'rootLogger.level = info\n']] },
    ]);
  });

  it('writes every key when a volume lists no items, and decodes Secrets and binaryData', () => {
    const pod = executorPod();
    pod.spec!.volumes = [
      { name: 'spark-local-dir-1', emptyDir: {} },
      { name: 'spark-conf-volume-exec', secret: { secretName: 'creds' } },
    ];
    const secret: V1Secret = { data: { token: Buffer.from('s3cret').toString('base64') } };
    const cm: V1ConfigMap = { data: { a: '1' }, binaryData: { b: Buffer.from([0, 1, 2]).toString('base64') } };
    const s = buildExecutorCommand(inputs(pod, { secrets: new Map([['creds', secret]]) }));
    expect(s.dirs[1]!.files.map((f) => [f.path, f.data.toString()])).toEqual([['token', 's3cret']]);

    pod.spec!.volumes[1] = { name: 'spark-conf-volume-exec', configMap: { name: 'spark-exec-conf-map' } };
    const c = buildExecutorCommand(inputs(pod, { configMaps: new Map([['spark-exec-conf-map', cm]]) }));
    expect(c.dirs[1]!.files.map((f) => [f.path, [...f.data]])).toEqual([
      ['a', [49]],
      ['b', [0, 1, 2]],
    ]);
  });

  it('resolves secretKeyRef, configMapKeyRef, downward-API fields and $(VAR) references', () => {
    const pod = executorPod();
    pod.spec!.containers[0]!.env!.push(
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'pw' } } },
      { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'spark-exec-conf-map', key: 'other.conf' } } },
      { name: 'MAYBE', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k', optional: true } } },
      { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'EXEC_ID', valueFrom: { fieldRef: { fieldPath: "metadata.labels['spark-exec-id']" } } },
      { name: 'LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
      { name: 'GREETING', value: 'hi $(SPARK_USER) $$(SPARK_USER) $(NOPE)' },
    );
    const secrets = new Map([['creds', { data: { pw: Buffer.from('hunter2').toString('base64') } }]]);
    const plan = buildExecutorCommand(inputs(pod, { secrets }));
    expect(plan.env).toMatchObject({
      PASSWORD: 'hunter2',
      LEVEL: 'x',
      UID: 'uid-1',
      NS: 'spark',
      NODE: 'test-node',
      HOST_IP: '127.0.0.1',
      EXEC_ID: '1',
      GREETING: 'hi alice $(SPARK_USER) $(NOPE)',
    });
    expect(plan.env).not.toHaveProperty('MAYBE');
    expect(plan.env).not.toHaveProperty('LIMIT');
    expect(plan.warnings).toEqual(['env LIMIT: resourceFieldRef skipped']);
  });

  it('applies envFrom first, then env', () => {
    const pod = executorPod();
    pod.spec!.containers[0]!.envFrom = [{ configMapRef: { name: 'spark-exec-conf-map' }, prefix: 'CM_' }];
    pod.spec!.containers[0]!.env!.push({ name: 'CM_a', value: 'from env' });
    const cm: V1ConfigMap = { data: { a: 'from cm', b: 'b', 'log4j2.properties': '' } };
    const pd = buildExecutorCommand(inputs(pod, { configMaps: new Map([['spark-exec-conf-map', cm]]) }));
    expect(pd.env).toMatchObject({ CM_a: 'from env', CM_b: 'b' });
  });

  it('falls back to $SPARK_HOME/conf on the classpath and adds the extra classpath variables in order', () => {
    const pod = executorPod();
    const c = pod.spec!.containers[0]!;
    c.env = c.env!.filter((e) => e.name !== 'SPARK_CONF_DIR');
    c.env.push({ name: 'SPARK_EXTRA_CLASSPATH', value: '/x.jar' }, { name: 'HADOOP_CONF_DIR', value: '/etc/hadoop' });
    const args = javaArgs(buildExecutorCommand(inputs(pod)));
    expect(args[args.indexOf('-cp') + 1]).toBe(`${SPARK_HOME}/conf:/etc/hadoop:${SPARK_HOME}/jars/*:/x.jar`);
  });

  it('refuses pods it cannot run, naming what is missing', () => {
    const pod = executorPod();
    pod.spec!.containers[0]!.env = pod.spec!.containers[0]!.env!.filter((e) => !['SPARK_DRIVER_URL', 'SPARK_EXECUTOR_ID'].includes(e.name));
    expect(() => buildExecutorCommand(inputs(pod))).toThrow(new ExecutorSpecError('executor environment lacks SPARK_DRIVER_URL, SPARK_EXECUTOR_ID'));
    expect(() => buildExecutorCommand(inputs(executorPod(), { configMaps: new Map() }))).toThrow(/ConfigMap spark-exec-conf-map not found/);
    const noKey = new Map([['spark-exec-conf-map', { data: {} }]]);
    expect(() => buildExecutorCommand(inputs(executorPod(), { configMaps: noKey }))).toThrow(/no key log4j2.properties/);
    expect(() => buildExecutorCommand(inputs({ metadata: { name: 'x' }, spec: { containers: [] } }))).toThrow(ExecutorSpecError);
    const escaping = executorPod();
    escaping.spec!.volumes![1]!.configMap!.items = [{ key: 'log4j2.properties', path: '../../etc/passwd' }];
    expect(() => buildExecutorCommand(inputs(escaping))).toThrow(/bad item path/);
  });

  it('tolerates missing optional volumes and other volume types (with a warning)', () => {
    const pod = executorPod();
    pod.spec!.volumes![1] = { name: 'spark-conf-volume-exec', configMap: { name: 'absent', optional: true } };
    pod.spec!.containers[0]!.volumeMounts!.push({ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true });
    pod.spec!.volumes!.push({ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } });
    const plan = buildExecutorCommand(inputs(pod));
    expect(plan.dirs.map((d) => [d.volume, d.files.length])).toEqual([
      ['spark-local-dir-1', 0],
      ['spark-conf-volume-exec', 0],
      ['kube-api-access', 0],
    ]);
    expect(plan.warnings).toEqual(['volume kube-api-access: type projected not supported, using an empty folder']);
  });

  it('runs a pod from our executor template: entrypoint.sh command, workingDir in a volume', () => {
    const pod = executorPod();
    const c = pod.spec!.containers[0]!;
    c.command = ['/opt/entrypoint.sh'];
    c.workingDir = '/work';
    c.volumeMounts!.push({ name: 'tmp', mountPath: '/tmp' }, { name: 'work', mountPath: '/work' });
    pod.spec!.volumes!.push({ name: 'tmp', emptyDir: { sizeLimit: '2Gi' } }, { name: 'work', emptyDir: { sizeLimit: '4Gi' } });
    const plan = buildExecutorCommand(inputs(pod));
    expect(plan.warnings).toEqual([]);
    expect(plan.cwd).toBe(`${POD_DIR}/work`);
    expect(plan.dirs.map((d) => d.volume)).toEqual(['spark-local-dir-1', 'spark-conf-volume-exec', 'tmp', 'work']);

    c.workingDir = '/elsewhere';
    const other = buildExecutorCommand(inputs(pod));
    expect(other.cwd).toBe(POD_DIR);
    expect(other.warnings).toEqual(['workingDir /elsewhere is not in a volume, using the pod folder']);
  });

  it('finds the executor container behind sidecars (Spark appends it after template containers)', () => {
    const pod = executorPod();
    const executor = pod.spec!.containers[0]!;
    pod.spec!.containers = [{ name: 'sidecar', image: 'envoy', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'side', key: 'k' } } }] }, executor];
    expect(buildExecutorCommand(inputs(pod)).env['SPARK_EXECUTOR_POD_NAME']).toBe('app-exec-1');
    expect(referencedObjects(pod).map((r) => r.name)).toEqual(['spark-exec-conf-map']);
    executor.name = 'custom-name';
    expect(buildExecutorCommand(inputs(pod)).env['SPARK_EXECUTOR_ID']).toBe('1');
  });

  it('warns about container commands and args it does not run', () => {
    const pod = executorPod();
    pod.spec!.containers[0]!.command = ['/bin/sh', '-c', 'run-it'];
    pod.spec!.containers[0]!.args = ['driver'];
    expect(buildExecutorCommand(inputs(pod)).warnings).toEqual([
      'container command ["/bin/sh","-c","run-it"] ignored: running /opt/entrypoint.sh',
      'container args ["driver"]: not an executor',
    ]);
  });
});

describe('referencedObjects', () => {
  it('lists the ConfigMaps and Secrets the first container needs, optional only if every use is', () => {
    const pod = executorPod();
    pod.spec!.containers[0]!.env!.push(
      { name: 'A', valueFrom: { secretKeyRef: { name: 's1', key: 'k', optional: true } } },
      { name: 'B', valueFrom: { configMapKeyRef: { name: 'spark-exec-conf-map', key: 'k', optional: true } } },
    );
    pod.spec!.containers[0]!.envFrom = [{ secretRef: { name: 's2' } }];
    expect(referencedObjects(pod)).toEqual([
      { kind: 'Secret', name: 's1', optional: true },
      { kind: 'ConfigMap', name: 'spark-exec-conf-map', optional: false },
      { kind: 'Secret', name: 's2', optional: false },
    ]);
  });
});

describe('path rewriting', () => {
  const mounts = mountMap(executorPod(), POD_DIR);

  it('maps mount paths, longest first, honouring subPath', () => {
    const pod = executorPod();
    pod.spec!.containers[0]!.volumeMounts!.push({ name: 'spark-conf-volume-exec', mountPath: '/opt/spark/conf/log4j2.properties/', subPath: 'log4j2.properties' });
    expect(mountMap(pod, POD_DIR)[0]).toEqual({ mountPath: '/opt/spark/conf/log4j2.properties', hostPath: `${POD_DIR}/spark-conf-volume-exec/log4j2.properties` });
  });

  it('rewrites whole values, sub-paths and list elements only', () => {
    const conf = `${POD_DIR}/spark-conf-volume-exec`;
    const local = `${POD_DIR}/spark-local-dir-1`;
    expect(rewritePaths('/opt/spark/conf', mounts)).toBe(conf);
    expect(rewritePaths('/opt/spark/conf/a.xml', mounts)).toBe(`${conf}/a.xml`);
    expect(rewritePaths('/opt/spark/confx', mounts)).toBe('/opt/spark/confx');
    expect(rewritePaths('/x:/opt/spark/conf:/y', mounts)).toBe(`/x:${conf}:/y`);
    expect(rewritePaths('/var/data/spark-d1/a,/var/data/spark-d1/b', mounts)).toBe(`${local}/a,${local}/b`);
    expect(rewritePaths('file:/opt/spark/conf/log4j2.properties', mounts)).toBe(`file:${conf}/log4j2.properties`);
    expect(rewritePaths('prefix/opt/spark/conf', mounts)).toBe('prefix/opt/spark/conf');
    expect(rewritePaths('spark://host:7078', mounts)).toBe('spark://host:7078');
  });
});

describe('small kubelet pieces', () => {
  it('expands $(VAR) like Kubernetes', () => {
    expect(expandVars('$(A)-$(B)-$$(A)-$(C', { A: '1', B: '' })).toBe('1--$(A)-$(C');
  });

  it('reports exit codes as a shell would', () => {
    expect(exitCodeOf(0, null)).toBe(0);
    expect(exitCodeOf(3, null)).toBe(3);
    expect(exitCodeOf(null, 'SIGKILL')).toBe(137);
    expect(exitCodeOf(null, 'SIGTERM')).toBe(143);
  });

  it('caps the kill grace period at 5 s', () => {
    expect(killGraceSeconds({ metadata: { deletionGracePeriodSeconds: 30 } })).toBe(5);
    expect(killGraceSeconds({ metadata: { deletionGracePeriodSeconds: 2 } })).toBe(2);
    expect(killGraceSeconds({ metadata: {} })).toBe(0);
  });

  it('starts executors from a minimal environment', () => {
    const env = baseEnv({ PATH: '/bin', HOME: '/h', JAVA_HOME: '/jdk', SECRET_TOKEN: 'x', LANG: 'en_US.UTF-8' }, '/pod');
    expect(env).toEqual({ PATH: '/bin', HOME: '/h', LANG: 'en_US.UTF-8', JAVA_HOME: '/jdk' });
    expect(baseEnv({}, '/pod')).toEqual({ PATH: '/usr/bin:/bin', HOME: '/pod', LANG: 'C.UTF-8' });
  });

  it('builds Running and terminal pod status patches', () => {
    const c = executorPod().spec!.containers[0]!;
    const running = runningStatus(c, '2025-01-01T00:00:00.000Z').status;
    expect(running).toMatchObject({ phase: 'Running', podIP: '127.0.0.1', hostIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }] });
    expect(running.conditions.every((x) => x.status === 'True')).toBe(true);
    expect(running.conditions.map((x) => x.type).sort()).toEqual(['ContainersReady', 'Initialized', 'PodScheduled', 'Ready']);
    expect(running.containerStatuses[0]).toMatchObject({ name: 'spark-kubernetes-executor', ready: true, started: true, image: 'apache/spark:4.3.0', state: { running: {} } });

    const ok = terminatedStatus(c, 't0', 't1', 0).status;
    expect(ok.phase).toBe('Succeeded');
    expect(ok.containerStatuses[0]!.state.terminated).toEqual({ exitCode: 0, reason: 'Completed', startedAt: 't0', finishedAt: 't1' });
    const bad = terminatedStatus(c, 't0', 't1', 137).status;
    expect(bad).toMatchObject({ phase: 'Failed', containerStatuses: [{ ready: false, state: { terminated: { exitCode: 137, reason: 'Error' } } }] });
    expect(terminatedStatus(c, 't0', 't0', 1, 'no driver url').status).toMatchObject({ phase: 'Failed', message: 'no driver url' });
  });

  it('reports the node Ready at 127.0.0.1', () => {
    const s = nodeStatus('n1', 't0', 't1').status;
    expect(s.conditions[0]).toMatchObject({ type: 'Ready', status: 'True', lastHeartbeatTime: 't1', lastTransitionTime: 't0' });
    expect(s.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
  });
});
