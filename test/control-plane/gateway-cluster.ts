/**
 * Test infrastructure: sparkgate's deployment on the real test control plane, as the cluster
 * would hold it, minus what needs a kubelet:
 * - the manifests applied with the built kubectl (`kubectl apply -k manifests/base`): namespace,
 *   ServiceAccounts, Role, RoleBinding, ConfigMaps, StatefulSet, Services, NetworkPolicies;
 * - the gateway's pod object `sparkgate-0`, made from the StatefulSet's template as the
 *   StatefulSet controller would (no such controller runs here), owned by the StatefulSet,
 *   status Running with pod IP 127.0.0.1: Spark reads it (`spark.kubernetes.driver.pod.name`)
 *   and makes it the owner of every executor;
 * - a token of ServiceAccount `sparkgate` bound to that pod (TokenRequest, as the kubelet's
 *   projected volume gets it), so the gateway and its drivers act with the manifests' Role only;
 * - the node agent running executor pods as local JVMs.
 * `gatewayEnv()` is the gateway container's environment: the manifests' ConfigMap, with only
 * what differs on a test host replaced (paths, ports, API address, driver host = 127.0.0.1).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { KernelManager } from '@jupyterlab/services';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { REPO_ROOT } from '../../src/config.js';
import { VENV_PYTHON } from '../helpers/python.js';
import { testSparkPortsEnv } from '../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { ControlPlane } from './control-plane.js';
import { NodeAgent } from './node-agent.js';

const run = promisify(execFile);

export const GATEWAY_NAMESPACE = 'sparkgate';
export const GATEWAY_POD = 'sparkgate-0';
const SERVICE_ACCOUNT = 'sparkgate';

export interface GatewayClusterOptions {
  /** Apply this kustomization (default manifests/base). */
  readonly kustomization?: string;
  readonly log?: (line: string) => void;
}

export class GatewayCluster {
  readonly dir: string;
  readonly cp: ControlPlane;
  readonly namespace = GATEWAY_NAMESPACE;
  core!: CoreV1Api;
  agent!: NodeAgent;
  gatewayPod = { name: GATEWAY_POD, uid: '' };
  /** kubeconfig + token file of ServiceAccount sparkgate (bound to the gateway pod). */
  saKubeconfig = '';
  saTokenFile = '';
  podTemplateFile = '';
  /** The `sparkgate serve` process acting as the gateway pod now, and a KernelManager on it. */
  gateway: GatewayProcess | undefined;
  kernels: KernelManager | undefined;
  private sparkHome = '';
  private config: Record<string, string> = {};
  private stopped = false;

