/**
 * Render a session's Spark configuration: the one place Spark properties are produced. Callers
 * write it out with `toPropertiesFile` / `toSubmitArgs` / `toPysparkSubmitArgs`, never by
 * concatenating strings themselves.
 *
 * Precedence, lowest to highest (later layers overwrite earlier ones):
 *   1. operator `spark.extraConf`
 *   2. the profile's conf (kernelspec conf, then the user's KERNEL_SPARK_CONF*)
 *   3. the policy-bounded profile (memory, cores, executors, image, jars, packages)
 *   4. gateway-owned keys (master, deploy mode, driver host and ports, pod identity, labels, auth)
 * Validation already refuses users (403) and operators (config error) who name a key of layers 3
 * or 4; the layering makes that hold even for input that skipped validation.
 *
 * Client mode in a pod: https://spark.apache.org/docs/latest/running-on-kubernetes.html#client-mode
 *
 * Team namespaces (ARCHITECTURE.md, "Users"): a session whose team names a namespace other than
 * the gateway's gets `spark.kubernetes.namespace=<team namespace>`, so Spark creates its executors,
 * their ConfigMap and on-demand PVCs there, with the team's executor service account and pod
 * template (else the gateway's). Such a session renders NO `spark.kubernetes.driver.pod.name`:
 * Spark looks the driver pod up in `spark.kubernetes.namespace` (ExecutorPodsAllocator: "No pod
 * was found named ... in the namespace ...") and fails to start without it, and its
 * ownerReferences to the driver pod could not cross namespaces anyway (Kubernetes treats a
 * namespaced owner in another namespace as absent, and would collect the dependents). So GC layer
 * 3 does not cover team namespaces; layers 1 and 2 (session-end collection, the reaper watching
 * every team namespace) do. Executors still reach the driver: the headless-Service driver host is
 * a fully qualified name (`<pod>.<service>.<gateway namespace>.svc.<cluster domain>`).
 *
 * Secrets: none are rendered. With `spark.authenticate=true` and a k8s:// or local master,
 * Spark's SecurityManager generates a fresh secret per application in the driver and gives it to
 * executors through the pod env (SPARK_AUTHENTICATE_SECRET); a `spark.authenticate.secret` we set
 * would be ignored for those masters. So the rendered conf may be written to a file as is.
 *
 * Must reach the driver JVM at launch, not via SparkSession.builder later: `spark.driver.memory`
 * (the JVM heap, read by spark-submit's launcher) and `spark.ui.proxyBase` (the UI reads it as a
 * JVM system property, which spark-submit sets from the conf it is given). Hand the whole conf to
 * spark-submit: `--properties-file` or PYSPARK_SUBMIT_ARGS.
 */
import { LABEL_GATEWAY, LABEL_MANAGED_BY, LABEL_SESSION, MANAGED_BY_VALUE } from '../labels.js';
import { K, executorLabelKey } from './conf-keys.js';
import type { SessionPorts } from './port-allocator.js';
import type { SessionProfile } from './spark-profile.js';
import { type SparkSettings, sparkMaster } from './spark-settings.js';
import { assertSessionId, executorPodNamePrefix, sparkAppId, sparkUiProxyBase } from './session-naming.js';

/** A rendered configuration: sorted keys, frozen. */
export type SparkConf = Readonly<Record<string, string>>;

/**
 * Where a session's executors run and as whom: its team's policy (users file `teams:`). Unset
 * fields fall back to the gateway's settings (namespace, serviceAccount, executorPodTemplateFile).
 */
export interface ExecutorPlacement {
  readonly namespace?: string | undefined;
  readonly serviceAccount?: string | undefined;
  readonly executorPodTemplateFile?: string | undefined;
}

