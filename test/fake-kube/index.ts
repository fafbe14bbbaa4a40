export { FakeKube, type FakeKubeOptions } from './fake-kube.js';
export type { FaultSpec, ActiveFault, KubeVerb } from './faults.js';
export type { RequestRecord } from './router.js';
export type { KubeObject, ObjectMeta, ResourceName, StoreEvent } from './store.js';
export type { KubeStatus } from './status.js';
export { parseLabelSelector, matchesLabels, parseFieldSelector } from './selectors.js';
export type { OpenWatchInfo } from './watch.js';
export type { PodLogCut, PodLogLine } from './pod-logs.js';
