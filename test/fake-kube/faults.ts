/** Fault injection: answer the next N matching requests with an error status or a cut connection. */

export type KubeVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface FaultSpec {
  /** Kubernetes verb (RBAC vocabulary); any verb when omitted. */
  verb?: KubeVerb;
  /** Plural resource name, e.g. "pods"; any when omitted. */
  resource?: string;
  namespace?: string;
  /** HTTP status of the injected Status response, e.g. 500, 503, 429. */
  status: number;
  /** Sent as the Retry-After header (and Status details.retryAfterSeconds). */
  retryAfterSeconds?: number;
  /** How many matching requests fail (default 1; Infinity until cleared). */
  times?: number;
  message?: string;
  /** Destroy the connection without any response instead of answering `status`. */
  reset?: boolean;
  /**
   * Watches only: answer 200 and send the Status as an `ERROR` event, then end the stream
   * (how a real apiserver reports 410 Expired and other errors once a watch has started).
   */
  inStream?: boolean;
}

export interface ActiveFault extends FaultSpec {
  remaining: number;
  hits: number;
}

export class FaultInjector {
  private readonly faults: ActiveFault[] = [];

  add(spec: FaultSpec): ActiveFault {
    const fault: ActiveFault = { ...spec, remaining: spec.times ?? 1, hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  clear(): void {
    this.faults.length = 0;
  }

  get pending(): readonly ActiveFault[] {
    return this.faults.filter((f) => f.remaining > 0);
  }

  /** The first live fault matching this request, consuming one of its `times`. */
  take(verb: KubeVerb | undefined, resource: string | undefined, namespace: string | undefined): ActiveFault | undefined {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.verb === undefined || f.verb === verb) &&
        (f.resource === undefined || f.resource === resource) &&
        (f.namespace === undefined || f.namespace === namespace),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    fault.hits += 1;
    return fault;
  }
}