export interface RenderSparkConfInput {
  settings: SparkSettings;
  /** The owner's team policy; undefined: the gateway's namespace and settings. */
  team?: ExecutorPlacement | undefined;
  profile: SessionProfile;
  sessionId: string;
  /** From `PortAllocator.allocate(sessionId)`. */
  ports: SessionPorts;
  /** `spark.app.name`; default "sparkgate-<short id>". */
  appName?: string | undefined;
}

const LOOPBACK = '127.0.0.1';

/** Where executors reach the driver: the pod's headless-Service DNS name, or its IP. */
export function driverHost(settings: SparkSettings): string {
  if (settings.mode === 'local') return LOOPBACK;
  if (settings.driverHostMode === 'ip') return required(settings.podIp, 'podIp');
  const pod = required(settings.podName, 'podName');
  const service = required(settings.headlessService, 'headlessService');
  const namespace = required(settings.namespace, 'namespace');
  return `${pod}.${service}.${namespace}.svc.${settings.clusterDomain}`;
}

/** The namespace a session's executors run in: its team's, else the gateway's. */
export function executorNamespace(settings: SparkSettings, team: ExecutorPlacement | undefined): string {
  return team?.namespace ?? required(settings.namespace, 'namespace');
}

export function renderSparkConf({ settings, profile, sessionId, ports, appName, team }: RenderSparkConfInput): SparkConf {
  assertSessionId(sessionId);
  const conf = new Map<string, string>();
  const set = (key: string, value: string | number | boolean) => conf.set(key, String(value));
  const k8s = settings.mode === 'kubernetes';

  // 0. sparkgate's defaults, which any layer below may change: an in-memory catalog (the shells
  //    would otherwise start a Hive metastore in Derby files in the working directory).
  set('spark.sql.catalogImplementation', 'in-memory');
  // Spark >= 3.5 counts executor pods the API server refuses (a team namespace's ResourceQuota
  // is full) as executor failures, and past spark.executor.maxNumFailures (default
  // max(3, 2 x maxExecutors)) stops the application: seen on Spark 4.3, a session's SparkContext
  // shut down 1.5 s after its first refused executor. A notebook session should wait for its
  // team's quota like for any other shortage, as Spark on Kubernetes did before 3.5; the cell says
  // why (quota-notice.ts) and can be interrupted.
  if (k8s) set(K.executorMaxNumFailures, 2_147_483_647);
  // 1. operator defaults
  for (const [key, value] of Object.entries(settings.extraConf)) set(key, value);
  // 2. kernelspec + user conf
  for (const [key, value] of Object.entries(profile.conf)) set(key, value);

  // 3. the bounded profile
  set(K.driverMemory, profile.driverMemory);
  if (profile.jars.length > 0) set(K.jars, profile.jars.join(','));
  if (profile.packages.length > 0) set(K.jarsPackages, profile.packages.join(','));
  if (k8s) {
    set(K.executorMemory, profile.executorMemory);
    set(K.executorCores, profile.executorCores);
    set(K.daMinExecutors, profile.minExecutors);
    set(K.daMaxExecutors, profile.maxExecutors);
    set(K.k8sContainerImage, required(profile.image ?? settings.image, 'image'));
  }

  // 4. gateway-owned
  set(K.master, sparkMaster(settings));
  set(K.deployMode, 'client');
  set(K.appName, cleanAppName(appName ?? `sparkgate-${executorPodNamePrefix(sessionId).slice(3)}`));
  set(K.driverHost, driverHost(settings));
  // Local mode listens on loopback only; in a pod, executors connect from other pods.
  set(K.driverBindAddress, k8s ? '0.0.0.0' : LOOPBACK);
  set(K.driverPort, ports.driverPort);
  set(K.driverBlockManagerPort, ports.blockManagerPort);
  set(K.uiPort, ports.uiPort);
  // Spark would otherwise try port+1, port+2... on a clash: straight into another session's slot.
  set(K.portMaxRetries, 0);
  // The gateway proxies the UI at this path; spark.ui.reverseProxy is a standalone-master
  // feature and stays off.
  set(K.uiProxyBase, sparkUiProxyBase(sessionId));
  if (settings.authenticate) set(K.authenticate, true);
  if (settings.networkCrypto) set(K.networkCryptoEnabled, true);
  if (k8s) {
    const namespace = executorNamespace(settings, team);
    set(K.k8sNamespace, namespace);
    // Only where Spark can find the driver pod (see the module comment on team namespaces).
    if (namespace === settings.namespace) set(K.k8sDriverPodName, required(settings.podName, 'podName'));
    set(K.k8sExecutorPodNamePrefix, executorPodNamePrefix(sessionId));
    set(K.appId, sparkAppId(sessionId));
    set(K.k8sExecutorUseDriverPodIp, false);
    set(executorLabelKey(LABEL_SESSION), sessionId);
    set(executorLabelKey(LABEL_GATEWAY), required(settings.podName, 'podName'));
    set(executorLabelKey(LABEL_MANAGED_BY), MANAGED_BY_VALUE);
    set(K.daEnabled, true);
    set(K.daShuffleTracking, true);
    const serviceAccount = team?.serviceAccount ?? settings.serviceAccount;
    if (serviceAccount) set(K.k8sExecutorServiceAccount, serviceAccount);
    if (settings.kubernetesCaCertFile) set(K.k8sClientCaCertFile, settings.kubernetesCaCertFile);
    if (settings.kubernetesTokenFile) set(K.k8sClientOauthTokenFile, settings.kubernetesTokenFile);
    const podTemplateFile = team?.executorPodTemplateFile ?? settings.executorPodTemplateFile;
    if (podTemplateFile) set(K.k8sExecutorPodTemplateFile, podTemplateFile);
  }

  const sorted: Record<string, string> = {};
  for (const key of [...conf.keys()].sort()) sorted[key] = conf.get(key)!;
  return Object.freeze(sorted);
}

