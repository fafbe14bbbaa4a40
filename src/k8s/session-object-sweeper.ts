/**
 * The reaper's sweeps (GC layer 2, ARCHITECTURE.md): ConfigMaps, Services and PVCs left by
 * sessions that are not live in this gateway.
 *
 * - `sweepNamespaces` (at reaper start, so a gateway restarted after SIGKILL cleans up): in every
 *   watched namespace, objects labelled with a session AND this gateway pod; in the gateway's own
 *   namespace also what Spark labelled only with a sparkgate app id (`spark-app-selector`, the
 *   executor ConfigMap, on-demand PVCs) when it is owned by this gateway pod (Spark makes the
 *   driver pod their controller owner). Candidates wait out the grace period, liveness is checked
 *   again, then each is deleted with a uid precondition.
 * - `sweepSession` (after the reaper deleted a dead session's executor pod in a team namespace):
 *   there Spark sets no ownerReference (no driver pod in that namespace, spark-conf.ts), so the
 *   app-id objects of a session count as this gateway's only because that session's pods carried
 *   this gateway's label. A gateway killed while a team session had no executor pod left cannot
 *   tell its executor ConfigMap from another gateway's: that small object stays until an
 *   operator removes it (`kubectl delete configmap -l spark-role=executor,spark-app-selector=<id>`).
 */
import { LABEL_SESSION, SPARK_LABEL_APP_ID } from '../labels.js';
import { sessionIdOfAppId, sparkAppId } from '../spark/session-naming.js';
import { sleep, type Clock } from './clock.js';
import type { KubeClient } from './kube-client.js';
import { kubeObjectRefSchema, type KubeObjectRef } from './kube-schemas.js';
import {
  formatLabelSelector,
  gatewayObjectsSelector,
  matchesSelector,
  sessionSelector,
  sparkAppObjectsSelector,
  sparkAppSelector,
  type LabelSelector,
} from './label-selector.js';
import { NamespacedResources, type GcResource } from './namespaced-resources.js';

export const SWEPT_RESOURCES: readonly GcResource[] = ['configmaps', 'services', 'persistentvolumeclaims'];

export interface SweptObject {
  readonly resource: GcResource;
  readonly name: string;
  readonly sessionId: string;
  readonly namespace: string;
}

export interface SessionObjectSweeperOptions {
  readonly client: KubeClient;
  readonly isLive: (sessionId: string) => boolean;
  readonly graceMs: number;
  readonly clock: Clock;
  /** Retry one API call (429/5xx/cut connections) until its deadline. */
  readonly retry: <T>(what: string, op: () => Promise<T>, signal: AbortSignal) => Promise<T>;
  readonly onSwept: (object: SweptObject) => void;
  readonly onFailure: (what: string, error: unknown) => void;
}

interface Candidate {
  readonly resources: NamespacedResources;
  readonly resource: GcResource;
  readonly ref: KubeObjectRef;
  readonly sessionId: string;
}

export class SessionObjectSweeper {
  private readonly gatewayPod: string;

  constructor(private readonly options: SessionObjectSweeperOptions) {
    this.gatewayPod = options.client.gatewayPod.name;
  }

  /** Sweep every namespace after the grace period; returns how many objects were deleted. */
  async sweepNamespaces(namespaces: readonly string[], signal: AbortSignal): Promise<number> {
    const candidates: Candidate[] = [];
    for (const namespace of namespaces) {
      const resources = this.resourcesIn(namespace);
      const selectors: [LabelSelector, (ref: KubeObjectRef) => string | undefined][] = [
        [gatewayObjectsSelector(this.gatewayPod), (ref) => ref.metadata.labels[LABEL_SESSION]],
      ];
      if (namespace === this.options.client.namespace) selectors.push([sparkAppObjectsSelector(), (ref) => this.sessionOfOwnedSparkObject(ref)]);
      try {
        for (const resource of SWEPT_RESOURCES) {
          for (const [selector, sessionOf] of selectors) {
            for (const ref of await this.list(resources, resource, selector, signal)) {
              const sessionId = sessionOf(ref);
              if (!sessionId || candidates.some((c) => c.ref.metadata.uid === ref.metadata.uid)) continue;
              if (!this.options.isLive(sessionId)) candidates.push({ resources, resource, ref, sessionId });
            }
          }
        }
      } catch (error) {
        if (!signal.aborted) this.options.onFailure(`sweep session objects in namespace ${namespace}`, error);
      }
    }
    if (candidates.length === 0) return 0;
    if (!(await sleep(this.options.clock, this.options.graceMs, signal))) return 0;
    return this.deleteAll(candidates, signal);
  }

