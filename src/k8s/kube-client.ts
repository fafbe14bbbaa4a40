/**
 * The one place a Kubernetes client is built. Inputs are plain values (the caller parsed the
 * settings and read the downward-API env); nothing here reads `process.env` or a file at import
 * time. Credentials, in order: an injected KubeConfig (tests), a kubeconfig file
 * (`spark.kubeconfig`), or in-cluster (service account token + CA under
 * /var/run/secrets/kubernetes.io/serviceaccount, API address from KUBERNETES_SERVICE_HOST/PORT:
 * https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/).
 * Every validation error names the setting, its env var and a valid example.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../config.js';
import { describeKubeError } from './kube-errors.js';
import { createWatchFn, type WatchFn } from './kube-watch.js';
import { isValidLabelValue } from './label-selector.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeSettings {
  /** `spark.namespace` (SPARKGATE_SPARK_NAMESPACE, downward API metadata.namespace). */
  readonly namespace?: string | undefined;
  /** `spark.podName` (SPARKGATE_SPARK_POD_NAME, downward API metadata.name): labels executors. */
  readonly podName?: string | undefined;
  /** `spark.podUid` (SPARKGATE_SPARK_POD_UID, downward API metadata.uid): executors' ownerReference. */
  readonly podUid?: string | undefined;
  /** `spark.kubeconfig` (SPARKGATE_SPARK_KUBECONFIG): use this file instead of in-cluster credentials. */
  readonly kubeconfigPath?: string | undefined;
  /** `spark.kubeContext` (SPARKGATE_SPARK_KUBE_CONTEXT): context in that file (default: its current-context). */
  readonly kubeContext?: string | undefined;
  /** Value of KUBERNETES_SERVICE_HOST (set by the kubelet in every pod). */
  readonly serviceHost?: string | undefined;
  /** Value of KUBERNETES_SERVICE_PORT (default 443). */
  readonly servicePort?: string | undefined;
  /** Where the service account token and CA live (tests point it elsewhere). */
  readonly serviceAccountDir?: string | undefined;
}

export interface KubeClientOptions extends KubeSettings {
  /** Use this configuration as is (tests: FakeKube's `kubeConfig()`); skips file and in-cluster loading. */
  readonly kubeConfig?: KubeConfig;
}

export type KubeCredentialSource = 'injected' | 'kubeconfig' | 'in-cluster';

export interface KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly watch: WatchFn;
  readonly namespace: string;
  readonly gatewayPod: { readonly name: string; readonly uid: string | undefined };
  readonly source: KubeCredentialSource;
  /** The API server URL (for logs; never the credentials). */
  readonly server: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function settingError(setting: string, env: string, problem: string, example: string): ConfigError {
  return new ConfigError(`${setting} ${problem}: set ${env}, e.g. ${env}=${example}`);
}

function validateIdentity(options: KubeSettings): { namespace: string; podName: string; podUid: string | undefined } {
  const namespace = options.namespace?.trim() ?? '';
  if (namespace === '') {
    throw new ConfigError(
      'spark.namespace is required in kubernetes mode: set SPARKGATE_SPARK_NAMESPACE (downward API metadata.namespace), e.g. SPARKGATE_SPARK_NAMESPACE=spark-jobs',
    );
  }
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw settingError('spark.namespace', 'SPARKGATE_SPARK_NAMESPACE', `${JSON.stringify(namespace)} is not a valid namespace name (lower-case RFC 1123 label)`, 'spark-jobs');
  }
  const podName = options.podName?.trim() ?? '';
  if (podName === '') {
    throw new ConfigError(
      'spark.podName is required in kubernetes mode: set SPARKGATE_SPARK_POD_NAME (downward API metadata.name), e.g. SPARKGATE_SPARK_POD_NAME=sparkgate-0',
    );
  }
  if (!isValidLabelValue(podName)) {
    throw settingError(
      'spark.podName',
      'SPARKGATE_SPARK_POD_NAME',
      `${JSON.stringify(podName)} cannot be a label value (at most 63 characters; executors are labelled with it)`,
      'sparkgate-0',
    );
  }
  const podUid = options.podUid?.trim() || undefined;
  if (podUid !== undefined && !UID.test(podUid)) {
    throw settingError('spark.podUid', 'SPARKGATE_SPARK_POD_UID', `${JSON.stringify(podUid)} is not a UID (downward API metadata.uid)`, '1b4e28ba-2fa1-11d2-883f-0016d3cca427');
  }
  return { namespace, podName, podUid };
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function loadKubeconfig(file: string, context: string | undefined): KubeConfig {
  if (!existsSync(file) || !readable(file)) {
    throw settingError('spark.kubeconfig', 'SPARKGATE_SPARK_KUBECONFIG', `points at ${JSON.stringify(file)}, which is not a readable file`, '$HOME/.kube/config');
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new ConfigError(`spark.kubeconfig ${JSON.stringify(file)} is not a valid kubeconfig: ${(err as Error).message.split('\n')[0]}`);
  }
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || '(none)';
      throw settingError('spark.kubeContext', 'SPARKGATE_SPARK_KUBE_CONTEXT', `names context ${JSON.stringify(context)}, which ${file} does not define (it has: ${known})`, 'kind-kind');
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw settingError('spark.kubeContext', 'SPARKGATE_SPARK_KUBE_CONTEXT', `is needed: ${file} has no usable current-context`, 'kind-kind');
  }
  return kc;
}

