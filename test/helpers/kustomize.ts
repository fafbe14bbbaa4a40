/**
 * Test-only Kustomize renderer for manifests/, so the manifest tests run on machines without
 * kubectl or kustomize (FACTS.md: kubectl is not guaranteed on a fresh machine).
 *
 * It implements only what manifests/ uses and refuses everything else, loudly, rather than
 * render something kustomize would not:
 *   - `resources`: local YAML files (multi-document) and local kustomization directories;
 *   - `namespace`: set on every namespaced object; Namespace objects are renamed to it, and
 *     RoleBinding subjects naming a ServiceAccount of the build get it too (as kustomize does);
 *   - `labels`: `pairs` added to metadata.labels only (`includeSelectors`/`includeTemplates` off);
 *   - `images`: `name` -> `newName` / `newTag` / `digest` on every `containers[]` and
 *     `initContainers[]` image;
 *   - `patches`: inline JSON 6902 patches (`add`, `replace`, `remove`) with a kind/name target.
 * Transformers run in kustomize's order (patches, namespace, labels, images), each
 * kustomization after its resources are fully built.
 *
 * When a real kustomize is on the machine (`kubectl kustomize` or `kustomize build`), the
 * manifest test renders with it as well and requires identical objects: that keeps this
 * renderer honest. Semantics: https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches']);

/** Kinds without a namespace among those a namespace transformer could meet here. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

export class KustomizeError extends Error {
  override name = 'KustomizeError';
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse YAML documents; empty documents are dropped, syntax errors throw. */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  const out: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new KustomizeError(`${source}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

function asKubeObject(value: unknown, source: string): KubeObject {
  if (!isObject(value)) throw new KustomizeError(`${source}: a document is not a mapping`);
  const meta = value['metadata'];
  if (typeof value['apiVersion'] !== 'string' || typeof value['kind'] !== 'string' || !isObject(meta) || typeof meta['name'] !== 'string') {
    throw new KustomizeError(`${source}: every object needs apiVersion, kind and metadata.name`);
  }
  return value as unknown as KubeObject;
}

export const objectId = (o: KubeObject): string => `${o.kind}/${o.metadata.namespace ?? '~'}/${o.metadata.name}`;

function kustomizationFile(dir: string): string {
  for (const name of KUSTOMIZATION_FILES) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new KustomizeError(`${dir}: no kustomization.yaml`);
}

/** Render the kustomization in `dir` like `kustomize build dir`. */
export function renderKustomization(dir: string): KubeObject[] {
  const file = kustomizationFile(dir);
  const docs = parseYamlDocuments(readFileSync(file, 'utf8'), file);
  const k = docs[0];
  if (docs.length !== 1 || !isObject(k)) throw new KustomizeError(`${file}: must hold one mapping`);
  for (const field of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(field)) {
      throw new KustomizeError(`${file}: "${field}" is not supported by test/helpers/kustomize.ts (add it there, or keep manifests simple)`);
    }
  }

  let objects: KubeObject[] = [];
  for (const entry of list(k['resources'], `${file}: resources`)) {
    if (typeof entry !== 'string' || /^[a-z]+:\/\//i.test(entry) || entry.startsWith('git@')) {
      throw new KustomizeError(`${file}: only local resources are supported, got ${JSON.stringify(entry)}`);
    }
    const target = path.resolve(dir, entry);
    if (!existsSync(target)) throw new KustomizeError(`${file}: resource ${entry} does not exist`);
    if (statSync(target).isDirectory()) {
      objects.push(...renderKustomization(target));
    } else {
      objects.push(...parseYamlDocuments(readFileSync(target, 'utf8'), target).map((d) => asKubeObject(d, target)));
    }
  }
  objects = structuredClone(objects);
  assertUnique(objects, file);

  for (const patch of list(k['patches'], `${file}: patches`)) applyPatch(objects, patch, file);
  if (k['namespace'] !== undefined) {
    if (typeof k['namespace'] !== 'string') throw new KustomizeError(`${file}: namespace must be a string`);
    setNamespace(objects, k['namespace']);
  }
  for (const entry of list(k['labels'], `${file}: labels`)) addLabels(objects, entry, file);
  for (const entry of list(k['images'], `${file}: images`)) setImages(objects, entry, file);

  assertUnique(objects, file);
  return objects;
}

function list(value: unknown, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KustomizeError(`${what} must be a list`);
  return value;
}

function assertUnique(objects: KubeObject[], file: string): void {
  const seen = new Set<string>();
  for (const o of objects) {
    const id = objectId(o);
    if (seen.has(id)) throw new KustomizeError(`${file}: ${id} is defined twice`);
    seen.add(id);
  }
}

// --- namespace -------------------------------------------------------------------------------

function setNamespace(objects: KubeObject[], namespace: string): void {
  const serviceAccounts = new Set(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name));
  for (const o of objects) {
    if (o.kind === 'Namespace') {
      o.metadata.name = namespace;
      continue;
    }
    if (CLUSTER_SCOPED.has(o.kind)) continue;
    o.metadata.namespace = namespace;
    if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
      for (const subject of Array.isArray(o['subjects']) ? o['subjects'] : []) {
        if (isObject(subject) && subject['kind'] === 'ServiceAccount' && serviceAccounts.has(String(subject['name']))) {
          subject['namespace'] = namespace;
        }
      }
    }
  }
}

// --- labels ----------------------------------------------------------------------------------

function addLabels(objects: KubeObject[], entry: unknown, file: string): void {
  if (!isObject(entry) || !isObject(entry['pairs'])) throw new KustomizeError(`${file}: labels entries need "pairs"`);
  for (const key of Object.keys(entry)) {
    if (key === 'pairs') continue;
    if ((key === 'includeSelectors' || key === 'includeTemplates') && entry[key] === false) continue;
    throw new KustomizeError(`${file}: labels.${key} is not supported here (metadata labels only)`);
  }
  const pairs = entry['pairs'];
  for (const o of objects) {
    const labels: Record<string, string> = o.metadata.labels ?? {};
    for (const [key, value] of Object.entries(pairs)) labels[key] = String(value);
    o.metadata.labels = labels;
  }
}

// --- images ----------------------------------------------------------------------------------

/** Split "registry:5000/repo/name:tag@sha256:..." into name, tag and digest. */
export function splitImage(ref: string): { name: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), ...(digest ? { digest } : {}) };
  }
  return { name: rest, ...(digest ? { digest } : {}) };
}

function setImages(objects: KubeObject[], entry: unknown, file: string): void {
  if (!isObject(entry) || typeof entry['name'] !== 'string') throw new KustomizeError(`${file}: images entries need "name"`);
  for (const key of Object.keys(entry)) {
    if (!['name', 'newName', 'newTag', 'digest'].includes(key)) throw new KustomizeError(`${file}: images.${key} is not supported`);
  }
  const { name, newName, newTag, digest } = entry as Record<string, string | undefined>;
  const rewrite = (ref: string): string => {
    const old = splitImage(ref);
    if (old.name !== name) return ref;
    const base = newName ?? old.name;
    if (digest) return `${base}@${digest}`;
    if (newTag) return `${base}:${newTag}`;
    return `${base}${old.tag ? `:${old.tag}` : ''}${old.digest ? `@${old.digest}` : ''}`;
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (isObject(node)) {
      for (const [key, value] of Object.entries(node)) {
        if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
          for (const c of value) if (isObject(c) && typeof c['image'] === 'string') c['image'] = rewrite(c['image']);
        }
        walk(value);
      }
    }
  };
  for (const o of objects) walk(o);
}

// --- patches (JSON 6902) ---------------------------------------------------------------------

function applyPatch(objects: KubeObject[], entry: unknown, file: string): void {
  if (!isObject(entry) || !isObject(entry['target']) || typeof entry['patch'] !== 'string') {
    throw new KustomizeError(`${file}: patches entries need a "target" and an inline JSON 6902 "patch" (path: and strategic merge are not supported)`);
  }
  for (const key of Object.keys(entry)) {
    if (key !== 'target' && key !== 'patch') throw new KustomizeError(`${file}: patches.${key} is not supported`);
  }
  const target = entry['target'];
  for (const key of Object.keys(target)) {
    if (!['kind', 'name', 'namespace', 'group', 'version'].includes(key)) throw new KustomizeError(`${file}: patch target.${key} is not supported`);
  }
  const ops = parseYamlDocuments(entry['patch'], `${file}: patch`)[0];
  if (!Array.isArray(ops)) throw new KustomizeError(`${file}: only JSON 6902 patches (a list of operations) are supported`);
  const matches = objects.filter((o) => {
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
    return (
      (target['kind'] === undefined || target['kind'] === o.kind) &&
      (target['name'] === undefined || target['name'] === o.metadata.name) &&
      (target['namespace'] === undefined || target['namespace'] === o.metadata.namespace) &&
      (target['group'] === undefined || target['group'] === group) &&
      (target['version'] === undefined || target['version'] === version)
    );
  });
  if (matches.length === 0) throw new KustomizeError(`${file}: patch target ${JSON.stringify(target)} matches nothing`);
  for (const o of matches) {
    for (const op of ops) applyOperation(o as unknown as JsonObject, op, `${file}: patch on ${objectId(o)}`);
  }
}

function pointer(p: unknown, where: string): string[] {
  if (typeof p !== 'string' || !p.startsWith('/')) throw new KustomizeError(`${where}: path must be a JSON pointer, got ${JSON.stringify(p)}`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyOperation(doc: JsonObject, op: unknown, where: string): void {
  if (!isObject(op) || typeof op['op'] !== 'string') throw new KustomizeError(`${where}: operations need "op"`);
  const kind = op['op'];
  if (kind !== 'add' && kind !== 'replace' && kind !== 'remove') throw new KustomizeError(`${where}: op "${kind}" is not supported`);
  const parts = pointer(op['path'], where);
  const last = parts.pop()!;
  let parent: Json = doc;
  for (const part of parts) {
    const next: Json | undefined = Array.isArray(parent) ? parent[Number(part)] : isObject(parent) ? parent[part] : undefined;
    if (next === undefined) throw new KustomizeError(`${where}: ${String(op['path'])} does not exist`);
    parent = next;
  }
  const value = structuredClone(op['value']) as Json;
  if (kind !== 'remove' && op['value'] === undefined) throw new KustomizeError(`${where}: ${kind} needs a value`);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    const exists = Number.isInteger(index) && index >= 0 && index < parent.length;
    if (kind === 'add' && Number.isInteger(index) && index >= 0 && index <= parent.length) parent.splice(index, 0, value);
    else if (kind === 'replace' && exists) parent[index] = value;
    else if (kind === 'remove' && exists) parent.splice(index, 1);
    else throw new KustomizeError(`${where}: ${String(op['path'])}: no element ${last}`);
  } else if (isObject(parent)) {
    if (kind !== 'add' && !(last in parent)) throw new KustomizeError(`${where}: ${String(op['path'])} does not exist`);
    if (kind === 'remove') delete parent[last];
    else parent[last] = value;
  } else {
    throw new KustomizeError(`${where}: ${String(op['path'])}: parent is not a container`);
  }
}

// --- real kustomize, when installed -----------------------------------------------------------

/** argv prefix of an installed kustomize (`kustomize build` or `kubectl kustomize`), if any. */
export function findKustomizeCli(): string[] | undefined {
  const candidates: [string[], string[]][] = [
    [['kustomize', 'build'], ['kustomize', 'version']],
    [['kubectl', 'kustomize'], ['kubectl', 'version', '--client']],
  ];
  for (const [command, probe] of candidates) {
    const r = spawnSync(probe[0]!, probe.slice(1), { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return command;
  }
  return undefined;
}

export function renderWithCli(cli: string[], dir: string): KubeObject[] {
  const r = spawnSync(cli[0]!, [...cli.slice(1), dir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new KustomizeError(`${cli.join(' ')} ${dir} failed: ${r.stderr || r.error?.message}`);
  return parseYamlDocuments(r.stdout, `${cli.join(' ')} ${dir}`).map((d) => asKubeObject(d, dir));
}
