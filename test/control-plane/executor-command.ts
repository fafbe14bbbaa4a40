// Pure half of the test node agent (node-agent.ts): turns a Spark executor pod into the local
// process a kubelet + Spark's image entrypoint (`entrypoint.sh executor`) would have run, and
// builds the pod status bodies the agent reports. No I/O here: ConfigMaps and Secrets are
// fetched by the caller (see referencedObjects) and handed in.
import { constants as osConstants } from 'node:os';
import { join, normalize } from 'node:path';
import type { V1ConfigMap, V1Container, V1KeyToPath, V1Pod, V1Secret, V1Volume } from '@kubernetes/client-node';

export const LOCAL_IP = '127.0.0.1';

/** The pod spec is something this agent cannot run; the pod is marked Failed with this message. */
export class ExecutorSpecError extends Error {
  override readonly name = 'ExecutorSpecError';
}

export interface ObjectRef {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  optional: boolean;
}

export interface ExecutorInputs {
  pod: V1Pod;
  nodeName: string;
  sparkHome: string;
  /** Host folder for this pod (cwd; volumes go in subfolders). */
  podDir: string;
  /** The image's executor entrypoint on this host (manifests/executor-entrypoint.sh). */
  entrypoint: string;
  /** Minimal environment the pod's env is layered on (PATH, JAVA_HOME, HOME, LANG). */
  baseEnv: Record<string, string>;
  /** Fetched objects by name; a name that is absent was not found. */
  configMaps: ReadonlyMap<string, V1ConfigMap>;
  secrets: ReadonlyMap<string, V1Secret>;
}

export interface HostDir {
  volume: string;
  hostPath: string;
  /** Files to write, relative to hostPath. */
  files: { path: string; data: Buffer }[];
}

export interface ExecutorPlan {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  dirs: HostDir[];
  /** Things that were skipped or approximated, for the log. */
  warnings: string[];
}

/**
 * The executor container: Spark's default name, else the one given args ["executor"], else the
 * first (with a pod template that has sidecars, Spark appends its container after them).
 */
export function findExecutorContainer(pod: V1Pod): V1Container | undefined {
  const cs = pod.spec?.containers ?? [];
  return cs.find((c) => c.name === 'spark-kubernetes-executor') ?? cs.find((c) => c.args?.[0] === 'executor') ?? cs[0];
}

export function executorContainer(pod: V1Pod): V1Container {
  const c = findExecutorContainer(pod);
  if (!c) throw new ExecutorSpecError('pod has no containers');
  return c;
}

/** ConfigMaps and Secrets the executor container needs (env, envFrom, mounted volumes). */
export function referencedObjects(pod: V1Pod): ObjectRef[] {
  const refs = new Map<string, ObjectRef>();
  const add = (kind: ObjectRef['kind'], name: string | undefined, optional: boolean | undefined) => {
    if (!name) return;
    const key = `${kind}/${name}`;
    const prev = refs.get(key);
    refs.set(key, { kind, name, optional: (prev?.optional ?? true) && optional === true });
  };
  const c = findExecutorContainer(pod);
  for (const e of c?.env ?? []) {
    add('ConfigMap', e.valueFrom?.configMapKeyRef?.name, e.valueFrom?.configMapKeyRef?.optional);
    add('Secret', e.valueFrom?.secretKeyRef?.name, e.valueFrom?.secretKeyRef?.optional);
  }
  for (const f of c?.envFrom ?? []) {
    add('ConfigMap', f.configMapRef?.name, f.configMapRef?.optional);
    add('Secret', f.secretRef?.name, f.secretRef?.optional);
  }
  for (const v of mountedVolumes(pod)) {
    add('ConfigMap', v.configMap?.name, v.configMap?.optional);
    add('Secret', v.secret?.secretName, v.secret?.optional);
  }
  return [...refs.values()];
}

function mountedVolumes(pod: V1Pod): V1Volume[] {
  const names = new Set((findExecutorContainer(pod)?.volumeMounts ?? []).map((m) => m.name));
  return (pod.spec?.volumes ?? []).filter((v) => names.has(v.name));
}

const decode = (b64: string) => Buffer.from(b64, 'base64');

