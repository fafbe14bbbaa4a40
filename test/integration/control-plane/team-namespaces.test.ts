/**
 * Teams and their namespaces against the real test control plane (issue 14 items 3 and 4):
 * - manifests/team-namespace.sh's objects pass a server-side dry run, and once applied the RBAC
 *   authorizer lets the gateway's ServiceAccount do exactly REQUIRED_RBAC in the team namespace;
 * - a session of team `bi` runs its executors in namespace spark-bi (a second node agent runs
 *   them there): Spark found no driver pod to look up there and set no ownerReference, the
 *   executors reached the driver, the gateway lists them, and the session's end leaves nothing
 *   in spark-bi;
 * - team `analytics`' namespace has a ResourceQuota that allows no pod: a cell running a job
 *   shows one line saying the quota refuses the executors (within seconds), keeps waiting
 *   rather than losing its SparkContext, and stops on interrupt.
 * Users come from a users file (alice: analytics, bob: bi), as in a multi-user deployment.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../src/config.js';
import { REQUIRED_RBAC } from '../../../src/k8s/rbac.js';
import { makeSettings } from '../../../src/runner/gateway-client.js';
import { GATEWAY_NAMESPACE, GatewayCluster } from '../../control-plane/gateway-cluster.js';
import { NodeAgent } from '../../control-plane/node-agent.js';
import { recordFigure, sessionObjects, waitUntil } from '../../control-plane/session-objects.js';
import { execute, waitFor } from '../../helpers/kernel-client.js';
import { VENV_PYTHON } from '../../helpers/python.js';

const SLOW = 600_000;
const run = promisify(execFile);
const GATEWAY_SA = `system:serviceaccount:${GATEWAY_NAMESPACE}:sparkgate`;
const QUOTA_NS = 'spark-analytics';
const TEAM_NS = 'spark-bi';
const NOTICE = `Spark cannot start executors: namespace ${QUOTA_NS}'s ResourceQuota "sparkgate-executors" refuses them (exceeded quota: sparkgate-executors, requested: pods=1, used: pods=0, limited: pods=0)`;

let cluster: GatewayCluster;
let biAgent: NodeAgent | undefined;
const tokens = { alice: `alice-${randomBytes(16).toString('hex')}`, bob: `bob-${randomBytes(16).toString('hex')}` };
const managers: KernelManager[] = [];

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function teamNamespaceYaml(...args: string[]): string {
  return execFileSync('bash', [path.join(REPO_ROOT, 'manifests', 'team-namespace.sh'), ...args], { encoding: 'utf8' });
}

async function kubectlApply(yaml: string, ...flags: string[]): Promise<string> {
  const file = path.join(cluster.dir, `apply-${randomBytes(4).toString('hex')}.yaml`);
  writeFileSync(file, yaml);
  return cluster.kubectl(['apply', ...flags, '-f', file]);
}

/** `kubectl auth can-i` as the gateway's ServiceAccount: "yes" or "no" (exit status 1). */
async function canI(verb: string, resource: string, namespace: string): Promise<string> {
  const args = ['--kubeconfig', cluster.cp.adminKubeconfigPath, 'auth', 'can-i', verb, resource, '-n', namespace, '--as', GATEWAY_SA];
  try {
    return (await run(cluster.cp.bin('kubectl'), args)).stdout.trim();
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    if (e.stdout?.trim() === 'no') return 'no';
    throw new Error(`kubectl auth can-i ${verb} ${resource}: ${e.stderr?.trim() || e.message}`);
  }
}

async function startAs(user: keyof typeof tokens): Promise<Kernel.IKernelConnection> {
  const manager = new KernelManager({ serverSettings: makeSettings(cluster.gateway!.url, tokens[user]) });
  managers.push(manager);
  await manager.ready;
  const kernel = await manager.startNew({ name: 'pyspark' });
  await kernel.info;
  return kernel;
}

