/**
 * Recognise a ResourceQuota refusing Spark's executor pods in the driver's log, and say so in one
 * line a notebook user can act on. Pure: text in, text out.
 *
 * When a namespace's ResourceQuota refuses a pod, the API server answers 403 with the quota
 * admission plugin's message (k8s.io/apiserver .../admission/plugin/resourcequota/controller.go):
 *
 *   pods "sg-0b6a1f8e-exec-1" is forbidden: exceeded quota: team-quota, requested: pods=1, used: pods=4, limited: pods=4
 *   pods "sg-0b6a1f8e-exec-1" is forbidden: failed quota: team-quota: must specify limits.cpu for: spark-kubernetes-executor
 *
 * (resource lists are `name=quantity` pairs joined by ","). Spark's fabric8 client wraps it in a
 * KubernetesClientException ("Failure executing: POST at: https://.../api/v1/namespaces/<ns>/pods.
 * Message: <that message>. Received status: Status(...)"), and Spark 4's ExecutorPodsAllocator
 * logs it with "Failed to create executor pod <n>." and tries again at the next allocation round
 * (every spark.kubernetes.allocation.batch.delay, 1 s), so the line repeats while the quota holds.
 */

export interface QuotaRefusal {
  /** The kind of object refused: "pods" (executors) or "persistentvolumeclaims" (their volumes). */
  readonly resource: string;
  /** The ResourceQuota's name. */
  readonly quota: string;
  /** The namespace, when the line names it (the POST URL of fabric8's message). */
  readonly namespace: string | undefined;
  /** The API server's reason, from "exceeded quota:" / "failed quota:" to the end of the message. */
  readonly reason: string;
}

const FORBIDDEN = /([a-z]+) "[^"]*" is forbidden: /;
/** `name=quantity` pairs joined by ",": resource names carry dots and slashes, quantities dots. */
const LIST = String.raw`[\w./-]+=[\w.+-]+(?:,[\w./-]+=[\w.+-]+)*`;
const EXCEEDED = new RegExp(String.raw`exceeded quota: ([\w.-]+), requested: (${LIST}), used: (${LIST}), limited: (${LIST})`);
const MUST_SPECIFY = /failed quota: ([\w.-]+): must specify ([\w.,/-]+)/;
const NAMESPACE_IN_URL = /\/api\/v1\/namespaces\/([a-z0-9-]+)\//;
const MAX_LINE = 16_384;

/** A quantity list as the API server printed it; a sentence's final "." is not part of it. */
const trimList = (list: string): string => list.replace(/\.+$/, '');

/** The refusal in one log line, or undefined when the line is no quota refusal. */
export function matchQuotaRefusal(line: string): QuotaRefusal | undefined {
  if (line.length > MAX_LINE || !line.includes(' quota: ')) return undefined;
  const forbidden = FORBIDDEN.exec(line);
  if (!forbidden) return undefined;
  const rest = line.slice(forbidden.index + forbidden[0].length);
  const namespace = NAMESPACE_IN_URL.exec(line)?.[1];
  const exceeded = EXCEEDED.exec(rest);
  if (exceeded?.index === 0) {
    const [, quota, requested, used, limited] = exceeded as unknown as [string, string, string, string, string];
    return {
      resource: forbidden[1]!,
      quota,
      namespace,
      reason: `exceeded quota: ${quota}, requested: ${trimList(requested)}, used: ${trimList(used)}, limited: ${trimList(limited)}`,
    };
  }
  const missing = MUST_SPECIFY.exec(rest);
  if (missing?.index === 0) {
    const [, quota, what] = missing as unknown as [string, string, string];
    return { resource: forbidden[1]!, quota, namespace, reason: `failed quota: ${quota}: must specify ${trimList(what)}` };
  }
  return undefined;
}

/**
 * The line the notebook shows, e.g. `Spark cannot start executors: namespace spark-analytics's
 * ResourceQuota "team-quota" refuses them (exceeded quota: team-quota, requested: pods=1, used:
 * pods=4, limited: pods=4)`. `namespace`: the session's executor namespace, for lines that do not
 * name it.
 */
export function quotaNoticeText(refusal: QuotaRefusal, namespace: string): string {
  const ns = refusal.namespace ?? namespace;
  const what = refusal.resource === 'pods' ? 'them' : `their ${refusal.resource}`;
  return `Spark cannot start executors: namespace ${ns}'s ResourceQuota "${refusal.quota}" refuses ${what} (${refusal.reason})`;
}

/**
 * Feeds a stream's text (chunks may split lines) and reports each complete line that is a quota
 * refusal. A line longer than `maxLineLength` without a newline is dropped, not buffered forever.
 */
export class QuotaRefusalScanner {
  private partial = '';

  constructor(private readonly onRefusal: (refusal: QuotaRefusal) => void, private readonly maxLineLength = MAX_LINE) {}

  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > this.maxLineLength) this.partial = '';
    for (const line of lines) {
      const refusal = matchQuotaRefusal(line);
      if (refusal) this.onRefusal(refusal);
    }
  }
}
