/**
 * manifests/: the Kustomize base and every overlay, rendered and checked against the code they
 * deploy: RBAC equals REQUIRED_RBAC, the headless Service and NetworkPolicies open exactly the
 * configured port ranges, the environment the pod gets is a valid gateway configuration, and the
 * pod can find its executor template, token and probes.
 *
 * Rendering: test/helpers/kustomize.ts, a small renderer for the kustomize features manifests/
 * uses (no kubectl is guaranteed here). When `kubectl kustomize` or `kustomize` is installed, the
 * real thing renders every build too and must produce the same objects.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
// Test-only schema check: the client's generated (de)serializer knows every field of every
// built-in kind and drops unknown ones, so a round trip exposes misspelled fields. Not exported
// from the package root; pinned by "@kubernetes/client-node": "~1.4.0".
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, configFromEnv, configSchema, loadConfig } from '../../src/config.js';
import { REQUIRED_RBAC } from '../../src/k8s/rbac.js';
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../src/labels.js';
import { type PortRange, parsePortRange, portSlotCount, sparkSettingsSchema } from '../../src/spark/spark-settings.js';
import {
  type KubeObject,
  findKustomizeCli,
  objectId,
  parseYamlDocuments,
  renderKustomization,
  renderWithCli,
} from '../helpers/kustomize.js';

const MANIFESTS = path.join(REPO_ROOT, 'manifests');
const OVERLAYS = path.join(MANIFESTS, 'overlays');

/** The base and every overlay: an overlay added later is checked the same way. */
const BUILDS: [string, string][] = [
  ['base', path.join(MANIFESTS, 'base')],
  ...readdirSync(OVERLAYS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d): [string, string] => [`overlays/${d.name}`, path.join(OVERLAYS, d.name)]),
];

/** A real kustomize, when installed: every build must render the same with it. */
const cli = findKustomizeCli();

const ENV_PREFIX = 'SPARKGATE_';
/** src/config.ts's rule: maxKernels -> MAX_KERNELS. */
const toSnake = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const TOP_LEVEL_ENV = new Map(
  Object.keys(configSchema.shape)
    .filter((k) => k !== 'spark')
    .map((k) => [`${ENV_PREFIX}${toSnake(k)}`, k]),
);
const SPARK_ENV = new Map(Object.keys(sparkSettingsSchema.shape).map((k) => [`${ENV_PREFIX}SPARK_${toSnake(k)}`, k]));

/** Set on the container directly (downward API, Secret, literals), never in the ConfigMap. */
const DOWNWARD_API: Record<string, string> = {
  SPARKGATE_SPARK_NAMESPACE: 'metadata.namespace',
  SPARKGATE_SPARK_POD_NAME: 'metadata.name',
  SPARKGATE_SPARK_POD_UID: 'metadata.uid',
  SPARKGATE_SPARK_POD_IP: 'status.podIP',
};
const NOT_IN_CONFIGMAP = ['SPARKGATE_TOKEN', 'SPARKGATE_SPARK_MODE', 'SPARKGATE_HOST', ...Object.keys(DOWNWARD_API)];

/** The Kubernetes model each rendered kind is checked against. */
const MODEL: Record<string, string> = {
  Namespace: 'V1Namespace',
  ServiceAccount: 'V1ServiceAccount',
  Role: 'V1Role',
  RoleBinding: 'V1RoleBinding',
  ConfigMap: 'V1ConfigMap',
  Secret: 'V1Secret',
  StatefulSet: 'V1StatefulSet',
  Service: 'V1Service',
  NetworkPolicy: 'V1NetworkPolicy',
  Pod: 'V1Pod',
};

const CLUSTER_SCOPED_KINDS = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass']);

// --- small typed accessors over the rendered YAML ---------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what} is not an object`);
  return v;
}
function arr(v: unknown, what: string): Obj[] {
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return v.map((x, i) => obj(x, `${what}[${i}]`));
}
const labelsOf = (v: unknown): Record<string, string> => (isObj(v) ? (v as Record<string, string>) : {});
const contains = (labels: Record<string, string>, subset: Record<string, string>): boolean =>
  Object.entries(subset).every(([k, v]) => labels[k] === v);

