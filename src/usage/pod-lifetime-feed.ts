/**
 * Where executor pod observations come from: in Kubernetes mode the watch
 * (src/k8s/executor-usage-feed.ts); local mode has none (Spark's local[*] runs no executor pods,
 * so executor figures stay 0 there). Tests hand in their own.
 */
import type { PodSample } from './pod-timeline.js';

export interface PodLifetimeFeed {
  /** Begin listing and watching; samples flow to subscribers from then on. */
  start(): void | Promise<void>;
  stop(): Promise<void>;
  subscribe(listener: (sample: PodSample) => void): () => void;
  /** Resolves once every watched namespace has been listed. */
  whenSynced?(): Promise<void>;
}
