/**
 * FakeKube's object store: what etcd plus the apiserver's registry do for core/v1 objects.
 * One global resourceVersion counter (like etcd's revision), a bounded event history for watch
 * replay, graceful deletion (deletionTimestamp, then removal), finalizers, and the garbage
 * collector's background cascade over ownerReferences
 * (https://kubernetes.io/docs/concepts/architecture/garbage-collection/).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { applyPatch } from './patch.js';
import { statusErrors } from './status.js';

export const RESOURCES = {
  pods: { kind: 'Pod', listKind: 'PodList', initialPhase: 'Pending' },
  configmaps: { kind: 'ConfigMap', listKind: 'ConfigMapList', initialPhase: undefined },
  services: { kind: 'Service', listKind: 'ServiceList', initialPhase: undefined },
  persistentvolumeclaims: { kind: 'PersistentVolumeClaim', listKind: 'PersistentVolumeClaimList', initialPhase: 'Pending' },
} as const;

export type ResourceName = keyof typeof RESOURCES;

export function isResource(name: string): name is ResourceName {
  return Object.hasOwn(RESOURCES, name);
}

export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  generation?: number;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: StoreEventType;
  readonly resource: ResourceName;
  readonly rv: number;
  readonly object: KubeObject;
  /** State before a MODIFIED event: watches with selectors turn it into ADDED/DELETED. */
  readonly previous: KubeObject | undefined;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

type ImmutableMeta = Pick<ObjectMeta, 'name' | 'namespace' | 'uid' | 'creationTimestamp' | 'resourceVersion'> &
  Partial<Pick<ObjectMeta, 'generation' | 'deletionTimestamp' | 'deletionGracePeriodSeconds'>>;