/** Round trip through the generated model: unknown (misspelled) fields disappear. */
function schemaRoundTrip(o: Obj, model: string): unknown {
  return ObjectSerializer.serialize(ObjectSerializer.deserialize(structuredClone(o), model, ''), model, '');
}

function allPorts(r: PortRange): number[] {
  return Array.from({ length: r.end - r.start + 1 }, (_, i) => r.start + i);
}

interface Build {
  objects: KubeObject[];
  get(kind: string, name: string): KubeObject;
  ofKind(kind: string): KubeObject[];
}

function load(dir: string): Build {
  const objects = renderKustomization(dir);
  return {
    objects,
    ofKind: (kind) => objects.filter((o) => o.kind === kind),
    get(kind, name) {
      const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
      if (!found) throw new Error(`${kind} ${name} is not in the build (${objects.map(objectId).join(', ')})`);
      return found;
    },
  };
}

/** Everything the tests need about the gateway, resolved once per build. */
function inspect(build: Build) {
  const [sts, ...moreSts] = build.ofKind('StatefulSet');
  expect(sts, 'one StatefulSet').toBeDefined();
  expect(moreSts).toHaveLength(0);
  const stsSpec = obj(sts!['spec'], 'StatefulSet spec');
  const template = obj(stsSpec['template'], 'pod template');
  const podLabels = labelsOf(obj(template['metadata'], 'template metadata')['labels']);
  const podSpec = obj(template['spec'], 'pod spec');
  const containers = arr(podSpec['containers'], 'containers');
  const gateway = containers[0]!;
  const env = arr(gateway['env'] ?? [], 'env');
  const envFrom = arr(gateway['envFrom'] ?? [], 'envFrom');
  const configMapName = String(obj(envFrom[0]?.['configMapRef'], 'envFrom[0].configMapRef')['name']);
  const configMap = build.get('ConfigMap', configMapName);
  const config = obj(configMap['data'], 'ConfigMap data') as Record<string, string>;
  const containerPorts = arr(gateway['ports'] ?? [], 'container ports');
  /** A probe's / Service's port (name or number) as a number on the gateway container. */
  const resolvePort = (port: unknown): number | undefined =>
    typeof port === 'number' ? port : (containerPorts.find((p) => p['name'] === port)?.['containerPort'] as number | undefined);
  const range = (key: string): PortRange => {
    const r = parsePortRange(config[key]);
    if (!r) throw new Error(`${key}=${String(config[key])} is not a port range`);
    return r;
  };
  return {
    sts: sts!,
    stsSpec,
    podLabels,
    podSpec,
    gateway,
    env,
    configMapName,
    config,
    resolvePort,
    apiPort: Number(config['SPARKGATE_PORT'] ?? 8888),
    ranges: {
      driver: range('SPARKGATE_SPARK_DRIVER_PORT_RANGE'),
      blockManager: range('SPARKGATE_SPARK_BLOCK_MANAGER_PORT_RANGE'),
      ui: range('SPARKGATE_SPARK_UI_PORT_RANGE'),
    },
    envVar: (name: string): Obj | undefined => env.find((e) => e['name'] === name),
  };
}

