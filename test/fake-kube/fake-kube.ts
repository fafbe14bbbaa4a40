/**
 * FakeKube: an in-process Kubernetes API server for core/v1 pods, configmaps, services and
 * persistentvolumeclaims, close enough to the real REST + watch protocol that the real
 * `@kubernetes/client-node` (CoreV1Api, Watch, makeInformer) runs against it unchanged.
 * Tests start it on port 0, point a KubeConfig at it, and use the knobs below to make the
 * cluster slow, flaky, forgetful (compaction) or slow to delete.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { FaultInjector, type ActiveFault, type FaultSpec } from './faults.js';
import { PodLogRegistry, type PodLogCut, type PodLogLine } from './pod-logs.js';
import { createRequestHandler, type RequestRecord } from './router.js';
import { matchesLabels, parseLabelSelector } from './selectors.js';
import { ObjectStore, type KubeObject, type ResourceName, type StoreEvent } from './store.js';
import { WatchRegistry, type OpenWatchInfo } from './watch.js';

export interface FakeKubeOptions {
  /** Events kept for watch replay; older resourceVersions get 410 Expired. */
  historyLimit?: number;
}

export class FakeKube {
  readonly requests: RequestRecord[] = [];
  private readonly store: ObjectStore;
  private readonly watches: WatchRegistry;
  private readonly faults = new FaultInjector();
  private readonly podLogs: PodLogRegistry;
  private latency = 0;
  private readonly waiters = new Set<() => void>();
  private server: Server | undefined;
  private baseUrl: string | undefined;

  constructor(options: FakeKubeOptions = {}) {
    this.store = new ObjectStore(options.historyLimit);
    this.watches = new WatchRegistry(this.store, () => this.notify());
    this.podLogs = new PodLogRegistry(this.store, () => this.notify());
    this.store.subscribe(() => this.notify());
  }

  async start(): Promise<this> {
    if (this.server) return this;
    const server = createServer(
      createRequestHandler({
        store: this.store,
        watches: this.watches,
        faults: this.faults,
        requests: this.requests,
        podLogs: this.podLogs,
        latencyMs: () => this.latency,
      }),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.watches.closeAll();
    this.podLogs.dispose();
    this.store.dispose();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('FakeKube not started: await fake.start() first');
    return this.baseUrl;
  }

  /** A KubeConfig for the real client: plain http, no auth (client-node requires skipTLSVerify for http). */
  kubeConfig(namespace = 'default'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake-kube', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake-user' }],
      contexts: [{ name: 'fake-kube', cluster: 'fake-kube', user: 'fake-user', namespace }],
      currentContext: 'fake-kube',
    });
    return kc;
  }

  // ---- knobs ----

  injectFault(spec: FaultSpec): ActiveFault {
    return this.faults.add(spec);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  get pendingFaults(): readonly ActiveFault[] {
    return this.faults.pending;
  }

  setLatencyMs(ms: number): void {
    this.latency = ms;
  }

  /** > 0: deletes first set metadata.deletionTimestamp (MODIFIED) and remove the object after `ms`. */
  setDeletionDelayMs(ms: number): void {
    this.store.deletionDelayMs = ms;
  }

  /** Drop all watch history: every resourceVersion handed out so far now gets 410 Expired. */
  compact(): void {
    this.store.compact();
  }

  /** Cut every open watch connection; returns how many there were. */
  dropWatches(): number {
    return this.watches.drop();
  }

  sendBookmarks(): void {
    this.watches.sendBookmarks();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** The watches open right now (resource, namespace, selectors as sent). */
  openWatchList(): OpenWatchInfo[] {
    return this.watches.list();
  }

  /** Open watches whose labelSelector contains `text` (e.g. a session id). */
  openWatchesMatching(text: string): number {
    return this.watches.list().filter((w) => w.labelSelector?.includes(text)).length;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  get resourceVersion(): string {
    return this.store.resourceVersion;
  }

  // ---- direct access, bypassing HTTP (no latency, no faults) ----

  create(resource: ResourceName, namespace: string, body: unknown): KubeObject {
    return this.store.create(resource, namespace, body);
  }

  get(resource: ResourceName, namespace: string, name: string): KubeObject | undefined {
    try {
      return this.store.get(resource, namespace, name);
    } catch {
      return undefined;
    }
  }

  list(resource: ResourceName, namespace?: string, labelSelector?: string): KubeObject[] {
    const reqs = parseLabelSelector(labelSelector);
    return this.store.list(resource, namespace).filter((o) => matchesLabels(reqs, o.metadata.labels));
  }

  mutate(resource: ResourceName, namespace: string, name: string, edit: (obj: KubeObject) => void): KubeObject {
    return this.store.mutate(resource, namespace, name, edit);
  }

  delete(resource: ResourceName, namespace: string, name: string): KubeObject {
    return this.store.delete(resource, namespace, name);
  }

  /**
   * Append to a pod's container log (lines; each gets a distinct, increasing runtime time
   * unless `time` is given). Open `follow` streams get them at once. The log goes with the pod.
   */
  appendPodLog(namespace: string, name: string, text: string, options: { time?: Date | string } = {}): PodLogLine[] {
    return this.podLogs.append(namespace, name, text, options);
  }

  podLog(namespace: string, name: string): readonly PodLogLine[] {
    return this.podLogs.lines(namespace, name);
  }

  /** Fault: cut open log follow streams now, or (`midLine`) after half of the next line; returns how many. */
  cutPodLogStreams(options: PodLogCut = {}): number {
    return this.podLogs.cut(options);
  }

  get openPodLogStreams(): number {
    return this.podLogs.openStreams;
  }

  setPodPhase(namespace: string, name: string, phase: string): KubeObject {
    return this.store.mutate('pods', namespace, name, (pod) => {
      pod.status = { ...pod.status, phase };
    });
  }

  /** Every store change, synchronously (for tests that await a condition instead of sleeping). */
  onEvent(listener: (event: StoreEvent) => void): () => void {
    return this.store.subscribe(listener);
  }

  /**
   * Resolve once `condition()` holds, re-checked after every store change and every watch
   * opening or closing; reject after `timeoutMs`.
   */
  waitFor(condition: () => boolean, options: { timeoutMs?: number; what?: string } = {}): Promise<void> {
    if (condition()) return Promise.resolve();
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`FakeKube.waitFor timed out after ${timeoutMs} ms${options.what ? `: ${options.what}` : ''}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }
}