beforeAll(async () => {
  cluster = await GatewayCluster.start();
  await kubectlApply(teamNamespaceYaml('analytics', QUOTA_NS, '--gateway-namespace', GATEWAY_NAMESPACE, '--quota', 'pods=0'));
  await kubectlApply(teamNamespaceYaml('bi', TEAM_NS, '--gateway-namespace', GATEWAY_NAMESPACE));
  // Quota admission refuses every pod until the resource-quota controller has computed the status.
  await waitUntil('the ResourceQuota status', 60_000, async () => {
    const q = await cluster.core.readNamespacedResourceQuota({ name: 'sparkgate-executors', namespace: QUOTA_NS });
    return q.status?.hard?.['pods'] !== undefined;
  });
  const usersFile = path.join(cluster.dir, 'users.yaml');
  writeFileSync(
    usersFile,
    [
      'teams:',
      `  analytics: { namespace: ${QUOTA_NS}, serviceAccount: sparkgate-executor }`,
      `  bi: { namespace: ${TEAM_NS} }`,
      'users:',
      `  - { name: alice, team: analytics, tokenSha256: ${sha256(tokens.alice)} }`,
      `  - { name: bob, team: bi, tokenSha256: ${sha256(tokens.bob)} }`,
      '',
    ].join('\n'),
  );
  const agentDir = path.join(cluster.dir, 'node-bi');
  mkdirSync(agentDir, { recursive: true });
  const sparkHome = execFileSync(VENV_PYTHON, ['-c', 'from pyspark.find_spark_home import _find_spark_home; print(_find_spark_home())'], { encoding: 'utf8' }).trim();
  biAgent = new NodeAgent({ kubeConfig: cluster.cp.adminKubeConfig(), namespace: TEAM_NS, sparkHome, workDir: agentDir, nodeName: 'sparkgate-test-node-bi' });
  await biAgent.start();
  await cluster.startGateway({ SPARKGATE_USERS_FILE: usersFile });
}, SLOW);

afterAll(async () => {
  for (const m of managers) m.dispose();
  await biAgent?.stop();
  await cluster?.stop();
}, SLOW);