describe('manifests/generate-driver-ports.mjs', () => {
  it('the committed headless Service is what the generator writes from the base ConfigMap', () => {
    // Exits 1 with a message when manifests/base/driver-service.yaml is stale.
    execFileSync(process.execPath, [path.join(MANIFESTS, 'generate-driver-ports.mjs'), '--check'], { cwd: REPO_ROOT, stdio: 'pipe' });
    const text = readFileSync(path.join(MANIFESTS, 'base', 'driver-service.yaml'), 'utf8');
    expect(text.split('\n')[0]).toMatch(/^# Generated by manifests\/generate-driver-ports\.mjs/);
  });
});

describe.each(BUILDS)('manifests/%s', (_name, dir) => {
  const build = load(dir);
  const g = inspect(build);
  const headless = build.get('Service', String(g.stsSpec['serviceName']));
  const namespace = build.ofKind('Namespace');

  it('renders the gateway objects, each with apiVersion, kind, metadata.name and only known fields', () => {
    const ids = build.objects.map(objectId);
    expect(ids).toEqual(
      expect.arrayContaining([
        'Namespace/~/sparkgate',
        'ServiceAccount/sparkgate/sparkgate',
        'ServiceAccount/sparkgate/sparkgate-executor',
        'Role/sparkgate/sparkgate',
        'RoleBinding/sparkgate/sparkgate',
        'ConfigMap/sparkgate/sparkgate-config',
        'ConfigMap/sparkgate/sparkgate-executor-template',
        'Secret/sparkgate/sparkgate-token',
        'StatefulSet/sparkgate/sparkgate',
        'Service/sparkgate/sparkgate',
        'Service/sparkgate/sparkgate-driver',
        'NetworkPolicy/sparkgate/sparkgate-gateway',
        'NetworkPolicy/sparkgate/sparkgate-executors',
      ]),
    );
    for (const o of build.objects) {
      expect(typeof o.apiVersion, objectId(o)).toBe('string');
      expect(typeof o.kind, objectId(o)).toBe('string');
      expect(o.metadata.name, objectId(o)).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      const model = MODEL[o.kind];
      expect(model, `${o.kind}: add its model to MODEL to check its fields`).toBeDefined();
      expect(schemaRoundTrip(o, model!), `${objectId(o)} has fields its schema does not know`).toEqual(o);
    }
  });

  it('puts every namespaced object in the one Namespace it creates', () => {
    expect(namespace).toHaveLength(1);
    const ns = namespace[0]!.metadata.name;
    for (const o of build.objects) {
      if (CLUSTER_SCOPED_KINDS.has(o.kind)) continue;
      expect(o.metadata.namespace, objectId(o)).toBe(ns);
    }
  });

  it('claims one volume, for the state dir (usage records, session logs), and no cluster-wide permissions', () => {
    const kinds = new Set(build.objects.map((o) => o.kind));
    for (const kind of ['PersistentVolumeClaim', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding']) expect(kinds.has(kind), kind).toBe(false);
    const claims = arr(g.stsSpec['volumeClaimTemplates'], 'volumeClaimTemplates');
    expect(claims.map((c) => obj(c['metadata'], 'metadata')['name'])).toEqual(['state']);
    const stateMount = arr(g.gateway['volumeMounts'], 'volumeMounts').find((m) => m['name'] === 'state');
    expect(stateMount?.['mountPath']).toBe(g.config['SPARKGATE_STATE_DIR']);
    for (const v of arr(g.podSpec['volumes'] ?? [], 'volumes')) expect(v['persistentVolumeClaim'], String(v['name'])).toBeUndefined();
  });

  it('grants the Role exactly REQUIRED_RBAC, and binds it to the StatefulSet service account only', () => {
    const roles = build.ofKind('Role');
    expect(roles).toHaveLength(1);
    const role = roles[0]!;
    const granted = new Map<string, Set<string>>();
    for (const rule of arr(role['rules'], 'rules')) {
      expect(rule['resourceNames'], 'no resourceNames').toBeUndefined();
      expect(rule['nonResourceURLs']).toBeUndefined();
      for (const group of rule['apiGroups'] as string[]) {
        for (const resource of rule['resources'] as string[]) {
          const key = `${group}/${resource}`;
          const verbs = granted.get(key) ?? new Set<string>();
          for (const verb of rule['verbs'] as string[]) verbs.add(verb);
          granted.set(key, verbs);
        }
      }
    }
    const required = new Map(REQUIRED_RBAC.map((r) => [`${r.apiGroup}/${r.resource}`, new Set(r.verbs)]));
    const sorted = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]).sort());
    expect(sorted(granted)).toEqual(sorted(required));

    const bindings = build.ofKind('RoleBinding');
    expect(bindings).toHaveLength(1);
    const binding = bindings[0]!;
    expect(binding['roleRef']).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    const account = String(g.podSpec['serviceAccountName']);
    expect(binding['subjects']).toEqual([{ kind: 'ServiceAccount', name: account, namespace: g.sts.metadata.namespace }]);
    expect(build.get('ServiceAccount', account)['automountServiceAccountToken']).not.toBe(false);
  });

  it('runs one gateway pod behind the headless Service, with settings from the ConfigMap and the token from the Secret', () => {
    expect(g.stsSpec['replicas']).toBe(1);
    expect(g.stsSpec['serviceName']).toBe(headless.metadata.name);
    const selector = labelsOf(obj(g.stsSpec['selector'], 'selector')['matchLabels']);
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    expect(contains(g.podLabels, selector)).toBe(true);
    // The reaper deletes managed-by=sparkgate pods whose session is gone: never the gateway.
    expect(g.podLabels[LABEL_MANAGED_BY]).not.toBe(MANAGED_BY_VALUE);
    // A Service named "sparkgate" would otherwise inject SPARKGATE_PORT=tcp://... into the env.
    expect(g.podSpec['enableServiceLinks']).toBe(false);
    expect(Number(g.podSpec['terminationGracePeriodSeconds'])).toBeGreaterThanOrEqual(60);

    expect(g.envVar('SPARKGATE_SPARK_MODE')?.['value']).toBe('kubernetes');
    expect(g.envVar('SPARKGATE_HOST')?.['value']).toBe('0.0.0.0');
    for (const [name, fieldPath] of Object.entries(DOWNWARD_API)) {
      expect(obj(obj(g.envVar(name)?.['valueFrom'], `${name}.valueFrom`)['fieldRef'], `${name} fieldRef`)['fieldPath'], name).toBe(fieldPath);
    }
    const tokenRef = obj(obj(g.envVar('SPARKGATE_TOKEN')?.['valueFrom'], 'SPARKGATE_TOKEN.valueFrom')['secretKeyRef'], 'secretKeyRef');
    const secret = build.get('Secret', String(tokenRef['name']));
    const secretKeys = [...Object.keys(labelsOf(secret['stringData'])), ...Object.keys(labelsOf(secret['data']))];
    expect(secretKeys).toContain(tokenRef['key']);
    expect(tokenRef['optional']).not.toBe(true);

    expect(g.gateway['image']).toBe(g.config['SPARKGATE_SPARK_IMAGE']);
  });

  it('keeps the ConfigMap to known settings, and the pod environment is a valid kubernetes-mode configuration', () => {
    for (const key of Object.keys(g.config)) {
      expect(TOP_LEVEL_ENV.has(key) || SPARK_ENV.has(key), `${key} is not a setting of src/config.ts or src/spark/spark-settings.ts`).toBe(true);
      if (TOP_LEVEL_ENV.has(key)) expect(Object.keys(configFromEnv({ [key]: g.config[key] })), key).toEqual([TOP_LEVEL_ENV.get(key)]);
      expect(NOT_IN_CONFIGMAP, `${key} is set on the container`).not.toContain(key);
    }
    for (const e of g.env) {
      const name = String(e['name']);
      if (name.startsWith(ENV_PREFIX)) expect(TOP_LEVEL_ENV.has(name) || SPARK_ENV.has(name), name).toBe(true);
    }

    // The environment the pod would see (env wins over envFrom), with downward-API values filled in.
    const podName = `${g.sts.metadata.name}-0`;
    const downward: Record<string, string> = {
      'metadata.namespace': String(g.sts.metadata.namespace),
      'metadata.name': podName,
      'metadata.uid': '0b5c4c0e-8d1b-4ac5-a0a4-2f7d8a6c3f10',
      'status.podIP': '10.244.0.17',
    };
    const env: Record<string, string> = { ...g.config };
    for (const e of g.env) {
      const fieldPath = isObj(e['valueFrom']) && isObj(e['valueFrom']['fieldRef']) ? String(e['valueFrom']['fieldRef']['fieldPath']) : undefined;
      env[String(e['name'])] = typeof e['value'] === 'string' ? e['value'] : fieldPath ? downward[fieldPath]! : 'test-token';
    }
    const spark: Record<string, string> = {};
    for (const [name, key] of SPARK_ENV) if (env[name] !== undefined) spark[key] = env[name];
    const parsed = sparkSettingsSchema.safeParse(spark);
    expect(parsed.error?.issues ?? []).toEqual([]);
    const settings = parsed.data!;
    expect(settings.mode).toBe('kubernetes');
    expect(settings.headlessService).toBe(headless.metadata.name);
    expect(settings.podName).toBe(podName);
    const config = loadConfig({ env });
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(g.apiPort);
    // One port of every range per session, pooled sessions included.
    expect(config.maxKernels + config.warmPoolMaxTotal).toBeLessThanOrEqual(portSlotCount(settings));
    for (const name of Object.keys(config.warmPool)) expect(existsSync(path.join(REPO_ROOT, 'kernel', 'specs', name, 'kernel.json')), name).toBe(true);
  });

  it('exposes every port of the three configured ranges on the headless Service, and nothing else', () => {
    const spec = obj(headless['spec'], 'headless spec');
    expect(spec['clusterIP']).toBe('None');
    expect(spec['publishNotReadyAddresses']).toBe(true);
    expect(spec['selector']).toEqual(obj(g.stsSpec['selector'], 'selector')['matchLabels']);
    expect(contains(g.podLabels, labelsOf(spec['selector']))).toBe(true);

    const ports = arr(spec['ports'], 'headless ports');
    const expected = [...allPorts(g.ranges.driver), ...allPorts(g.ranges.blockManager), ...allPorts(g.ranges.ui)];
    expect(ports.map((p) => p['port'])).toEqual(expected);
    for (const p of ports) {
      expect(p['protocol'] ?? 'TCP').toBe('TCP');
      expect(p['targetPort'] ?? p['port']).toBe(p['port']);
      expect(String(p['name'])).toMatch(/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/);
    }
    expect(new Set(ports.map((p) => p['name'])).size).toBe(ports.length);
  });

  it('serves the API on its port through the ClusterIP Service, probed on /healthz and /readyz', () => {
    expect(g.resolvePort('http')).toBe(g.apiPort);
    const probe = (name: string) => obj(obj(g.gateway[name], name)['httpGet'], `${name}.httpGet`);
    expect(probe('livenessProbe')['path']).toBe('/healthz');
    expect(probe('startupProbe')['path']).toBe('/healthz');
    expect(probe('readinessProbe')['path']).toBe('/readyz');
    for (const name of ['livenessProbe', 'startupProbe', 'readinessProbe']) expect(g.resolvePort(probe(name)['port']), name).toBe(g.apiPort);

    const api = build.ofKind('Service').filter((s) => s !== headless);
    expect(api).toHaveLength(1);
    const spec = obj(api[0]!['spec'], 'api spec');
    expect(spec['clusterIP']).not.toBe('None');
    expect(contains(g.podLabels, labelsOf(spec['selector']))).toBe(true);
    const [port] = arr(spec['ports'], 'api ports');
    expect(port?.['port']).toBe(g.apiPort);
    expect(g.resolvePort(port?.['targetPort'] ?? port?.['port'])).toBe(g.apiPort);
  });

  it('runs the gateway as non-root on a read-only root filesystem, with emptyDirs where it writes, and sized resources', () => {
    const podSecurity = obj(g.podSpec['securityContext'], 'pod securityContext');
    expect(podSecurity['runAsNonRoot']).toBe(true);
    expect(Number(podSecurity['runAsUser'])).toBeGreaterThan(0);
    const security = obj(g.gateway['securityContext'], 'container securityContext');
    expect(security['readOnlyRootFilesystem']).toBe(true);
    expect(security['allowPrivilegeEscalation']).toBe(false);
    expect(obj(security['capabilities'], 'capabilities')['drop']).toEqual(['ALL']);

    const volumes = new Map(arr(g.podSpec['volumes'], 'volumes').map((v) => [String(v['name']), v]));
    const mounts = arr(g.gateway['volumeMounts'], 'volumeMounts');
    const claimed = new Set(arr(g.stsSpec['volumeClaimTemplates'] ?? [], 'volumeClaimTemplates').map((c) => String(obj(c['metadata'], 'metadata')['name'])));
    for (const m of mounts) expect(volumes.has(String(m['name'])) || claimed.has(String(m['name'])), `volume ${String(m['name'])}`).toBe(true);
    const writable = (dir: string) =>
      mounts.some((m) => (dir + '/').startsWith(String(m['mountPath']) + '/') && isObj(volumes.get(String(m['name']))?.['emptyDir']));
    for (const dir of ['/tmp', g.config['SPARKGATE_RUNTIME_DIR']!, g.config['SPARKGATE_WORK_DIR']!]) expect(writable(dir), dir).toBe(true);

    const resources = obj(g.gateway['resources'], 'resources');
    for (const kind of ['requests', 'limits']) {
      const r = obj(resources[kind], kind);
      expect(r['cpu'], `${kind}.cpu`).toBeDefined();
      expect(r['memory'], `${kind}.memory`).toBeDefined();
    }
  });

  it('lets executors reach the gateway only on the driver and block-manager ranges, and the gateway reach executors', () => {
    const executorLabels = { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE };
    const policies = build.ofKind('NetworkPolicy').map((p) => ({ name: p.metadata.name, spec: obj(p['spec'], 'policy spec') }));
    const selects = (spec: Obj, labels: Record<string, string>) => contains(labels, labelsOf(obj(spec['podSelector'], 'podSelector')['matchLabels']));
    const isExecutorPeer = (peer: Obj) => isObj(peer['podSelector']) && contains(executorLabels, labelsOf(peer['podSelector']['matchLabels']));
    const isGatewayPeer = (peer: Obj) => isObj(peer['podSelector']) && contains(g.podLabels, labelsOf(peer['podSelector']['matchLabels']));

    // The gateway's policy: every ingress rule that admits executors, and what it opens.
    const onGateway = policies.filter((p) => selects(p.spec, g.podLabels));
    expect(onGateway).toHaveLength(1);
    const gw = onGateway[0]!.spec;
    expect(gw['policyTypes']).toEqual(expect.arrayContaining(['Ingress', 'Egress']));
    const ingress = arr(gw['ingress'], 'gateway ingress');
    const executorRules = ingress.filter((r) => arr(r['from'] ?? [], 'from').some(isExecutorPeer));
    expect(executorRules).toHaveLength(1);
    const opened = arr(executorRules[0]!['ports'], 'executor ports').map((p) => ({ protocol: p['protocol'], port: p['port'], endPort: p['endPort'] }));
    expect(opened).toEqual([
      { protocol: 'TCP', port: g.ranges.driver.start, endPort: g.ranges.driver.end },
      { protocol: 'TCP', port: g.ranges.blockManager.start, endPort: g.ranges.blockManager.end },
    ]);
    // Every other ingress rule opens the API port and nothing more (to anyone, executors included).
    for (const rule of ingress.filter((r) => r !== executorRules[0])) {
      expect(arr(rule['ports'], 'ports').map((p) => [p['protocol'] ?? 'TCP', g.resolvePort(p['port']), p['endPort']])).toEqual([
        ['TCP', g.apiPort, undefined],
      ]);
    }

    const egress = arr(gw['egress'], 'gateway egress');
    expect(egress.some((r) => arr(r['to'] ?? [], 'to').some(isExecutorPeer) && r['ports'] === undefined), 'egress to executors').toBe(true);
    const egressPorts = egress.filter((r) => r['to'] === undefined).flatMap((r) => arr(r['ports'] ?? [], 'ports'));
    for (const protocol of ['UDP', 'TCP']) {
      expect(egressPorts.some((p) => p['protocol'] === protocol && p['port'] === 53), `DNS over ${protocol}`).toBe(true);
    }

    // The executors' policy: ingress from the gateway (and from each other: shuffle).
    const onExecutors = policies.filter((p) => selects(p.spec, executorLabels) && !selects(p.spec, g.podLabels));
    expect(onExecutors).toHaveLength(1);
    const ex = onExecutors[0]!.spec;
    expect(ex['policyTypes']).toContain('Ingress');
    const exIngress = arr(ex['ingress'], 'executor ingress');
    expect(exIngress.some((r) => arr(r['from'] ?? [], 'from').some(isGatewayPeer))).toBe(true);
    expect(exIngress.some((r) => arr(r['from'] ?? [], 'from').some(isExecutorPeer))).toBe(true);
  });

  it('mounts the executor pod template where the settings point, labelled for garbage collection', () => {
    const file = g.config['SPARKGATE_SPARK_EXECUTOR_POD_TEMPLATE_FILE']!;
    expect(file).toBeDefined();
    const mount = arr(g.gateway['volumeMounts'], 'volumeMounts').find((m) => file.startsWith(`${String(m['mountPath'])}/`));
    expect(mount, `a volume mounted above ${file}`).toBeDefined();
    const volume = arr(g.podSpec['volumes'], 'volumes').find((v) => v['name'] === mount!['name'])!;
    const source = obj(volume['configMap'], 'template volume configMap');
    const relative = file.slice(String(mount!['mountPath']).length + 1);
    const items = source['items'] === undefined ? undefined : arr(source['items'], 'items');
    const key = items ? items.find((i) => i['path'] === relative)?.['key'] : relative;
    const holder = build.get('ConfigMap', String(source['name']));
    const text = labelsOf(holder['data'])[String(key)];
    expect(text, `${String(source['name'])} key ${String(key)}`).toBeDefined();

    const docs = parseYamlDocuments(text!, 'executor pod template');
    expect(docs).toHaveLength(1);
    const pod = obj(docs[0], 'template');
    expect(pod['kind']).toBe('Pod');
    expect(schemaRoundTrip(pod, 'V1Pod'), 'executor template has unknown fields').toEqual(pod);
    expect(labelsOf(obj(pod['metadata'], 'metadata')['labels'])[LABEL_MANAGED_BY]).toBe(MANAGED_BY_VALUE);
    const spec = obj(pod['spec'], 'template spec');
    const account = g.config['SPARKGATE_SPARK_SERVICE_ACCOUNT'];
    expect(spec['serviceAccountName']).toBe(account);
    expect(build.get('ServiceAccount', String(account))['automountServiceAccountToken']).toBe(false);
    expect(spec['automountServiceAccountToken']).toBe(false);
    expect(obj(spec['securityContext'], 'template securityContext')['runAsNonRoot']).toBe(true);
    const [executor] = arr(spec['containers'], 'template containers');
    expect(executor?.['command']).toEqual(['/opt/entrypoint.sh']);
    expect(executor?.['resources']).toBeDefined();
    // Nothing binds a Role to the executors' account.
    for (const b of build.ofKind('RoleBinding')) {
      expect(arr(b['subjects'], 'subjects').map((s) => s['name'])).not.toContain(account);
    }
  });

  it.runIf(cli !== undefined)(`renders the same objects as ${cli?.join(' ') ?? 'kustomize (not installed)'}`, () => {
    const byId = (objects: KubeObject[]) => Object.fromEntries(objects.map((o) => [objectId(o), o]));
    expect(byId(build.objects)).toEqual(byId(renderWithCli(cli!, dir)));
  });
});