  /** A dead session's objects in one namespace (its pods were this gateway's): no grace period. */
  async sweepSession(namespace: string, sessionId: string, signal: AbortSignal): Promise<number> {
    const resources = this.resourcesIn(namespace);
    const candidates: Candidate[] = [];
    try {
      for (const resource of SWEPT_RESOURCES) {
        for (const selector of [sessionSelector({ gatewayPod: this.gatewayPod, sessionId }), sparkAppSelector(sparkAppId(sessionId))]) {
          for (const ref of await this.list(resources, resource, selector, signal)) {
            if (!candidates.some((c) => c.ref.metadata.uid === ref.metadata.uid)) candidates.push({ resources, resource, ref, sessionId });
          }
        }
      }
    } catch (error) {
      if (!signal.aborted) this.options.onFailure(`sweep objects of session ${sessionId} in namespace ${namespace}`, error);
      return 0;
    }
    return this.deleteAll(candidates, signal);
  }

  private resourcesIn(namespace: string): NamespacedResources {
    return new NamespacedResources({ ...this.options.client, namespace });
  }

  /** Objects matching the selector (checked locally too) that are not being deleted already. */
  private async list(resources: NamespacedResources, resource: GcResource, selector: LabelSelector, signal: AbortSignal): Promise<KubeObjectRef[]> {
    const selectorText = formatLabelSelector(selector);
    const { items } = await this.options.retry(`list ${resource} in namespace ${resources.namespace}`, () => resources.list(resource, selectorText), signal);
    return items.flatMap((raw) => {
      const ref = kubeObjectRefSchema.safeParse(raw).data;
      return ref && matchesSelector(selector, ref.metadata.labels) && ref.metadata.deletionTimestamp === undefined ? [ref] : [];
    });
  }

  private async deleteAll(candidates: readonly Candidate[], signal: AbortSignal): Promise<number> {
    let deleted = 0;
    for (const { resources, resource, ref, sessionId } of candidates) {
      if (signal.aborted) break;
      if (this.options.isLive(sessionId)) continue;
      try {
        const outcome = await this.options.retry(
          `delete ${resource}/${ref.metadata.name} in namespace ${resources.namespace}`,
          () => resources.deleteOne(resource, ref.metadata.name, ref.metadata.uid),
          signal,
        );
        if (outcome !== 'deleted') continue;
        deleted += 1;
        this.options.onSwept({ resource, name: ref.metadata.name, sessionId, namespace: resources.namespace });
      } catch (error) {
        if (!signal.aborted) this.options.onFailure(`delete ${resource}/${ref.metadata.name} in namespace ${resources.namespace}`, error);
      }
    }
    return deleted;
  }

  /**
   * The session of an object Spark labelled only with its app id: a sparkgate app id
   * (`sparkgate-<session id>`) AND owned by this gateway pod, so another gateway's or another
   * tool's objects are never hit.
   */
  private sessionOfOwnedSparkObject(ref: KubeObjectRef): string | undefined {
    const sessionId = sessionIdOfAppId(ref.metadata.labels[SPARK_LABEL_APP_ID] ?? '');
    if (!sessionId) return undefined;
    const podUid = this.options.client.gatewayPod.uid;
    const owned = ref.metadata.ownerReferences.some(
      (o) => o.kind === 'Pod' && o.name === this.gatewayPod && (podUid === undefined || o.uid === undefined || o.uid === podUid),
    );
    return owned ? sessionId : undefined;
  }
}
