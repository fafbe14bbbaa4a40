/**
 * Label selectors, built from data and rendered in one place (never concatenated at call
 * sites). The shape mirrors Kubernetes' own `LabelSelector` (matchLabels + matchExpressions);
 * the string form is the one list/watch/deletecollection take
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors).
 */
import { LABEL_GATEWAY, LABEL_MANAGED_BY, LABEL_SESSION, MANAGED_BY_VALUE, SPARK_LABEL_APP_ID } from '../labels.js';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly SelectorRequirement[];
}

export class LabelSelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelSelectorError';
  }
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A label value: empty, or at most 63 chars of [A-Za-z0-9-_.] starting and ending alphanumeric. */
export function isValidLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && NAME.test(value));
}

export function isValidLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (slash !== -1) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !PREFIX.test(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && NAME.test(name);
}

function checkKey(key: string): string {
  if (!isValidLabelKey(key)) throw new LabelSelectorError(`invalid label key ${JSON.stringify(key)}`);
  return key;
}

function checkValue(key: string, value: string): string {
  if (!isValidLabelValue(value)) {
    throw new LabelSelectorError(
      `invalid value ${JSON.stringify(value)} for label ${key}: at most 63 characters, alphanumeric, '-', '_' or '.', starting and ending alphanumeric`,
    );
  }
  return value;
}

/** Render a selector; keys sorted so equal selectors give equal strings. Validates every part. */
export function formatLabelSelector(selector: LabelSelector): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    parts.push(`${checkKey(key)}=${checkValue(key, value)}`);
  }
  for (const req of selector.matchExpressions ?? []) {
    const key = checkKey(req.key);
    switch (req.operator) {
      case 'Exists':
        parts.push(key);
        break;
      case 'DoesNotExist':
        parts.push(`!${key}`);
        break;
      case 'In':
      case 'NotIn': {
        const values = req.values ?? [];
        if (values.length === 0) throw new LabelSelectorError(`operator ${req.operator} on ${key} needs at least one value`);
        const list = values.map((v) => checkValue(key, v)).join(',');
        parts.push(`${key} ${req.operator === 'In' ? 'in' : 'notin'} (${list})`);
        break;
      }
      default: {
        const never: never = req.operator;
        throw new LabelSelectorError(`unknown operator ${String(never)}`);
      }
    }
  }
  return parts.join(',');
}

/** The same selector evaluated locally: a last check before deleting anything. */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (l[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((req) => {
    const has = Object.hasOwn(l, req.key);
    switch (req.operator) {
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'In':
        return has && (req.values ?? []).includes(l[req.key] ?? '');
      case 'NotIn':
        return !has || !(req.values ?? []).includes(l[req.key] ?? '');
      default: {
        const never: never = req.operator;
        return never;
      }
    }
  });
}

/** Everything one session owns in the namespace: its id AND this gateway pod (both required). */
export function sessionSelector(ids: { gatewayPod: string; sessionId: string }): LabelSelector {
  return { matchLabels: { [LABEL_GATEWAY]: ids.gatewayPod, [LABEL_SESSION]: ids.sessionId } };
}

/**
 * What Spark labels only with its application id (`spark-app-selector`, e.g. the executor
 * ConfigMap and on-demand PVCs): the session's app id, `sparkAppId(sessionId)`.
 */
export function sparkAppSelector(appId: string): LabelSelector {
  checkValue(SPARK_LABEL_APP_ID, appId);
  return { matchLabels: { [SPARK_LABEL_APP_ID]: appId } };
}

/** Every object Spark labelled with some application id (filtered further by app id and owner). */
export function sparkAppObjectsSelector(): LabelSelector {
  return { matchExpressions: [{ key: SPARK_LABEL_APP_ID, operator: 'Exists' }] };
}

/** This gateway's executor pods: managed by sparkgate, labelled with this pod and some session. */
export function gatewayPodsSelector(gatewayPod: string): LabelSelector {
  return {
    matchLabels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_GATEWAY]: gatewayPod },
    matchExpressions: [{ key: LABEL_SESSION, operator: 'Exists' }],
  };
}

/** This gateway's other session objects (ConfigMaps, Services, PVCs): gateway + some session. */
export function gatewayObjectsSelector(gatewayPod: string): LabelSelector {
  return {
    matchLabels: { [LABEL_GATEWAY]: gatewayPod },
    matchExpressions: [{ key: LABEL_SESSION, operator: 'Exists' }],
  };
}

/** The labels executors must carry (rendered into `spark.kubernetes.executor.label.*`). */
export function executorLabels(ids: { gatewayPod: string; sessionId: string }): Readonly<Record<string, string>> {
  checkValue(LABEL_GATEWAY, ids.gatewayPod);
  checkValue(LABEL_SESSION, ids.sessionId);
  return {
    [LABEL_SESSION]: ids.sessionId,
    [LABEL_GATEWAY]: ids.gatewayPod,
    [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
  };
}