describe('team namespaces on a real API server', () => {
  it('team-namespace.sh passes a server-side dry run; applied, it grants the gateway exactly REQUIRED_RBAC there', async () => {
    // A server-side dry run cannot create the namespace its objects go into (kubectl's known limit).
    await cluster.kubectl(['create', 'namespace', 'spark-dry']);
    const out = await kubectlApply(teamNamespaceYaml('dry', 'spark-dry', '--gateway-namespace', GATEWAY_NAMESPACE, '--quota', 'cpu=4,memory=8Gi,pods=6'), '--dry-run=server');
    for (const object of [
      'serviceaccount/sparkgate-executor',
      'role.rbac.authorization.k8s.io/sparkgate-executors',
      'rolebinding.rbac.authorization.k8s.io/sparkgate-executors',
      'resourcequota/sparkgate-executors',
      'networkpolicy.networking.k8s.io/sparkgate-executors',
    ]) {
      expect(out).toContain(`${object} created (server dry run)`);
    }
    expect(await cluster.kubectl(['get', 'roles,rolebindings,resourcequotas', '-n', 'spark-dry', '-o', 'name'])).toBe('');

    for (const rule of REQUIRED_RBAC) {
      for (const verb of rule.verbs) expect(await canI(verb, rule.resource, TEAM_NS), `${verb} ${rule.resource}`).toBe('yes');
    }
    for (const [verb, resource] of [
      ['get', 'secrets'],
      ['update', 'pods'],
      ['patch', 'configmaps'],
      ['create', 'roles'],
      ['delete', 'resourcequotas'],
    ] as const) {
      expect(await canI(verb, resource, TEAM_NS), `${verb} ${resource}`).toBe('no');
    }
    expect(await canI('create', 'pods', 'spark-dry')).toBe('no');
  }, SLOW);

  it('a team\'s session runs its executors in the team namespace; its end leaves nothing there', async () => {
    const kernel = await startAs('bob');
    const conf = await execute(kernel, 'print(spark.conf.get("spark.kubernetes.namespace"), sc.getConf().get("spark.kubernetes.driver.pod.name", "-"))');
    expect(conf.stdout.trim()).toBe(`${TEAM_NS} -`);
    const job = await execute(
      kernel,
      [
        'import os',
        'rdd = sc.parallelize(range(1000), 2)',
        'print(rdd.sum(), ",".join(sorted(set(rdd.mapPartitions(lambda _: [os.environ.get("SPARK_EXECUTOR_POD_NAME", "driver")]).collect()))))',
      ].join('\n'),
    );
    expect(job.errors).toEqual([]);
    const [sum, ranIn] = job.stdout.trim().split(' ');
    expect(sum).toBe('499500');
    expect(ranIn).toMatch(new RegExp(`^sg-${kernel.id.slice(0, 8)}-exec-\\d+`));

    const { pods, names } = await sessionObjects(cluster.core, TEAM_NS, kernel.id);
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) {
      expect(pod.metadata?.labels).toMatchObject({ 'sparkgate.io/session': kernel.id, 'sparkgate.io/gateway': cluster.gatewayPod.name });
      expect(pod.metadata?.ownerReferences ?? []).toEqual([]);
      expect(pod.spec?.serviceAccountName).toBe('sparkgate-executor');
    }
    expect(names.some((n) => n.startsWith('configmap/spark-exec-')), names.join(',')).toBe(true);
    expect((await sessionObjects(cluster.core, GATEWAY_NAMESPACE, kernel.id)).names).toEqual([]);

    // The gateway's executor listing sees them (its reaper watches the team namespace).
    const listed = await fetch(`${cluster.gateway!.url}/api/sparkgate/sessions/${kernel.id}/executors`, { headers: { authorization: `token ${tokens.bob}` } });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { name: string }[]).map((e) => e.name)).toEqual(expect.arrayContaining(pods.map((p) => p.metadata!.name!)));

    await kernel.shutdown();
    expect((await sessionObjects(cluster.core, TEAM_NS, kernel.id)).names).toEqual([]);
  }, SLOW);

  it('a ResourceQuota that refuses executors: the waiting cell says so in one line, keeps its SparkContext, and stops on interrupt', async () => {
    const kernel = await startAs('alice');
    let stderr = '';
    let jobSubmitted = 0;
    const cell = execute(kernel, 'sc.parallelize(range(100), 2).sum()', {
      onRunning: () => (jobSubmitted = Date.now()),
      onIopub: (msg) => {
        const content = msg.content as { name?: string; text?: string };
        if (msg.header.msg_type === 'stream' && content.name === 'stderr') stderr += content.text ?? '';
      },
    });
    await waitFor(() => stderr.includes('Spark cannot start executors'), 30_000, 'the quota notice in the cell');
    const noticeAfterMs = Date.now() - jobSubmitted;
    recordFigure('ResourceQuota notice in the cell after the job started', { ms: noticeAfterMs });
    // Spark keeps asking (every second); the cell still waits a while later, showing the line once.
    await new Promise((r) => setTimeout(r, 5_000));
    await kernel.interrupt();
    const r = await cell;
    expect(r.reply.content.status).toBe('error');
    expect(r.errors[0]?.ename).toBe('KeyboardInterrupt');
    expect(stderr.trim()).toBe(NOTICE);
    expect(noticeAfterMs).toBeLessThan(30_000);

    const alive = await execute(kernel, 'print(sc._jsc.sc().isStopped(), spark.conf.get("spark.kubernetes.namespace"))');
    expect(alive.stdout.trim()).toBe(`False ${QUOTA_NS}`);
    // The next cell without Spark jobs shows no stale notice.
    expect((await execute(kernel, 'print(1 + 1)')).stderr).toBe('');
    await kernel.shutdown();
    expect((await sessionObjects(cluster.core, QUOTA_NS, kernel.id)).names).toEqual([]);
  }, SLOW);
});