/** Key -> bytes of a ConfigMap (data + binaryData) or Secret (data, base64). */
function objectData(kind: ObjectRef['kind'], name: string, inputs: ExecutorInputs): Map<string, Buffer> | undefined {
  if (kind === 'ConfigMap') {
    const cm = inputs.configMaps.get(name);
    if (!cm) return undefined;
    const out = new Map<string, Buffer>();
    for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(v, 'utf8'));
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, decode(v));
    return out;
  }
  const s = inputs.secrets.get(name);
  if (!s) return undefined;
  return new Map(Object.entries(s.data ?? {}).map(([k, v]) => [k, decode(v)]));
}

function fieldValue(path: string, pod: V1Pod, nodeName: string): string | undefined {
  const meta = pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  switch (path) {
    case 'status.podIP':
    case 'status.hostIP':
    case 'status.podIPs':
    case 'status.hostIPs':
      return LOCAL_IP;
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    default:
      return undefined;
  }
}

/** Kubernetes `$(VAR)` expansion against variables defined so far; `$$` escapes a `$`. */
export function expandVars(value: string, defined: Readonly<Record<string, string>>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) =>
    name === undefined ? '$' : Object.hasOwn(defined, name) ? defined[name]! : m,
  );
}

/** The container's environment as a kubelet would resolve it (envFrom first, then env). */
export function resolveEnv(inputs: ExecutorInputs, warnings: string[]): Record<string, string> {
  const { pod, nodeName } = inputs;
  const c = executorContainer(pod);
  const env: Record<string, string> = {};
  const keyOf = (kind: ObjectRef['kind'], name: string, key: string, optional: boolean | undefined, what: string) => {
    const data = objectData(kind, name, inputs);
    const v = data?.get(key);
    if (v === undefined && !optional) {
      throw new ExecutorSpecError(`${what}: ${kind} ${name}${data ? ` has no key ${key}` : ' not found'}`);
    }
    return v?.toString('utf8');
  };
  for (const f of c.envFrom ?? []) {
    const [kind, ref] = f.configMapRef ? (['ConfigMap', f.configMapRef] as const) : (['Secret', f.secretRef] as const);
    if (!ref?.name) continue;
    const data = objectData(kind, ref.name, inputs);
    if (!data && !ref.optional) throw new ExecutorSpecError(`envFrom: ${kind} ${ref.name} not found`);
    for (const [k, v] of data ?? []) env[`${f.prefix ?? ''}${k}`] = v.toString('utf8');
  }
  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    let value: string | undefined;
    if (!from) value = expandVars(e.value ?? '', env);
    else if (from.fieldRef) {
      value = fieldValue(from.fieldRef.fieldPath, pod, nodeName);
      if (value === undefined) warnings.push(`env ${e.name}: unsupported fieldRef ${from.fieldRef.fieldPath}, skipped`);
    } else if (from.configMapKeyRef) {
      const r = from.configMapKeyRef;
      value = keyOf('ConfigMap', r.name ?? '', r.key, r.optional, `env ${e.name}`);
    } else if (from.secretKeyRef) {
      const r = from.secretKeyRef;
      value = keyOf('Secret', r.name ?? '', r.key, r.optional, `env ${e.name}`);
    } else if (from.resourceFieldRef) {
      warnings.push(`env ${e.name}: resourceFieldRef skipped`);
    }
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

function keyFiles(data: Map<string, Buffer>, items: V1KeyToPath[] | undefined, optional: boolean | undefined, what: string) {
  if (!items?.length) return [...data].map(([path, d]) => ({ path, data: d }));
  const files: HostDir['files'] = [];
  for (const item of items) {
    const d = data.get(item.key);
    if (d === undefined) {
      if (optional) continue;
      throw new ExecutorSpecError(`${what}: no key ${item.key}`);
    }
    files.push({ path: item.path, data: d });
  }
  return files;
}

/** One host folder per mounted volume, with the files a kubelet would project into it. */
export function volumeDirs(inputs: ExecutorInputs, warnings: string[]): HostDir[] {
  return mountedVolumes(inputs.pod).map((v) => {
    const hostPath = join(inputs.podDir, v.name);
    const what = `volume ${v.name}`;
    let files: HostDir['files'] = [];
    if (v.configMap || v.secret) {
      const [kind, name, items, optional] = v.configMap
        ? (['ConfigMap', v.configMap.name ?? '', v.configMap.items, v.configMap.optional] as const)
        : (['Secret', v.secret!.secretName ?? '', v.secret!.items, v.secret!.optional] as const);
      const data = objectData(kind, name, inputs);
      if (!data && !optional) throw new ExecutorSpecError(`${what}: ${kind} ${name} not found`);
      files = data ? keyFiles(data, items, optional, `${what} (${kind} ${name})`) : [];
    } else if (!v.emptyDir) {
      const type = Object.keys(v).find((k) => k !== 'name' && (v as unknown as Record<string, unknown>)[k] != null);
      warnings.push(`${what}: type ${type ?? 'unknown'} not supported, using an empty folder`);
    }
    for (const f of files) {
      const p = normalize(f.path);
      if (p.startsWith('..') || p.startsWith('/')) throw new ExecutorSpecError(`${what}: bad item path ${f.path}`);
    }
    return { volume: v.name, hostPath, files };
  });
}

/** Mount path -> host path for the executor container (subPath honoured), longest first. */
export function mountMap(pod: V1Pod, podDir: string): { mountPath: string; hostPath: string }[] {
  return (findExecutorContainer(pod)?.volumeMounts ?? [])
    .map((m) => ({
      mountPath: m.mountPath.length > 1 ? m.mountPath.replace(/\/+$/, '') : m.mountPath,
      hostPath: join(podDir, m.name, m.subPath ?? ''),
    }))
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
}

/**
 * Rewrites container paths to host paths: the whole value, or any element of a list separated by
 * ':' ',' or '=' (so `a:/opt/spark/conf`, `/var/data/x,/var/data/y` and `-Dk=/var/data/x` work).
 */
export function rewritePaths(value: string, mounts: { mountPath: string; hostPath: string }[]): string {
  return value
    .split(/([:,=])/)
    .map((part) => {
      const m = mounts.find((x) => part === x.mountPath || part.startsWith(`${x.mountPath}/`));
      return m ? m.hostPath + part.slice(m.mountPath.length) : part;
    })
    .join('');
}

const REQUIRED = [
  'SPARK_EXECUTOR_MEMORY',
  'SPARK_DRIVER_URL',
  'SPARK_EXECUTOR_ID',
  'SPARK_EXECUTOR_CORES',
  'SPARK_APPLICATION_ID',
  'SPARK_EXECUTOR_POD_IP',
  'SPARK_RESOURCE_PROFILE_ID',
  'SPARK_EXECUTOR_POD_NAME',
] as const;

/** Where the image keeps the executor entrypoint (manifests/Dockerfile, executor-pod-template.yaml). */
export const IMAGE_ENTRYPOINT = '/opt/entrypoint.sh';

/** What a container runtime would start for the executor container, as argv/env/cwd/folders. */
export function buildExecutorCommand(inputs: ExecutorInputs): ExecutorPlan {
  const warnings: string[] = [];
  const c = executorContainer(inputs.pod);
  // Our pod template starts executors with the image's /opt/entrypoint.sh: that script runs here.
  if (c.command?.length && c.command[0] !== IMAGE_ENTRYPOINT) warnings.push(`container command ${JSON.stringify(c.command)} ignored: running ${IMAGE_ENTRYPOINT}`);
  if (c.args?.length && c.args[0] !== 'executor') warnings.push(`container args ${JSON.stringify(c.args)}: not an executor`);
  const podEnv = resolveEnv(inputs, warnings);
  const dirs = volumeDirs(inputs, warnings);
  const mounts = mountMap(inputs.pod, inputs.podDir);
  const env: Record<string, string> = { ...inputs.baseEnv };
  for (const [k, v] of Object.entries(podEnv)) env[k] = rewritePaths(v, mounts);
  env['SPARK_HOME'] = inputs.sparkHome;
  // In a pod the host's own address is the pod IP; without this Spark picks a non-loopback NIC.
  env['SPARK_LOCAL_IP'] ??= LOCAL_IP;

  const missing = REQUIRED.filter((k) => !env[k]);
  if (missing.length) throw new ExecutorSpecError(`executor environment lacks ${missing.join(', ')}`);
  // The image's own entrypoint (manifests/executor-entrypoint.sh at /opt/entrypoint.sh) with the
  // args Spark gave the container: what a container runtime would start, so the script is tested.
  const argv = ['bash', inputs.entrypoint, ...(c.args?.length ? c.args : ['executor'])];
  // workingDir (Spark downloads --jars/--files there) if it lies in a volume, else the pod folder.
  const workingDir = c.workingDir ? rewritePaths(c.workingDir, mounts) : undefined;
  if (c.workingDir && workingDir === c.workingDir) warnings.push(`workingDir ${c.workingDir} is not in a volume, using the pod folder`);
  const cwd = workingDir && workingDir !== c.workingDir ? workingDir : inputs.podDir;
  return { argv, env, cwd, dirs, warnings };
}

// ---- pod status bodies (merge patches on pods/status) ----

function conditions(status: 'True' | 'False', now: string) {
  return ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
    type,
    status: type === 'PodScheduled' || type === 'Initialized' ? 'True' : status,
    lastTransitionTime: now,
  }));
}

