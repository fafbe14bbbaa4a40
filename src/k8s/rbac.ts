/**
 * Every Kubernetes API call the gateway pod makes, by resource and verb: the gateway's own
 * code (src/k8s/) and Spark's Kubernetes backend running as the client-mode driver inside the
 * gateway pod (it creates and deletes executor pods, their ConfigMaps, on-demand PVCs and
 * Services, and reads its own driver pod to set ownerReferences).
 *
 * The manifests' Role must grant exactly this (a test checks it). Adding a call in src/k8s/
 * means adding its verb here, and the Role follows.
 */
export interface RbacRule {
  readonly apiGroup: string;
  readonly resource: string;
  readonly verbs: readonly string[];
}

export const REQUIRED_RBAC: readonly RbacRule[] = [
  { apiGroup: '', resource: 'pods', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'watch'] },
  // Executor logs (executor-log-archiver.ts reads GET pods/{name}/log).
  { apiGroup: '', resource: 'pods/log', verbs: ['get'] },
  { apiGroup: '', resource: 'configmaps', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'watch'] },
  { apiGroup: '', resource: 'services', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'watch'] },
  {
    apiGroup: '',
    resource: 'persistentvolumeclaims',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'watch'],
  },
];
