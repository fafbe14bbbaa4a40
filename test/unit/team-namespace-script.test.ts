/**
 * manifests/team-namespace.sh: what a team's executor namespace gets, checked against the code
 * and the base it pairs with. The Role grants exactly REQUIRED_RBAC and is bound to the gateway's
 * ServiceAccount in the gateway's namespace; the Namespace carries the label the base's gateway
 * NetworkPolicy admits executors by; the quota shorthand maps to requests; every object survives
 * a round trip through the Kubernetes models (no misspelled fields). The real API server accepts
 * it: test/integration/control-plane/team-namespaces.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
// Test-only schema check, as in manifests.test.ts.
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../src/config.js';
import { REQUIRED_RBAC } from '../../src/k8s/rbac.js';
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../src/labels.js';

const SCRIPT = path.join(REPO_ROOT, 'manifests', 'team-namespace.sh');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function render(...args: string[]): Obj[] {
  const out = execFileSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

function refuse(...args: string[]): string {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });
  expect(r.status, r.stdout).toBe(2);
  expect(r.stdout).toBe('');
  return r.stderr.trim();
}

const byKind = (objects: Obj[], kind: string): Obj[] => objects.filter((o) => o['kind'] === kind);

const MODEL: Record<string, string> = {
  Namespace: 'V1Namespace',
  ServiceAccount: 'V1ServiceAccount',
  Role: 'V1Role',
  RoleBinding: 'V1RoleBinding',
  ResourceQuota: 'V1ResourceQuota',
  NetworkPolicy: 'V1NetworkPolicy',
};

describe('manifests/team-namespace.sh', () => {
  it('prints the namespace, executor ServiceAccount, Role, RoleBinding, ResourceQuota and NetworkPolicy', () => {
    const objects = render('analytics', 'spark-analytics', '--quota', 'cpu=8,memory=32Gi,pods=10');
    expect(objects.map((o) => `${o['kind']}/${o['metadata']['name']}`)).toEqual([
      'Namespace/spark-analytics',
      'ServiceAccount/sparkgate-executor',
      'Role/sparkgate-executors',
      'RoleBinding/sparkgate-executors',
      'ResourceQuota/sparkgate-executors',
      'NetworkPolicy/sparkgate-executors',
    ]);
    for (const o of objects.slice(1)) expect(o['metadata']['namespace'], o['kind']).toBe('spark-analytics');
    for (const o of objects) {
      const model = MODEL[o['kind']]!;
      const roundTrip = ObjectSerializer.serialize(ObjectSerializer.deserialize(structuredClone(o), model, ''), model, '');
      expect(roundTrip, o['kind']).toEqual(o);
    }
    expect(byKind(objects, 'ServiceAccount')[0]!['automountServiceAccountToken']).toBe(false);
    expect(byKind(objects, 'ResourceQuota')[0]!['spec']).toEqual({ hard: { 'requests.cpu': '8', 'requests.memory': '32Gi', pods: '10' } });
    expect(byKind(objects, 'Namespace')[0]!['metadata']['labels']).toMatchObject({ 'sparkgate.io/team': 'analytics' });
  });

  it('grants exactly REQUIRED_RBAC, to the gateway\'s ServiceAccount in the gateway\'s namespace', () => {
    const objects = render('bi', 'spark-bi', '--gateway-namespace', 'data-gw', '--gateway-service-account', 'gw');
    const [role] = byKind(objects, 'Role');
    const granted = (role!['rules'] as Obj[]).map((r) => ({ groups: r['apiGroups'], resources: r['resources'], verbs: [...r['verbs']].sort() }));
    expect(granted).toEqual(REQUIRED_RBAC.map((r) => ({ groups: [r.apiGroup], resources: [r.resource], verbs: [...r.verbs].sort() })));
    const [binding] = byKind(objects, 'RoleBinding');
    expect(binding!['roleRef']).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role!['metadata']['name'] });
    expect(binding!['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'gw', namespace: 'data-gw' }]);
    // The executors' policy admits the gateway pod from the gateway's namespace.
    const [policy] = byKind(objects, 'NetworkPolicy');
    expect(JSON.stringify(policy!['spec'])).toContain('"kubernetes.io/metadata.name":"data-gw"');
    expect(byKind(objects, 'ResourceQuota')).toEqual([]);
  });

  it('labels the namespace as the base\'s gateway NetworkPolicy selects executor namespaces, in and out', () => {
    const [ns] = render('analytics', 'spark-analytics');
    const base = parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'manifests', 'base', 'network-policies.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
    const gateway = base.find((p) => p['metadata']['name'] === 'sparkgate-gateway')!;
    const peers = [...gateway['spec']['ingress'].flatMap((r: Obj) => r['from'] ?? []), ...gateway['spec']['egress'].flatMap((r: Obj) => r['to'] ?? [])] as Obj[];
    const teamPeers = peers.filter((p) => p['namespaceSelector']);
    expect(teamPeers).toHaveLength(2);
    for (const peer of teamPeers) {
      const wanted = peer['namespaceSelector']['matchLabels'] as Record<string, string>;
      for (const [k, v] of Object.entries(wanted)) expect(ns!['metadata']['labels'][k], k).toBe(v);
      expect(peer['podSelector']['matchLabels']).toEqual({ [LABEL_MANAGED_BY]: MANAGED_BY_VALUE });
    }
  });

  it('keeps team names a label cannot hold as an annotation, and passes other quota resources through', () => {
    const objects = render('bi@example+ops', 'spark-bi', '--quota', 'limits.memory=40Gi,requests.storage=100Gi,cpu=500m', '--no-network-policy');
    const [ns] = objects;
    expect(ns!['metadata']['labels']['sparkgate.io/team']).toBeUndefined();
    expect(ns!['metadata']['annotations']['sparkgate.io/team']).toBe('bi@example+ops');
    expect(byKind(objects, 'ResourceQuota')[0]!['spec']['hard']).toEqual({ 'limits.memory': '40Gi', 'requests.storage': '100Gi', 'requests.cpu': '500m' });
    expect(byKind(objects, 'NetworkPolicy')).toEqual([]);
  });

  it('refuses bad input with exit status 2 and a message naming it, printing nothing', () => {
    expect(refuse('analytics')).toMatch(/usage: team-namespace\.sh <team> <namespace>/);
    expect(refuse('analytics', 'Spark_Analytics')).toMatch(/namespace "Spark_Analytics" is not a namespace name/);
    expect(refuse('an alytics', 'spark-a')).toMatch(/team "an alytics" is not a users-file team name/);
    expect(refuse('analytics', 'sparkgate')).toMatch(/is the gateway's own/);
    expect(refuse('a', 'spark-a', '--quota', 'cpu')).toMatch(/not resource=quantity/);
    expect(refuse('a', 'spark-a', '--quota', 'cpu=lots')).toMatch(/requests\.cpu="lots" is not a quantity/);
    expect(refuse('a', 'spark-a', '--bogus')).toMatch(/unknown option --bogus/);
    expect(refuse('a', 'spark-a', '--gateway-namespace')).toMatch(/needs a value/);
  });

  it('prints its usage from the header with --help', () => {
    const r = spawnSync('bash', [SCRIPT, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^manifests\/team-namespace\.sh: /);
    expect(r.stderr).toContain('--quota cpu=8,memory=32Gi,pods=10');
    expect(r.stderr).not.toContain('set -euo');
  });
});
