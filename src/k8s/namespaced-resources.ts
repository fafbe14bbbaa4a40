/**
 * The four kinds a session leaves behind (executor pods, their ConfigMaps, Services and PVCs),
 * behind one resource-generic interface so the collector and reaper loop over kinds instead of
 * repeating CoreV1Api calls. Every verb used here is listed in REQUIRED_RBAC (rbac.ts).
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { httpStatusOf, isConflict, isNotFound } from './kube-errors.js';
import type { KubeClient } from './kube-client.js';
import type { ActiveWatch, WatchEventType, WatchRequest } from './kube-watch.js';

export const GC_RESOURCES = ['pods', 'configmaps', 'services', 'persistentvolumeclaims'] as const;
export type GcResource = (typeof GC_RESOURCES)[number];

export interface ListResult {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
}

export type DeleteOutcome = 'deleted' | 'absent';

type Verbs = {
  list(namespace: string, labelSelector: string): Promise<{ items: unknown[]; metadata?: { resourceVersion?: string } }>;
  deleteCollection(namespace: string, labelSelector: string): Promise<unknown>;
  deleteOne(namespace: string, name: string, uid: string | undefined): Promise<unknown>;
};

/** Background propagation: dependents (ownerReferences) are removed by the garbage collector. */
const PROPAGATION = 'Background';

function deleteBody(uid: string | undefined) {
  return uid === undefined ? { propagationPolicy: PROPAGATION } : { propagationPolicy: PROPAGATION, preconditions: { uid } };
}

function verbsFor(core: CoreV1Api): Record<GcResource, Verbs> {
  return {
    pods: {
      list: (namespace, labelSelector) => core.listNamespacedPod({ namespace, labelSelector }),
      deleteCollection: (namespace, labelSelector) =>
        core.deleteCollectionNamespacedPod({ namespace, labelSelector, propagationPolicy: PROPAGATION }),
      deleteOne: (namespace, name, uid) => core.deleteNamespacedPod({ namespace, name, body: deleteBody(uid) }),
    },
    configmaps: {
      list: (namespace, labelSelector) => core.listNamespacedConfigMap({ namespace, labelSelector }),
      deleteCollection: (namespace, labelSelector) =>
        core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector, propagationPolicy: PROPAGATION }),
      deleteOne: (namespace, name, uid) => core.deleteNamespacedConfigMap({ namespace, name, body: deleteBody(uid) }),
    },
    services: {
      list: (namespace, labelSelector) => core.listNamespacedService({ namespace, labelSelector }),
      deleteCollection: (namespace, labelSelector) =>
        core.deleteCollectionNamespacedService({ namespace, labelSelector, propagationPolicy: PROPAGATION }),
      deleteOne: (namespace, name, uid) => core.deleteNamespacedService({ namespace, name, body: deleteBody(uid) }),
    },
    persistentvolumeclaims: {
      list: (namespace, labelSelector) => core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
      deleteCollection: (namespace, labelSelector) =>
        core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace, labelSelector, propagationPolicy: PROPAGATION }),
      deleteOne: (namespace, name, uid) =>
        core.deleteNamespacedPersistentVolumeClaim({ namespace, name, body: deleteBody(uid) }),
    },
  };
}

export class NamespacedResources {
  readonly namespace: string;
  private readonly verbs: Record<GcResource, Verbs>;

  constructor(private readonly client: KubeClient) {
    this.namespace = client.namespace;
    this.verbs = verbsFor(client.core);
  }

  collectionPath(resource: GcResource): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/${resource}`;
  }

  async list(resource: GcResource, labelSelector: string): Promise<ListResult> {
    const list = await this.verbs[resource].list(this.namespace, labelSelector);
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /**
   * deletecollection by selector. Clusters whose Service API predates deletecollection answer
   * 405: then the listed objects are deleted one by one (same selector, same RBAC `delete`).
   */
  async deleteCollection(resource: GcResource, labelSelector: string): Promise<void> {
    try {
      await this.verbs[resource].deleteCollection(this.namespace, labelSelector);
    } catch (err) {
      if (httpStatusOf(err) !== 405) throw err;
      const { items } = await this.list(resource, labelSelector);
      for (const item of items) {
        const meta = (item as { metadata?: { name?: string; uid?: string } }).metadata;
        if (meta?.name) await this.deleteOne(resource, meta.name, meta.uid);
      }
    }
  }

  /** Delete one object; with `uid`, only that incarnation (a recreated namesake is left alone). */
  async deleteOne(resource: GcResource, name: string, uid: string | undefined): Promise<DeleteOutcome> {
    try {
      await this.verbs[resource].deleteOne(this.namespace, name, uid);
      return 'deleted';
    } catch (err) {
      // 404: already gone; 409 with a uid precondition: the name now belongs to another object.
      if (isNotFound(err) || (uid !== undefined && isConflict(err))) return 'absent';
      throw err;
    }
  }

  watch(
    resource: GcResource,
    request: Omit<WatchRequest, 'path'>,
    onEvent: (type: WatchEventType, object: unknown) => void,
  ): ActiveWatch {
    return this.client.watch({ ...request, path: this.collectionPath(resource) }, onEvent);
  }
}
