/**
 * Label and field selectors as the apiserver parses them
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors,
 * apimachinery `labels.Parse`, `fields.ParseSelector`). Parse errors surface as 400 BadRequest.
 */
import { statusErrors } from './status.js';

export type LabelRequirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: readonly string[] }
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'gt' | 'lt'; value: number };

export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

const NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !PREFIX.test(prefix))) return false;
  return name.length > 0 && name.length <= 63 && NAME.test(name);
}

function validValue(value: string): boolean {
  return value === '' || (value.length <= 63 && NAME.test(value));
}

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }

  peek(token: string): boolean {
    this.skipSpace();
    return this.text.startsWith(token, this.pos);
  }

  eat(token: string): boolean {
    if (!this.peek(token)) return false;
    this.pos += token.length;
    return true;
  }

  /** A key or value: everything up to a delimiter. */
  word(): string {
    this.skipSpace();
    const start = this.pos;
    while (this.pos < this.text.length && !/[\s,()=!<>]/.test(this.text[this.pos] ?? '')) this.pos++;
    return this.text.slice(start, this.pos);
  }

  fail(why: string): never {
    throw statusErrors.badRequest(`unable to parse requirement: ${why} in selector ${JSON.stringify(this.text)}`);
  }
}

function parseSet(s: Scanner): string[] {
  if (!s.eat('(')) s.fail('expected "("');
  const values: string[] = [];
  for (;;) {
    const v = s.word();
    if (!validValue(v)) s.fail(`invalid label value ${JSON.stringify(v)}`);
    values.push(v);
    if (s.eat(',')) continue;
    if (s.eat(')')) return values;
    s.fail('expected "," or ")"');
  }
}

function parseRequirement(s: Scanner): LabelRequirement {
  if (s.eat('!')) {
    const key = s.word();
    if (!validKey(key)) s.fail(`invalid label key ${JSON.stringify(key)}`);
    return { key, op: 'notexists' };
  }
  const key = s.word();
  if (!validKey(key)) s.fail(`invalid label key ${JSON.stringify(key)}`);
  if (s.atEnd() || s.peek(',')) return { key, op: 'exists' };
  if (s.eat('!=')) return { key, op: 'neq', value: value(s) };
  if (s.eat('==') || s.eat('=')) return { key, op: 'eq', value: value(s) };
  if (s.eat('>') || s.eat('<')) {
    const op = s.text[s.pos - 1] === '>' ? 'gt' : 'lt';
    const raw = s.word();
    const n = Number(raw);
    if (raw === '' || !Number.isInteger(n)) s.fail(`invalid integer ${JSON.stringify(raw)}`);
    return { key, op, value: n };
  }
  const word = s.word();
  if (word === 'in') return { key, op: 'in', values: parseSet(s) };
  if (word === 'notin') return { key, op: 'notin', values: parseSet(s) };
  return s.fail(`unexpected ${JSON.stringify(word)} after key ${JSON.stringify(key)}`);
}

function value(s: Scanner): string {
  const v = s.word();
  if (!validValue(v)) s.fail(`invalid label value ${JSON.stringify(v)}`);
  return v;
}

/** Comma-separated requirements, all of which must hold (comma = AND; commas inside sets excepted). */
export function parseLabelSelector(text: string | undefined): LabelRequirement[] {
  if (text === undefined) return [];
  const s = new Scanner(text);
  const out: LabelRequirement[] = [];
  if (s.atEnd()) return out;
  for (;;) {
    out.push(parseRequirement(s));
    if (s.atEnd()) return out;
    if (!s.eat(',')) s.fail('expected ","');
  }
}

export function matchesLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'eq':
        return has && v === r.value;
      case 'neq':
        return !has || v !== r.value;
      case 'in':
        return has && r.values.includes(v ?? '');
      case 'notin':
        return !has || !r.values.includes(v ?? '');
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'gt':
      case 'lt': {
        const n = Number(v);
        if (!has || !Number.isInteger(n)) return false;
        return r.op === 'gt' ? n > r.value : n < r.value;
      }
      default: {
        const never: never = r;
        return never;
      }
    }
  });
}

/** Fields the apiserver accepts in fieldSelector, per resource (pods register extra ones). */
const FIELDS_COMMON = ['metadata.name', 'metadata.namespace'];
const FIELDS_BY_RESOURCE: Readonly<Record<string, readonly string[]>> = {
  pods: [
    ...FIELDS_COMMON,
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
};

export function parseFieldSelector(text: string | undefined, resource: string): FieldRequirement[] {
  if (text === undefined || text.trim() === '') return [];
  const allowed = FIELDS_BY_RESOURCE[resource] ?? FIELDS_COMMON;
  return text.split(',').map((part) => {
    const m = /^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw statusErrors.badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const [, field = '', op, value = ''] = m;
    if (!allowed.includes(field)) {
      throw statusErrors.badRequest(`field label not supported: ${field}`);
    }
    return { field, op: op === '!=' ? 'neq' : 'eq', value };
  });
}

function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  return typeof cur === 'string' ? cur : cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === 'eq'));
}
