/**
 * Test infrastructure: a real Kubernetes control plane on loopback, no containers: etcd,
 * kube-apiserver (RBAC, token auth, service-account tokens) and kube-controller-manager
 * (garbage collector, namespace, service-account, PVC-protection and resource-quota controllers), from the binaries that
 * test/control-plane/build.sh builds from pinned Go modules. There is no kubelet and no
 * scheduler: test/control-plane/node-agent.ts runs executor pods.
 *
 * Flags follow controller-runtime's envtest defaults and ../shared/FACTS.md. Every process is
 * started in its own process group and stopped (SIGTERM, then SIGKILL) by `stop()`; their pids are
 * written to `<dir>/pids` so a later `start()` in the same dir kills what a crashed run left.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface ControlPlaneOptions {
  /** Folder for etcd data, certificates, keys, logs and kubeconfigs (created; removed by stop() unless keepDir). */
  readonly dir: string;
  /** Folder with etcd, kube-apiserver, kube-controller-manager, kubectl (default: build.sh's output). */
  readonly binDir?: string;
  readonly keepDir?: boolean;
  /** How long to wait for /readyz and the controller manager (default 90 s). */
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly logFile: string;
}

/** Build (or find in the cache) the control-plane binaries; returns their folder. */
export function controlPlaneBinDir(): string {
  const out = execFileSync('bash', [path.join(HERE, 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export class ControlPlane {
  readonly dir: string;
  readonly binDir: string;
  /** https://127.0.0.1:<port> */
  server = '';
  /** CA bundle that verifies the API server's serving certificate. */
  caFile = '';
  /** kubeconfig of a system:masters user (test setup only: the gateway gets a ServiceAccount). */
  adminKubeconfigPath = '';
  adminToken = '';
  private procs: Proc[] = [];
  private started = false;
  private stopped = false;

  constructor(private readonly options: ControlPlaneOptions) {
    this.dir = path.resolve(options.dir);
    this.binDir = options.binDir ?? controlPlaneBinDir();
  }

  bin(name: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl'): string {
    return path.join(this.binDir, name);
  }

  adminKubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.adminKubeconfigPath);
    return kc;
  }

  /** A kubeconfig file for a bearer token (e.g. a ServiceAccount's), next to the admin one. */
  writeKubeconfig(name: string, token: string, namespace = 'default'): string {
    const file = path.join(this.dir, `${name}.kubeconfig`);
    writeFileSync(file, kubeconfigYaml({ server: this.server, caFile: this.caFile, user: name, token, namespace }), { mode: 0o600 });
    return file;
  }

  async start(): Promise<this> {
    if (this.started) return this;
    this.started = true;
    const timeoutMs = this.options.startTimeoutMs ?? 90_000;
    killStale(this.dir);
    mkdirSync(this.dir, { recursive: true });
    const d = (...p: string[]) => path.join(this.dir, ...p);
    for (const sub of ['etcd', 'certs', 'logs']) mkdirSync(d(sub), { recursive: true });

    const [etcdPort, peerPort, apiPort, kcmPort] = await distinctPorts(4);
    // Service-account token signing keys.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(d('sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(d('sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    // Audit every request of a ServiceAccount (metadata only): tests check that the gateway's
    // ServiceAccount used only what its Role grants, and which grants went unused.
    writeFileSync(
      d('audit-policy.yaml'),
      JSON.stringify({
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Policy',
        omitStages: ['RequestReceived'],
        rules: [{ level: 'Metadata', userGroups: ['system:serviceaccounts'] }, { level: 'None' }],
      }),
    );
    this.adminToken = randomBytes(24).toString('hex');
    writeFileSync(d('tokens.csv'), `${this.adminToken},sparkgate-test-admin,sparkgate-test-admin,"system:masters"\n`, { mode: 0o600 });

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    this.spawn('etcd', this.bin('etcd'), [
      `--name=default`,
      `--data-dir=${d('etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      // A throwaway test store: no fsync (envtest does the same).
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitFor('etcd /health', timeoutMs, async () => {
      const res = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      return res?.ok === true;
    }, () => this.assertRunning());

    this.server = `https://127.0.0.1:${apiPort}`;
    this.spawn('kube-apiserver', this.bin('kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${d('certs')}`,
      `--token-auth-file=${d('tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${d('sa.pub')}`,
      `--service-account-signing-key-file=${d('sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      // pods/log goes to the node agent's log endpoint at the Node's InternalIP (127.0.0.1) and
      // kubeletEndpoint port; the default order tries the Hostname first, which does not resolve.
      '--kubelet-preferred-address-types=InternalIP',
      `--audit-policy-file=${d('audit-policy.yaml')}`,
      `--audit-log-path=${d('logs', 'audit.log')}`,
      '--audit-log-format=json',
      '--audit-log-mode=blocking',
      '--v=0',
    ]);
    this.caFile = d('certs', 'apiserver.crt');
    await waitFor('kube-apiserver /readyz', timeoutMs, () => this.getOk('/readyz'), () => this.assertRunning());
    this.adminKubeconfigPath = d('admin.kubeconfig');
    writeFileSync(
      this.adminKubeconfigPath,
      kubeconfigYaml({ server: this.server, caFile: this.caFile, user: 'sparkgate-test-admin', token: this.adminToken, namespace: 'default' }),
      { mode: 0o600 },
    );

    this.spawn('kube-controller-manager', this.bin('kube-controller-manager'), [
      `--kubeconfig=${this.adminKubeconfigPath}`,
      `--authentication-kubeconfig=${this.adminKubeconfigPath}`,
      `--authorization-kubeconfig=${this.adminKubeconfigPath}`,
      '--leader-elect=false',
      // PVCs carry the kubernetes.io/pvc-protection finalizer: without its controller none goes away.
      // ResourceQuota admission refuses every pod of a namespace whose quota has no status yet:
      // the resource-quota controller computes it (team namespaces with quotas).
      '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,persistentvolumeclaim-protection-controller,resourcequota-controller',
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${d('certs', 'kcm')}`,
      '--v=0',
    ]);
    await waitFor('kube-controller-manager /healthz', timeoutMs, () => this.getOk('/healthz', kcmPort), () => this.assertRunning());
    // Pods need their namespace's `default` ServiceAccount (ServiceAccount admission): the
    // service-account controller creates it shortly after start.
    await waitFor('ServiceAccount default/default', timeoutMs, () => this.getOk('/api/v1/namespaces/default/serviceaccounts/default'), () =>
      this.assertRunning(),
    );
    return this;
  }

  async stop(): Promise<void> {
    if (this.stopped || !this.started) return;
    this.stopped = true;
    // Reverse order: controllers first, the store last.
    for (const proc of [...this.procs].reverse()) await stopProc(proc);
    this.procs = [];
    rmSync(path.join(this.dir, 'pids'), { force: true });
    if (!this.options.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * The requests `username` made so far, from the audit log: one entry per distinct
   * verb, resource (with "/subresource") and response code.
   */
  auditedRequests(username: string): { verb: string; resource: string; code: number; count: number }[] {
    const file = path.join(this.dir, 'logs', 'audit.log');
    if (!existsSync(file)) return [];
    const counts = new Map<string, number>();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as {
        user?: { username?: string };
        verb?: string;
        objectRef?: { resource?: string; subresource?: string };
        responseStatus?: { code?: number };
      };
      if (e.user?.username !== username || !e.objectRef?.resource) continue;
      const resource = e.objectRef.subresource ? `${e.objectRef.resource}/${e.objectRef.subresource}` : e.objectRef.resource;
      const key = `${e.verb} ${resource} ${e.responseStatus?.code ?? 0}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([key, count]) => {
      const [verb = '', resource = '', code = '0'] = key.split(' ');
      return { verb, resource, code: Number(code), count };
    });
  }

  /** Log file of a component (for failure messages). */
  logTail(name: string, lines = 30): string {
    const file = path.join(this.dir, 'logs', `${name}.log`);
    if (!existsSync(file)) return '';
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  }

  private spawn(name: string, bin: string, args: string[]): void {
    const logFile = path.join(this.dir, 'logs', `${name}.log`);
    const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('error', (err) => this.options.log?.(`${name}: ${err.message}`));
    this.procs.push({ name, child, exited, logFile });
    writeFileSync(path.join(this.dir, 'pids'), this.procs.map((p) => `${p.child.pid} ${p.name}`).join('\n') + '\n');
    this.options.log?.(`control-plane: started ${name} (pid ${child.pid}), log ${logFile}`);
  }

  private assertRunning(): void {
    for (const p of this.procs) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) during start:\n${this.logTail(p.name)}`);
      }
    }
  }

  private getOk(urlPath: string, port?: number): Promise<boolean> {
    const url = new URL(urlPath, port === undefined ? this.server : `https://127.0.0.1:${port}`);
    const isApi = port === undefined;
    return new Promise((resolve) => {
      const req = request(
        url,
        {
          method: 'GET',
          // The API server's self-signed bundle is only written once it serves; the controller
          // manager's health port has its own self-signed certificate.
          rejectUnauthorized: isApi && existsSync(this.caFile),
          ...(isApi && existsSync(this.caFile) ? { ca: readFileSync(this.caFile) } : {}),
          headers: isApi ? { authorization: `Bearer ${this.adminToken}` } : {},
          timeout: 2_000,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }
}

function kubeconfigYaml(o: { server: string; caFile: string; user: string; token: string; namespace: string }): string {
  // JSON is valid YAML; every kubeconfig reader (client-node, kubectl, fabric8) takes it.
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sparkgate-test', cluster: { server: o.server, 'certificate-authority': o.caFile } }],
      users: [{ name: o.user, user: { token: o.token } }],
      contexts: [{ name: o.user, context: { cluster: 'sparkgate-test', user: o.user, namespace: o.namespace } }],
      'current-context': o.user,
    },
    null,
    2,
  )}\n`;
}

async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

async function waitFor(what: string, timeoutMs: number, ready: () => Promise<boolean>, check: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`control-plane: ${what} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopProc(proc: Proc): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  killGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5_000);
  await proc.exited;
  clearTimeout(timer);
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Kill processes a previous run in this dir left (pid file), if they are still ours. */
function killStale(dir: string): void {
  const file = path.join(dir, 'pids');
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [pid, name] = line.split(' ');
    if (!pid || !name) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(name)) killGroup(Number(pid), 'SIGKILL');
    } catch {
      // not running
    }
  }
  rmSync(file, { force: true });
}