/** spark-defaults.conf / `--properties-file` text (java.util.Properties, read as UTF-8 by Spark). */
export function toPropertiesFile(conf: SparkConf): string {
  const lines = ['# Generated by sparkgate (src/spark/spark-conf.ts); do not edit.'];
  for (const key of Object.keys(conf).sort()) {
    lines.push(`${escapeProperty(key, true)}=${escapeProperty(conf[key]!, false)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `spark-submit` arguments: ['--conf', 'k=v', ...]. */
export function toSubmitArgs(conf: SparkConf): string[] {
  return Object.keys(conf)
    .sort()
    .flatMap((key) => ['--conf', `${key}=${conf[key]!}`]);
}

/**
 * The PYSPARK_SUBMIT_ARGS value: pyspark splits it with Python's `shlex.split` and expects the
 * final "pyspark-shell" argument.
 */
export function toPysparkSubmitArgs(conf: SparkConf): string {
  return [...toSubmitArgs(conf), 'pyspark-shell'].map(shellQuote).join(' ');
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * java.util.Properties escaping. Keys escape the separators and comment marks too; values only
 * need backslashes, control characters and a leading space escaped (after the first "=", the
 * rest of the line is the value). Non-ASCII stays as is: Spark loads the file as UTF-8.
 */
function escapeProperty(text: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    switch (ch) {
      case '\\': out += '\\\\'; break;
      case '\t': out += '\\t'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\f': out += '\\f'; break;
      case ' ': out += isKey || i === 0 ? '\\ ' : ' '; break;
      case '=': case ':': case '#': case '!': out += isKey ? `\\${ch}` : ch; break;
      default: {
        const code = ch.charCodeAt(0);
        out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
      }
    }
  }
  return out;
}

function cleanAppName(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, 200) || 'sparkgate';
}

/** Settings were validated by sparkSettingsSchema; a missing field here is a wiring bug. */
function required<T>(value: T | undefined, setting: string): T {
  if (value === undefined || value === '') {
    throw new Error(`spark.${setting} is required in kubernetes mode (settings were not validated)`);
  }
  return value;
}