describe('manifests/Dockerfile', () => {
  const dockerfile = readFileSync(path.join(MANIFESTS, 'Dockerfile'), 'utf8');
  const base = inspect(load(path.join(MANIFESTS, 'base')));

  it('builds the image the manifests expect: entrypoint, user, Spark home, executor entrypoint', () => {
    expect(dockerfile).toContain('ENTRYPOINT ["node","bin/sparkgate.js","serve"]');
    expect(dockerfile).toMatch(new RegExp(`^USER ${String(obj(base.podSpec['securityContext'], 'sc')['runAsUser'])}(:|$)`, 'm'));
    expect(dockerfile).toMatch(new RegExp(`SPARK_HOME=${base.config['SPARKGATE_SPARK_SPARK_HOME']}\\b`));
    // drivers (the gateway's kernels) and executors use the image's one pinned venv
    expect(dockerfile).toContain('PYSPARK_PYTHON=/opt/venv/bin/python');
    expect(base.config['SPARKGATE_PYTHON']).toBe('/opt/venv/bin/python');
    expect(dockerfile).toContain('pip install --no-cache-dir -r /opt/sparkgate/requirements/runtime.txt');
    // the executor pod template's command is the repository's executor entrypoint
    expect(dockerfile).toContain('COPY manifests/executor-entrypoint.sh /opt/entrypoint.sh');
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${base.apiPort}$`, 'm'));
    expect(existsSync(path.join(REPO_ROOT, '.dockerignore'))).toBe(true);
  });
});