export type ReplayResult = { expired: true; oldest: number } | { expired: false; events: StoreEvent[] };

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** The alphabet of apiserver's generateName suffixes (no vowels, no confusable digits). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** RFC 3339 at second precision, as the apiserver writes metav1.Time. */
function nowTimestamp(offsetMs = 0): string {
  return new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** JSON with sorted keys, to compare objects regardless of key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const keyOf = (resource: string, namespace: string, name: string) => `${resource}/${namespace}/${name}`;

export class ObjectStore {
  private counter: number;
  /** A watch from resourceVersion x is valid iff x >= compactedBelow. */
  private compactedBelow: number;
  private readonly objects = new Map<string, KubeObject>();
  private history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  /** Objects whose deletion grace period has not yet run out. */
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  private readonly cascades = new Set<NodeJS.Immediate>();
  deletionDelayMs = 0;

  constructor(
    private readonly historyLimit = 10_000,
    startResourceVersion = 1000,
  ) {
    this.counter = startResourceVersion;
    this.compactedBelow = startResourceVersion;
  }

  get resourceVersion(): string {
    return String(this.counter);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events after `rv`, or `expired` when history no longer reaches back that far. */
  eventsSince(rv: number): ReplayResult {
    if (rv < this.compactedBelow) return { expired: true, oldest: this.compactedBelow };
    return { expired: false, events: this.history.filter((e) => e.rv > rv) };
  }

  /** Forget all history: every resourceVersion handed out so far becomes too old to watch from. */
  compact(): void {
    this.counter += 1;
    this.compactedBelow = this.counter;
    this.history = [];
  }

  list(resource: ResourceName, namespace: string | undefined): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.objects.values()) {
      if (obj.kind !== RESOURCES[resource].kind) continue;
      if (namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      out.push(structuredClone(obj));
    }
    return out.sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
    );
  }

  get(resource: ResourceName, namespace: string, name: string): KubeObject {
    const obj = this.objects.get(keyOf(resource, namespace, name));
    if (!obj) throw statusErrors.notFound(resource, name);
    return structuredClone(obj);
  }

  create(resource: ResourceName, namespace: string, body: unknown): KubeObject {
    if (!isObject(body)) throw statusErrors.badRequest('the body of the request must be a JSON object');
    const meta = isObject(body['metadata']) ? body['metadata'] : {};
    if (typeof meta['namespace'] === 'string' && meta['namespace'] !== '' && meta['namespace'] !== namespace) {
      throw statusErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const generateName = typeof meta['generateName'] === 'string' ? meta['generateName'] : '';
    let name = typeof meta['name'] === 'string' ? meta['name'] : '';
    if (name === '' && generateName !== '') {
      name = generateName + Array.from({ length: 5 }, () => SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)]).join('');
    }
    const kind = RESOURCES[resource].kind;
    if (name === '') throw statusErrors.invalid(kind, '', 'metadata.name: Required value: name or generateName is required');
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      throw statusErrors.invalid(kind, name, `metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    }
    const key = keyOf(resource, namespace, name);
    if (this.objects.has(key)) throw statusErrors.alreadyExists(resource, name);

    const obj = structuredClone(body) as KubeObject;
    obj.apiVersion = 'v1';
    obj.kind = kind;
    const metadata: ObjectMeta = {
      ...(structuredClone(meta) as Partial<ObjectMeta>),
      name,
      namespace,
      uid: randomUUID(),
      resourceVersion: '',
      creationTimestamp: nowTimestamp(),
      generation: 1,
    };
    delete metadata.deletionTimestamp;
    delete metadata.deletionGracePeriodSeconds;
    obj.metadata = metadata;
    const phase = RESOURCES[resource].initialPhase;
    if (phase !== undefined && !isObject(obj.status)) obj.status = { phase };
    return this.commit(resource, key, obj, 'ADDED', undefined);
  }

  /** PUT: `subresource` 'status' changes only status; the main resource keeps the current status. */
  replace(resource: ResourceName, namespace: string, name: string, body: unknown, subresource?: 'status'): KubeObject {
    if (!isObject(body)) throw statusErrors.badRequest('the body of the request must be a JSON object');
    const key = keyOf(resource, namespace, name);
    const cur = this.objects.get(key);
    if (!cur) throw statusErrors.notFound(resource, name);
    const meta = isObject(body['metadata']) ? body['metadata'] : {};
    if (typeof meta['name'] === 'string' && meta['name'] !== name) {
      throw statusErrors.badRequest('the name of the object does not match the name on the URL');
    }
    if (typeof meta['resourceVersion'] === 'string' && meta['resourceVersion'] !== '' && meta['resourceVersion'] !== cur.metadata.resourceVersion) {
      throw statusErrors.conflict(resource, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    let next: KubeObject;
    if (subresource === 'status') {
      next = structuredClone(cur);
      if (body['status'] === undefined) delete next.status;
      else next.status = structuredClone(body['status']) as Record<string, unknown>;
    } else {
      next = structuredClone(body) as KubeObject;
      if (cur.status !== undefined) next.status = structuredClone(cur.status);
      else delete next.status;
      next.metadata = { ...(structuredClone(meta) as Partial<ObjectMeta>), ...this.immutableMeta(cur) };
    }
    next.apiVersion = cur.apiVersion;
    next.kind = cur.kind;
    return this.update(resource, key, cur, next);
  }

  patch(resource: ResourceName, namespace: string, name: string, contentType: string, body: unknown, subresource?: 'status'): KubeObject {
    const cur = this.get(resource, namespace, name);
    const patched = applyPatch(cur, contentType, body);
    return this.replace(resource, namespace, name, patched, subresource);
  }

  /** Direct edit for tests (no subresource rules), e.g. setting status.phase. */
  mutate(resource: ResourceName, namespace: string, name: string, edit: (obj: KubeObject) => void): KubeObject {
    const key = keyOf(resource, namespace, name);
    const cur = this.objects.get(key);
    if (!cur) throw statusErrors.notFound(resource, name);
    const next = structuredClone(cur);
    edit(next);
    next.metadata = { ...next.metadata, ...this.immutableMeta(cur) };
    return this.update(resource, key, cur, next);
  }

  delete(resource: ResourceName, namespace: string, name: string, options: DeleteOptions = {}): KubeObject {
    const key = keyOf(resource, namespace, name);
    const cur = this.objects.get(key);
    if (!cur) throw statusErrors.notFound(resource, name);
    const pre = options.preconditions;
    if (pre?.uid !== undefined && pre.uid !== cur.metadata.uid) {
      throw statusErrors.conflict(resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw statusErrors.conflict(resource, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    }
    // Already terminating: the apiserver answers with the object and changes nothing.
    if (cur.metadata.deletionTimestamp !== undefined) return structuredClone(cur);
    const hasFinalizers = (cur.metadata.finalizers ?? []).length > 0;
    if (this.deletionDelayMs <= 0 && !hasFinalizers) return this.remove(resource, key, options.propagationPolicy);

    const next = structuredClone(cur);
    next.metadata.deletionTimestamp = nowTimestamp(this.deletionDelayMs);
    next.metadata.deletionGracePeriodSeconds = options.gracePeriodSeconds ?? Math.ceil(this.deletionDelayMs / 1000);
    const marked = this.commit(resource, key, next, 'MODIFIED', cur);
    if (this.deletionDelayMs > 0) {
      const uid = cur.metadata.uid;
      const timer = setTimeout(() => {
        this.graceTimers.delete(key);
        this.finishIfReady(resource, key, uid, options.propagationPolicy);
      }, this.deletionDelayMs);
      this.graceTimers.set(key, timer);
    }
    return marked;
  }

  /** Stop timers (grace periods, cascades); the store keeps its objects. */
  dispose(): void {
    for (const t of this.graceTimers.values()) clearTimeout(t);
    this.graceTimers.clear();
    for (const i of this.cascades) clearImmediate(i);
    this.cascades.clear();
  }

  private immutableMeta(cur: KubeObject): ImmutableMeta {
    const m = cur.metadata;
    const keep: ImmutableMeta = {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      creationTimestamp: m.creationTimestamp,
      resourceVersion: m.resourceVersion,
    };
    if (m.generation !== undefined) keep.generation = m.generation;
    if (m.deletionTimestamp !== undefined) keep.deletionTimestamp = m.deletionTimestamp;
    if (m.deletionGracePeriodSeconds !== undefined) keep.deletionGracePeriodSeconds = m.deletionGracePeriodSeconds;
    return keep;
  }

  private update(resource: ResourceName, key: string, cur: KubeObject, next: KubeObject): KubeObject {
    // A no-op write does not bump resourceVersion or emit an event, as in the apiserver.
    if (canonical(next) === canonical(cur)) return structuredClone(cur);
    const saved = this.commit(resource, key, next, 'MODIFIED', cur);
    this.finishIfReady(resource, key, saved.metadata.uid, undefined);
    return structuredClone(this.objects.get(key) ?? saved);
  }

  /** Remove a terminating object once its grace period ran out and its finalizers are gone. */
  private finishIfReady(resource: ResourceName, key: string, uid: string, policy: DeleteOptions['propagationPolicy']): void {
    const cur = this.objects.get(key);
    if (!cur || cur.metadata.uid !== uid || cur.metadata.deletionTimestamp === undefined) return;
    if (this.graceTimers.has(key) || (cur.metadata.finalizers ?? []).length > 0) return;
    this.remove(resource, key, policy);
  }

  private remove(resource: ResourceName, key: string, policy: DeleteOptions['propagationPolicy']): KubeObject {
    const cur = this.objects.get(key);
    if (!cur) throw new Error(`fake-kube: remove of missing ${key}`);
    this.objects.delete(key);
    const timer = this.graceTimers.get(key);
    if (timer) clearTimeout(timer);
    this.graceTimers.delete(key);
    const gone = structuredClone(cur);
    this.counter += 1;
    gone.metadata.resourceVersion = String(this.counter);
    this.record({ type: 'DELETED', resource, rv: this.counter, object: gone, previous: cur });
    this.cascade(cur.metadata.uid, policy ?? 'Background');
    return structuredClone(gone);
  }

  /** The garbage collector: dependents go after their owner, asynchronously (background). */
  private cascade(ownerUid: string, policy: NonNullable<DeleteOptions['propagationPolicy']>): void {
    for (const [key, obj] of this.objects) {
      const refs = obj.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === ownerUid)) continue;
      const resource = key.split('/')[0] as ResourceName;
      const { namespace, name, uid } = obj.metadata;
      const handle = setImmediate(() => {
        this.cascades.delete(handle);
        const still = this.objects.get(key);
        if (!still || still.metadata.uid !== uid) return;
        if (policy === 'Orphan') {
          this.mutate(resource, namespace, name, (o) => {
            o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
            if (o.metadata.ownerReferences.length === 0) delete o.metadata.ownerReferences;
          });
        } else {
          this.delete(resource, namespace, name, { propagationPolicy: 'Background' });
        }
      });
      this.cascades.add(handle);
    }
  }

  private commit(resource: ResourceName, key: string, obj: KubeObject, type: StoreEventType, previous: KubeObject | undefined): KubeObject {
    this.counter += 1;
    obj.metadata.resourceVersion = String(this.counter);
    this.objects.set(key, obj);
    this.record({ type, resource, rv: this.counter, object: structuredClone(obj), previous });
    return structuredClone(obj);
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped) this.compactedBelow = dropped.rv;
    }
    for (const listener of [...this.listeners]) listener(event);
  }
}
