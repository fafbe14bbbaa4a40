/**
 * Usage metering's view of executor pods: one list+watch informer (resource-informer.ts) per
 * namespace the gateway's sessions run executors in (its own and the team namespaces), on this
 * gateway's executor pods (`app.kubernetes.io/managed-by=sparkgate,sparkgate.io/gateway=<pod>,
 * sparkgate.io/session,spark-role=executor`), turning every add/update/delete into a
 * `PodSample` stamped with the moment it arrived.
 *
 * Why not the reaper's informer: that one watches a single namespace and keeps only what GC
 * needs (its schema drops container times and resource requests). The verbs are the same
 * (list, watch pods), so REQUIRED_RBAC does not change; a team namespace the gateway may not
 * list is reported as a failure and retried with backoff, like any informer error.
 *
 * Pods that vanish while the watch is down are noticed at the next relist (the informer emits
 * `delete` for them): their end is then the relist's moment, late by the outage.
 */
import { EventEmitter } from 'node:events';
import { SPARK_LABEL_ROLE, SPARK_ROLE_EXECUTOR } from '../labels.js';
import type { PodSample } from '../usage/pod-timeline.js';
import type { PodLifetimeFeed } from '../usage/pod-lifetime-feed.js';
import type { BackoffOptions } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import { parseUsagePod, toPodSample, type UsagePod } from './executor-pod-usage.js';
import type { KubeClient } from './kube-client.js';
import { formatLabelSelector, gatewayPodsSelector } from './label-selector.js';
import { ResourceInformer } from './resource-informer.js';

export interface ExecutorUsageFeedOptions {
  readonly client: KubeClient;
  /** Namespaces to watch (duplicates ignored); default: the client's namespace. */
  readonly namespaces?: readonly string[];
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly watchTimeoutSeconds?: number;
}

interface FeedEvents {
  sample: [PodSample];
  /** A list or watch failed in one namespace (retried). */
  failure: [info: { namespace: string; error: unknown }];
}

export class ExecutorUsageFeed extends EventEmitter<FeedEvents> implements PodLifetimeFeed {
  readonly namespaces: readonly string[];
  private readonly clock: Clock;
  private readonly informers: ResourceInformer<UsagePod>[];
  private started = false;

  constructor(options: ExecutorUsageFeedOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.namespaces = [...new Set(options.namespaces?.length ? options.namespaces : [options.client.namespace])];
    const base = gatewayPodsSelector(options.client.gatewayPod.name);
    const selector = formatLabelSelector({ ...base, matchLabels: { ...base.matchLabels, [SPARK_LABEL_ROLE]: SPARK_ROLE_EXECUTOR } });
    const { client } = options;
    this.informers = this.namespaces.map((namespace) => {
      const informer = new ResourceInformer<UsagePod>({
        source: {
          list: async () => {
            const list = await client.core.listNamespacedPod({ namespace, labelSelector: selector });
            return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
          },
          watch: (request, onEvent) =>
            client.watch({ ...request, path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, labelSelector: selector }, onEvent),
        },
        parse: parseUsagePod,
        key: (pod) => pod.metadata.uid,
        version: (pod) => pod.metadata.resourceVersion,
        clock: this.clock,
        ...(options.backoff ? { backoff: options.backoff } : {}),
        ...(options.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
      });
      const emit = (pod: UsagePod, kind: PodSample['kind']) => {
        const sample = toPodSample(pod, kind, this.clock.now());
        this.emit('sample', sample.namespace ? sample : { ...sample, namespace });
      };
      informer.on('add', (pod) => emit(pod, 'seen'));
      informer.on('update', (pod) => emit(pod, 'seen'));
      informer.on('delete', (pod) => emit(pod, 'gone'));
      informer.on('failure', ({ error }) => this.emit('failure', { namespace, error }));
      return informer;
    });
  }

  subscribe(listener: (sample: PodSample) => void): () => void {
    this.on('sample', listener);
    return () => this.off('sample', listener);
  }

  get hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced);
  }

  whenSynced(): Promise<void> {
    return Promise.all(this.informers.map((i) => i.whenSynced())).then(() => undefined);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const informer of this.informers) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