  constructor(private readonly options: GatewayClusterOptions = {}) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-cp-'));
    this.cp = new ControlPlane({ dir: path.join(this.dir, 'control-plane'), ...(options.log ? { log: options.log } : {}) });
  }

  static async start(options: GatewayClusterOptions = {}): Promise<GatewayCluster> {
    const cluster = new GatewayCluster(options);
    try {
      await cluster.setUp();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Run the built kubectl with admin credentials (or `kubeconfig`). */
  async kubectl(args: string[], kubeconfig = this.cp.adminKubeconfigPath): Promise<string> {
    try {
      const { stdout } = await run(this.cp.bin('kubectl'), ['--kubeconfig', kubeconfig, ...args], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  }

  private async setUp(): Promise<void> {
    await this.cp.start();
    this.core = this.cp.adminKubeConfig().makeApiClient(CoreV1Api);
    await this.kubectl(['apply', '-k', this.options.kustomization ?? 'manifests/base']);
    const cm = await this.core.readNamespacedConfigMap({ name: 'sparkgate-config', namespace: this.namespace });
    this.config = { ...(cm.data ?? {}) };
    const template = await this.core.readNamespacedConfigMap({ name: 'sparkgate-executor-template', namespace: this.namespace });
    this.podTemplateFile = path.join(this.dir, 'executor-pod-template.yaml');
    writeFileSync(this.podTemplateFile, template.data?.['pod-template.yaml'] ?? '');
    this.saTokenFile = path.join(this.dir, 'sparkgate.token');
    await this.createGatewayPod();
    const { stdout } = await run(VENV_PYTHON, ['-c', 'from pyspark.find_spark_home import _find_spark_home; print(_find_spark_home())']);
    this.sparkHome = stdout.trim();
    const agentDir = path.join(this.dir, 'node');
    mkdirSync(agentDir, { recursive: true });
    this.agent = new NodeAgent({
      kubeConfig: this.cp.adminKubeConfig(),
      namespace: this.namespace,
      sparkHome: this.sparkHome,
      workDir: agentDir,
      ...(this.options.log ? { logger: this.options.log } : {}),
    });
    await this.agent.start();
  }

  /**
   * (Re)create the gateway pod object from the StatefulSet's template, mark it Running, and
   * issue a fresh ServiceAccount token bound to it (a deleted pod's token stops working).
   */
  async createGatewayPod(): Promise<string> {
    const apps = this.cp.adminKubeConfig().makeApiClient(AppsV1Api);
    const sts = await apps.readNamespacedStatefulSet({ name: 'sparkgate', namespace: this.namespace });
    const template = sts.spec!.template;
    const body: V1Pod = {
      metadata: {
        name: GATEWAY_POD,
        namespace: this.namespace,
        labels: { ...(template.metadata?.labels ?? {}), 'statefulset.kubernetes.io/pod-name': GATEWAY_POD },
        annotations: template.metadata?.annotations ?? {},
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.metadata!.name!, uid: sts.metadata!.uid!, controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: {
        ...template.spec!,
        // The StatefulSet controller adds a volume per volumeClaimTemplate, bound to the pod's claim.
        volumes: [
          ...(template.spec!.volumes ?? []),
          ...(sts.spec!.volumeClaimTemplates ?? []).map((t) => ({
            name: t.metadata!.name!,
            persistentVolumeClaim: { claimName: `${t.metadata!.name!}-${GATEWAY_POD}` },
          })),
        ],
        hostname: GATEWAY_POD,
        subdomain: sts.spec!.serviceName,
      },
    };
    const pod = await this.core.createNamespacedPod({ namespace: this.namespace, body });
    const uid = pod.metadata!.uid!;
    const now = new Date().toISOString();
    await this.core.patchNamespacedPodStatus(
      {
        name: GATEWAY_POD,
        namespace: this.namespace,
        body: {
          status: {
            phase: 'Running',
            podIP: '127.0.0.1',
            podIPs: [{ ip: '127.0.0.1' }],
            hostIP: '127.0.0.1',
            startTime: now,
            conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const tokenRequest = await this.core.createNamespacedServiceAccountToken({
      name: SERVICE_ACCOUNT,
      namespace: this.namespace,
      body: { spec: { audiences: [], expirationSeconds: 86_400, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: GATEWAY_POD, uid } } },
    });
    const token = tokenRequest.status?.token ?? '';
    if (!token) throw new Error('TokenRequest for ServiceAccount sparkgate returned no token');
    writeFileSync(this.saTokenFile, token, { mode: 0o600 });
    this.saKubeconfig = this.cp.writeKubeconfig(SERVICE_ACCOUNT, token, this.namespace);
    this.gatewayPod = { name: GATEWAY_POD, uid };
    return uid;
  }

  /**
   * The gateway container's environment: the manifests' ConfigMap and the StatefulSet's env
   * (mode, downward API identity), with the host-specific parts replaced.
   */
  gatewayEnv(extra: Record<string, string> = {}): Record<string, string> {
    const workDir = mkdtempSync(path.join(this.dir, 'gateway-'));
    const env: Record<string, string> = { ...this.config };
    // The image's paths: this host uses the project venv's Python and pyspark instead.
    delete env['SPARKGATE_PYTHON'];
    delete env['SPARKGATE_SPARK_SPARK_HOME'];
    return {
      ...env,
      SPARKGATE_SPARK_MODE: 'kubernetes',
      SPARKGATE_HOST: '127.0.0.1',
      SPARKGATE_PORT: '0',
      SPARKGATE_TOKEN: `cp-test-${Math.random().toString(36).slice(2)}`,
      SPARKGATE_LOG_LEVEL: 'info',
      SPARKGATE_RUNTIME_DIR: path.join(workDir, 'run'),
      SPARKGATE_STATE_DIR: path.join(workDir, 'state'),
      SPARKGATE_WORK_DIR: workDir,
      SPARKGATE_WARM_POOL: '',
      // downward API
      SPARKGATE_SPARK_NAMESPACE: this.namespace,
      SPARKGATE_SPARK_POD_NAME: this.gatewayPod.name,
      SPARKGATE_SPARK_POD_UID: this.gatewayPod.uid,
      SPARKGATE_SPARK_POD_IP: '127.0.0.1',
      // No cluster DNS here: executors (local JVMs) reach the driver at the pod IP, 127.0.0.1.
      SPARKGATE_SPARK_DRIVER_HOST_MODE: 'ip',
      // In a pod: KUBERNETES_SERVICE_HOST and /var/run/secrets/...; here the same token in files.
      SPARKGATE_SPARK_KUBECONFIG: this.saKubeconfig,
      SPARKGATE_SPARK_MASTER: `k8s://${this.cp.server}`,
      SPARKGATE_SPARK_KUBERNETES_CA_CERT_FILE: this.cp.caFile,
      SPARKGATE_SPARK_KUBERNETES_TOKEN_FILE: this.saTokenFile,
      SPARKGATE_SPARK_EXECUTOR_POD_TEMPLATE_FILE: this.podTemplateFile,
      // Small executors for a 2-core test host.
      SPARKGATE_SPARK_DEFAULT_EXECUTOR_MEMORY: '512m',
      SPARKGATE_SPARK_DEFAULT_DRIVER_MEMORY: '512m',
      SPARKGATE_SPARK_MAX_EXECUTORS: '2',
      SPARKGATE_SPARK_REAPER_GRACE_MS: '3000',
      ...testSparkPortsEnv(),
      ...extra,
    };
  }

  /**
   * Start `sparkgate serve` as the gateway pod with `gatewayEnv(extra)`, after stopping the one
   * running (SIGTERM): two gateways acting as one pod would reap each other's sessions.
   */
  async startGateway(extra: Record<string, string> = {}): Promise<GatewayProcess> {
    await this.stopGateway('SIGTERM');
    const gateway = await startGatewayProcess(this.gatewayEnv({ SPARKGATE_KERNEL_START_TIMEOUT_MS: '240000', ...extra }));
    this.gateway = gateway;
    this.kernels = new KernelManager({ serverSettings: gateway.settings });
    await this.kernels.ready;
    return gateway;
  }

  /** Stop the gateway (a signal, or `kill-container`: it and its drivers SIGKILLed at once). */
  async stopGateway(how: NodeJS.Signals | 'kill-container'): Promise<void> {
    this.kernels?.dispose();
    this.kernels = undefined;
    const gateway = this.gateway;
    this.gateway = undefined;
    if (how === 'kill-container') await gateway?.killContainer();
    else await gateway?.stop(how);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.stopGateway('SIGTERM');
    await this.agent?.stop();
    await this.cp.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
