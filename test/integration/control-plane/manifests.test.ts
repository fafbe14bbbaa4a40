/**
 * The manifests against a real API server (the test control plane, with the kubectl built beside
 * it): server-side dry runs of the base and the kind overlay are accepted, a real apply creates
 * every object the kustomization renders, and the RBAC authorizer grants the gateway's
 * ServiceAccount exactly REQUIRED_RBAC (src/k8s/rbac.ts) in its namespace and nothing else.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../src/config.js';
import { REQUIRED_RBAC } from '../../../src/k8s/rbac.js';
import { ControlPlane } from '../../control-plane/control-plane.js';

const run = promisify(execFile);
let cp: ControlPlane;

async function kubectl(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(cp.bin('kubectl'), ['--kubeconfig', cp.adminKubeconfigPath, ...args], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
    return args[0] === 'auth' ? stdout.trim() : stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    // `auth can-i` answers "no" with exit status 1
    if (args[0] === 'auth' && e.stdout?.trim() === 'no') return 'no';
    throw new Error(`kubectl ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

beforeAll(async () => {
  cp = await new ControlPlane({ dir: mkdtempSync(path.join(os.tmpdir(), 'sparkgate-cp-')) }).start();
}, 300_000);

afterAll(async () => {
  await cp?.stop();
});

describe('manifests on a real API server', () => {
  it.each(['manifests/base', 'manifests/overlays/kind'])('kubectl apply --dry-run=server -k %s is accepted', async (dir) => {
    // A server-side dry run cannot create the namespace its other objects go into (kubectl's
    // known limit), so the namespace exists first, as it would after an admin created it.
    await kubectl('create', 'namespace', 'sparkgate').catch(() => undefined);
    const out = await kubectl('apply', '--dry-run=server', '-k', dir);
    expect(out).toMatch(/statefulset\.apps\/sparkgate (created|configured) \(server dry run\)/);
    expect(out).toMatch(/role\.rbac\.authorization\.k8s\.io\/sparkgate (created|configured) \(server dry run\)/);
    // nothing but the namespace was created
    expect(await kubectl('get', 'statefulsets,configmaps,services,networkpolicies', '-n', 'sparkgate', '-o', 'name')).not.toMatch(/sparkgate/);
  });

  it('a real apply of the kind overlay creates every object it renders', async () => {
    await kubectl('apply', '-k', 'manifests/overlays/kind');
    // every object of the kustomization, read back from the server (fails if one is missing)
    const rendered = JSON.parse(await kubectl('get', '-k', 'manifests/overlays/kind', '-o', 'json')) as { items: { kind: string; metadata: { name: string; namespace?: string } }[] };
    const kinds = rendered.items.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Namespace/sparkgate',
        'ServiceAccount/sparkgate',
        'ServiceAccount/sparkgate-executor',
        'Role/sparkgate',
        'RoleBinding/sparkgate',
        'ConfigMap/sparkgate-config',
        'ConfigMap/sparkgate-executor-template',
        'Secret/sparkgate-token',
        'StatefulSet/sparkgate',
        'Service/sparkgate',
        'Service/sparkgate-driver',
      ]),
    );
    expect(kinds.some((k) => k.startsWith('NetworkPolicy/'))).toBe(true);
    const sts = JSON.parse(await kubectl('get', '-n', 'sparkgate', 'statefulset', 'sparkgate', '-o', 'json')) as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(sts.spec.template.spec.containers[0]!.image).toBe('sparkgate:dev');
  });

  it('the gateway ServiceAccount may do exactly what REQUIRED_RBAC lists, in its namespace only', async () => {
    const as = ['--as', 'system:serviceaccount:sparkgate:sparkgate'];
    for (const rule of REQUIRED_RBAC) {
      for (const verb of rule.verbs) {
        // kubectl reads "pods/log" as a pod named "log": subresources go as --subresource.
        const [resource, subresource] = rule.resource.split('/');
        const target = subresource ? [resource!, `--subresource=${subresource}`] : [resource!];
        expect(await kubectl('auth', 'can-i', verb, ...target, '-n', 'sparkgate', ...as), `${verb} ${rule.resource}`).toBe('yes');
      }
    }
    for (const [verb, resource] of [
      ['get', 'secrets'],
      ['update', 'pods'],
      ['create', 'pods --subresource=exec'],
      ['create', 'roles'],
      ['patch', 'configmaps'],
      ['list', 'nodes'],
    ] as const) {
      expect(await kubectl('auth', 'can-i', verb, ...resource.split(' '), '-n', 'sparkgate', ...as), `${verb} ${resource}`).toBe('no');
    }
    expect(await kubectl('auth', 'can-i', 'create', 'pods', '-n', 'default', ...as)).toBe('no');
  });
});