const ips = { podIP: LOCAL_IP, hostIP: LOCAL_IP, podIPs: [{ ip: LOCAL_IP }], hostIPs: [{ ip: LOCAL_IP }] };

export function runningStatus(container: V1Container, startedAt: string) {
  return {
    status: {
      phase: 'Running',
      ...ips,
      startTime: startedAt,
      conditions: conditions('True', startedAt),
      containerStatuses: [
        {
          name: container.name,
          ready: true,
          started: true,
          restartCount: 0,
          image: container.image ?? '',
          imageID: '',
          state: { running: { startedAt } },
        },
      ],
    },
  };
}

/** Exit code as a shell reports it: the code, or 128 + signal number. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
}

export function terminatedStatus(container: V1Container, startedAt: string, finishedAt: string, exitCode: number, message?: string) {
  const ok = exitCode === 0;
  return {
    status: {
      phase: ok ? 'Succeeded' : 'Failed',
      ...(message ? { message, reason: 'NodeAgentError' } : {}),
      ...ips,
      startTime: startedAt,
      conditions: conditions('False', finishedAt),
      containerStatuses: [
        {
          name: container.name,
          ready: false,
          started: false,
          restartCount: 0,
          image: container.image ?? '',
          imageID: '',
          state: { terminated: { exitCode, reason: ok ? 'Completed' : 'Error', startedAt, finishedAt, ...(message ? { message } : {}) } },
        },
      ],
    },
  };
}

// ---- small pieces of kubelet behaviour ----

/** Seconds to wait between SIGTERM and SIGKILL for a deleted pod: its grace period, capped. */
export function killGraceSeconds(pod: V1Pod, capSeconds = 5): number {
  return Math.min(capSeconds, Math.max(0, pod.metadata?.deletionGracePeriodSeconds ?? 0));
}

/** The minimal environment an executor starts from (not the agent's whole environment). */
export function baseEnv(from: NodeJS.ProcessEnv, home: string): Record<string, string> {
  const env: Record<string, string> = { PATH: from['PATH'] ?? '/usr/bin:/bin', HOME: from['HOME'] ?? home, LANG: from['LANG'] ?? 'C.UTF-8' };
  if (from['JAVA_HOME']) env['JAVA_HOME'] = from['JAVA_HOME'];
  return env;
}

/** Merge patch for nodes/status: a Ready node at 127.0.0.1 (also the heartbeat). */
export function nodeStatus(nodeName: string, readySince: string, now: string) {
  const resources = { cpu: '64', memory: '256Gi', pods: '250' };
  return {
    status: {
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'sparkgate test node agent', lastHeartbeatTime: now, lastTransitionTime: readySince },
      ],
      addresses: [
        { type: 'InternalIP', address: LOCAL_IP },
        { type: 'Hostname', address: nodeName },
      ],
      capacity: resources,
      allocatable: resources,
    },
  };
}