function loadInCluster(options: KubeSettings): KubeConfig {
  const host = options.serviceHost?.trim() ?? '';
  const port = options.servicePort?.trim() || '443';
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = path.join(dir, 'token');
  const caFile = path.join(dir, 'ca.crt');
  if (host === '') {
    throw new ConfigError(
      'no Kubernetes credentials in kubernetes mode: run inside a pod (KUBERNETES_SERVICE_HOST is set by the kubelet) or set spark.kubeconfig, e.g. SPARKGATE_SPARK_KUBECONFIG=$HOME/.kube/config',
    );
  }
  if (!/^\d{1,5}$/.test(port)) throw new ConfigError(`KUBERNETES_SERVICE_PORT ${JSON.stringify(port)} is not a port number, e.g. 443`);
  if (!readable(tokenFile)) {
    throw new ConfigError(
      `in-cluster credentials: service account token ${tokenFile} is missing or unreadable (is automountServiceAccountToken disabled on the gateway pod?)`,
    );
  }
  if (!readable(caFile)) throw new ConfigError(`in-cluster credentials: CA bundle ${caFile} is missing or unreadable`);
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const kc = new KubeConfig();
  // tokenFile auth re-reads the projected token (it rotates) at most every 60 s, like client-go.
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile, skipTLSVerify: false }],
    users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }],
    currentContext: 'in-cluster',
  });
  return kc;
}

/** Validate settings and build the client. Throws ConfigError naming the setting at fault. */
export function createKubeClient(options: KubeClientOptions): KubeClient {
  const identity = validateIdentity(options);
  let kubeConfig: KubeConfig;
  let source: KubeCredentialSource;
  if (options.kubeConfig) {
    kubeConfig = options.kubeConfig;
    source = 'injected';
  } else if (options.kubeconfigPath?.trim()) {
    kubeConfig = loadKubeconfig(options.kubeconfigPath.trim(), options.kubeContext?.trim() || undefined);
    source = 'kubeconfig';
  } else {
    kubeConfig = loadInCluster(options);
    source = 'in-cluster';
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new ConfigError('the Kubernetes configuration has no current cluster');
  return Object.freeze({
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    watch: createWatchFn(kubeConfig),
    namespace: identity.namespace,
    gatewayPod: Object.freeze({ name: identity.podName, uid: identity.podUid }),
    source,
    server: cluster.server,
  });
}

/**
 * One cheap authorized call (list pods, limit 1) in `namespace` (default the gateway's) so a
 * gateway with wrong credentials or a missing Role fails at start with a message that says
 * which, rather than at the first GC.
 */
export async function probeKubeAccess(client: KubeClient, namespace = client.namespace): Promise<void> {
  try {
    await client.core.listNamespacedPod({ namespace, limit: 1 });
  } catch (err) {
    const detail = describeKubeError(err);
    const grant =
      namespace === client.namespace
        ? 'apply the Role in manifests/ (REQUIRED_RBAC)'
        : `a team's executor namespace needs the Role and RoleBinding that manifests/team-namespace.sh prints`;
    const hint = /HTTP 401/.test(detail)
      ? 'the credentials were rejected'
      : /HTTP 403/.test(detail)
        ? `the service account may not list pods in ${namespace}: ${grant}`
        : `cannot reach the API server at ${client.server}`;
    throw new ConfigError(`Kubernetes access check failed (${hint}): ${detail}`);
  }
}
