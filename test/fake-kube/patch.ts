/**
 * PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902). Strategic merge patch is
 * approximated by a merge patch: FakeKube has no per-field merge keys, and tests patch maps
 * (labels, annotations, status), where the two agree.
 * client-node 1.4 sends `application/json-patch+json` unless a Content-Type header is forced
 * (`setHeaderOptions('Content-Type', PatchStrategy.MergePatch)`), so both matter.
 */
import { statusErrors } from './status.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface Op {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: Json;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw statusErrors.badRequest(`json patch: invalid pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, tokens: string[]): { parent: unknown; key: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw statusErrors.badRequest(`json patch: path not found: /${tokens.join('/')}`);
  }
  return { parent: cur, key: tokens[tokens.length - 1] ?? '' };
}

function read(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const t of pointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
  }
  if (cur === undefined) throw statusErrors.badRequest(`json patch: path not found: ${path}`);
  return cur;
}

function write(doc: unknown, path: string, value: unknown, mode: 'add' | 'replace'): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw statusErrors.badRequest(`json patch: bad index in ${path}`);
    if (mode === 'add') parent.splice(i, 0, value);
    else parent[i] = value;
  } else if (isObject(parent)) {
    if (mode === 'replace' && !Object.hasOwn(parent, key)) throw statusErrors.badRequest(`json patch: path not found: ${path}`);
    parent[key] = value;
  } else {
    throw statusErrors.badRequest(`json patch: path not found: ${path}`);
  }
  return doc;
}

function remove(doc: unknown, path: string): unknown {
  const tokens = pointer(path);
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (isObject(parent) && Object.hasOwn(parent, key)) delete parent[key];
  else throw statusErrors.badRequest(`json patch: path not found: ${path}`);
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw statusErrors.badRequest('json patch: body must be an array of operations');
  let doc = structuredClone(target);
  for (const raw of ops as Op[]) {
    switch (raw.op) {
      case 'add':
        doc = write(doc, raw.path, structuredClone(raw.value), 'add');
        break;
      case 'replace':
        doc = write(doc, raw.path, structuredClone(raw.value), 'replace');
        break;
      case 'remove':
        doc = remove(doc, raw.path);
        break;
      case 'copy':
        doc = write(doc, raw.path, structuredClone(read(doc, raw.from ?? '')), 'add');
        break;
      case 'move': {
        const v = read(doc, raw.from ?? '');
        doc = write(remove(doc, raw.from ?? ''), raw.path, v, 'add');
        break;
      }
      case 'test':
        if (JSON.stringify(read(doc, raw.path)) !== JSON.stringify(raw.value)) {
          throw statusErrors.invalid('patch', raw.path, 'json patch test operation failed');
        }
        break;
      default:
        throw statusErrors.badRequest(`json patch: unknown op ${JSON.stringify((raw as { op?: unknown }).op)}`);
    }
  }
  return doc;
}

export function applyPatch(target: unknown, contentType: string, body: unknown): unknown {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  switch (type) {
    case 'application/json-patch+json':
      return jsonPatch(target, body);
    case 'application/merge-patch+json':
    case 'application/strategic-merge-patch+json':
      return mergePatch(target, body);
    default:
      throw statusErrors.unsupportedMediaType(type);
  }
}
