// Stand-in for a kubelet: test machines have no kubelet or container runtime, so this runs executor pods as local JVM processes;
// everything else (the driver, Spark's k8s backend, kube-apiserver, the garbage collector) is real.
/**
 * Registers a Ready Node, list+watches `spark-role=executor` pods in one namespace, binds
 * unscheduled ones to its node (as the scheduler would), runs each executor through the image's
 * entrypoint (executor-command.ts) and reports pod status. On graceful deletion it stops the
 * process (SIGTERM, SIGKILL after the grace period, at most 5 s), then deletes the object with
 * grace 0. Serves each executor's stdout+stderr at the kubelet's log endpoint (container-logs.ts),
 * advertised in the Node's status, so kube-apiserver's `pods/log` works. CLI: node-agent-cli.ts.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1ConfigMap, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { describeKubeError, httpStatusOf, isRetryable } from '../../src/k8s/kube-errors.js';
import { createWatchFn, type ActiveWatch, type WatchFn } from '../../src/k8s/kube-watch.js';
import { apiServerCertificate, ContainerLogServer } from './container-logs.js';
import * as exec from './executor-command.js';

const DEFAULT_ENTRYPOINT = resolve(dirname(new URL(import.meta.url).pathname), '..', '..', 'manifests', 'executor-entrypoint.sh');

export interface NodeAgentOptions {
  kubeConfig: KubeConfig; // admin credentials
  namespace: string; // watch pods in this namespace
  sparkHome: string; // the executors' SPARK_HOME (the entrypoint puts its jars/ on the classpath)
  workDir: string; // per-pod folders go under here
  nodeName?: string; // default 'sparkgate-test-node'
  /** The image's executor entrypoint (default: the repository's manifests/executor-entrypoint.sh). */
  entrypoint?: string;
  logger?: (line: string) => void; // default: no-op; also gets each pod's stdout/stderr lines, prefixed with the pod name
  /** The log endpoint's certificate (default: kube-apiserver's self-signed one, next to the kubeconfig's CA file). */
  logServerTls?: { cert: string | Buffer; key: string | Buffer };
}

const LABEL_SELECTOR = 'spark-role=executor';
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
type ApiResult<T> = { ok: true; value: T } | { ok: false; code: number | undefined };

interface Entry {
  readonly uid: string;
  readonly name: string;
  state: 'starting' | 'running' | 'exited';
  pid?: number | undefined;
  deleting: boolean; // pod deleted or terminating: stop the process, report no more status
  removed: boolean; // the object is gone (or not ours): nothing to delete afterwards
  killTimer?: NodeJS.Timeout;
  statusChain: Promise<unknown>; // serializes status patches: a late Running never follows Failed
  gone: Promise<void>; // no process runs for this pod and its folder is removed
  settle: () => void;
}

export class NodeAgent {
  private readonly core: CoreV1Api;
  private readonly watchFn: WatchFn;
  private readonly nodeName: string;
  private readonly workDir: string;
  private readonly entries = new Map<string, Entry>(); // by pod uid
  private readonly abort = new AbortController();
  private readonly since = new Date().toISOString();
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private watch: ActiveWatch | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly containerLogs: ContainerLogServer;
  private logPort = 0;
  private readonly exitHook = () => this.killAll();

  constructor(private readonly options: NodeAgentOptions) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.watchFn = createWatchFn(options.kubeConfig);
    this.nodeName = options.nodeName ?? 'sparkgate-test-node';
    this.workDir = resolve(options.workDir);
    const tls = options.logServerTls ?? apiServerCertificate(options.kubeConfig);
    this.containerLogs = new ContainerLogServer({ dir: join(this.workDir, '.container-logs'), tls, log: (l) => this.log(l) });
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      await mkdir(this.workDir, { recursive: true });
      this.logPort = await this.containerLogs.start();
      const registered = await this.ensureNode(10);
      if (this.stopping) return;
      if (!registered) throw new Error(`node agent: could not register node ${this.nodeName}`);
      this.heartbeat = setInterval(() => void this.ensureNode(1), 10_000).unref();
      process.on('exit', this.exitHook);
      void this.syncLoop();
    })();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      this.watch?.abort();
      clearInterval(this.heartbeat);
      this.killAll();
      const all = [...this.entries.values()];
      await Promise.all(all.filter((e) => e.state !== 'starting').map((e) => e.gone));
      // Start flows give up at their next step; do not hang on one stuck in an API call.
      await Promise.race([Promise.all(all.map((e) => e.gone)), delay(5_000, undefined, { ref: false })]);
      await this.containerLogs.stop();
      process.off('exit', this.exitHook);
    })();
    return this.stopping;
  }

  /** pods it is running now (name -> pid) */
  running(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const e of this.entries.values()) if (e.state === 'running' && e.pid !== undefined) out.set(e.name, e.pid);
    return out;
  }

  /** Creates the Node if missing and (re)reports it Ready; doubles as the heartbeat. */
  private async ensureNode(attempts: number): Promise<boolean> {
    const name = this.nodeName;
    const status = exec.nodeStatus(name, this.since, new Date().toISOString()).status;
    // kube-apiserver proxies pods/log to https://<InternalIP>:<this port>/containerLogs/...
    const body = this.logPort ? { status: { ...status, daemonEndpoints: { kubeletEndpoint: { Port: this.logPort } } } } : { status };
    const patch = () => this.api(`patch node ${name} status`, () => this.core.patchNodeStatus({ name, body }, MERGE_PATCH), { attempts, quiet: [404] });
    let r = await patch();
    if (!r.ok && r.code === 404) {
      const labels = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' };
      const created = await this.api(`create node ${name}`, () => this.core.createNode({ body: { metadata: { name, labels } } }), { attempts, quiet: [409] });
      if (created.ok || created.code === 409) r = await patch();
    }
    return r.ok;
  }

  // ---- list + watch ----

  private async syncLoop(): Promise<void> {
    const namespace = this.options.namespace;
    for (let failures = 0; !this.stopping; ) {
      const listed = await this.api('list pods', () => this.core.listNamespacedPod({ namespace, labelSelector: LABEL_SELECTOR }), { attempts: 1 });
      if (this.stopping) return;
      if (listed.ok) {
        this.reconcile(listed.value.items);
        const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
        const resourceVersion = listed.value.metadata?.resourceVersion ?? '';
        const request = { path, resourceVersion, labelSelector: LABEL_SELECTOR, timeoutSeconds: 300, allowWatchBookmarks: true };
        this.watch = this.watchFn(request, (type, obj) =>
          this.guard(`${type} event`, () => (type === 'DELETED' ? this.onGone(obj as V1Pod) : type !== 'BOOKMARK' && this.onSeen(obj as V1Pod))),
        );
        const end = await this.watch.ended;
        if (end.kind !== 'failed') {
          failures = 0; // closed (server timeout) or expired (410): relist now
          continue;
        }
        this.log(`watch failed, relisting: ${describeKubeError(end.error)}`);
      }
      await this.sleep(Math.min(250 * 2 ** failures++, 5_000));
    }
  }

  private reconcile(pods: V1Pod[]): void {
    const present = new Set(pods.map((p) => p.metadata?.uid));
    for (const pod of pods) this.guard(`pod ${pod.metadata?.name}`, () => this.onSeen(pod));
    for (const e of this.entries.values()) if (!present.has(e.uid)) this.forget(e, 0);
  }

  private onSeen(pod: V1Pod): void {
    const { uid, name } = pod.metadata ?? {};
    if (!uid || !name || this.stopping) return;
    const terminating = !!pod.metadata?.deletionTimestamp;
    const entry = this.entries.get(uid);
    if (entry) {
      if (terminating) this.terminate(entry, exec.killGraceSeconds(pod));
      return;
    }
    const phase = pod.status?.phase ?? 'Pending';
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    if (!pod.spec?.nodeName) {
      if (!terminating && !terminal) this.startPod(pod, uid, name);
    } else if (pod.spec.nodeName === this.nodeName) {
      // Bound here but untracked (a bind whose answer was lost, or an earlier agent run):
      // finish its deletion, start it if it never ran, or report its process lost.
      if (terminating) void this.deletePod(name, uid);
      else if (phase === 'Pending') this.startPod(pod, uid, name);
      else if (!terminal && exec.findExecutorContainer(pod)) {
        const now = new Date().toISOString();
        void this.patchStatus(name, exec.terminatedStatus(exec.findExecutorContainer(pod)!, now, now, 137, 'node agent restarted: process lost'));
      }
    }
  }

  private onGone(pod: V1Pod): void {
    const entry = pod.metadata?.uid ? this.entries.get(pod.metadata.uid) : undefined;
    if (entry) this.forget(entry, exec.killGraceSeconds(pod));
  }

  /** The pod object is gone: stop its process and drop the entry. */
  private forget(entry: Entry, graceSeconds: number): void {
    entry.removed = true;
    this.terminate(entry, graceSeconds);
    void entry.gone.then(() => {
      this.containerLogs.remove(this.options.namespace, entry.name, entry.uid);
      if (this.entries.get(entry.uid) === entry) this.entries.delete(entry.uid);
    });
  }

  private terminate(entry: Entry, graceSeconds: number): void {
    if (entry.deleting) return;
    entry.deleting = true;
    if (entry.state === 'running') {
      this.log(`${entry.name}: pod deleted, stopping pid ${entry.pid} (SIGKILL in ${graceSeconds} s)`);
      killGroup(entry.pid, 'SIGTERM');
      entry.killTimer = setTimeout(() => killGroup(entry.pid, 'SIGKILL'), graceSeconds * 1000);
    }
    // As a kubelet does once the containers are gone: remove the object for good.
    void entry.gone.then(() => (entry.removed || this.stopping ? undefined : this.deletePod(entry.name, entry.uid)));
  }

  // ---- running a pod ----

  private startPod(pod: V1Pod, uid: string, name: string): void {
    let settle!: () => void;
    const gone = new Promise<void>((r) => (settle = r));
    const entry: Entry = { uid, name, state: 'starting', deleting: false, removed: false, statusChain: Promise.resolve(), gone, settle };
    this.entries.set(uid, entry);
    this.run(entry, pod).catch((err: unknown) => {
      if (entry.state === 'starting') return this.fail(entry, pod, `node agent: ${describeKubeError(err)}`);
      this.log(`${name}: ${describeKubeError(err)}`);
    });
  }

  private async run(entry: Entry, pod: V1Pod): Promise<void> {
    const { name, uid } = entry;
    const namespace = this.options.namespace;
    const cancelled = () => !!this.stopping || entry.deleting;
    for (const other of this.entries.values()) {
      if (other !== entry && other.name === name) {
        this.forget(other, 0); // same name, older uid: that object is gone
        await other.gone;
      }
    }
    const body = { metadata: { name, uid }, target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName } };
    const bound = await this.api(`bind ${name}`, () => this.core.createNamespacedBinding({ namespace, body }), { cancelled, quiet: [404, 409] });
    if (!bound.ok) {
      const read = () => this.core.readNamespacedPod({ name, namespace });
      const now = bound.code === 409 ? await this.api(`read pod ${name}`, read, { cancelled, quiet: [404] }) : undefined;
      if (!(now?.ok && now.value.metadata?.uid === uid && now.value.spec?.nodeName === this.nodeName)) {
        if (bound.code !== 404 && !cancelled()) this.log(`${name}: not started, binding failed (HTTP ${bound.code ?? '-'})`);
        return this.drop(entry); // a later event or relist tries again
      }
    }

    const configMaps = new Map<string, V1ConfigMap>();
    const secrets = new Map<string, V1Secret>();
    for (const ref of exec.referencedObjects(pod)) {
      const read = () =>
        ref.kind === 'ConfigMap' ? this.core.readNamespacedConfigMap({ name: ref.name, namespace }) : this.core.readNamespacedSecret({ name: ref.name, namespace });
      // Like a kubelet, wait a while for a required object that does not exist yet.
      for (let attempt = 1; !cancelled(); attempt++) {
        const got = await this.api(`${name}: read ${ref.kind} ${ref.name}`, read, { cancelled, quiet: [404] });
        if (got.ok && ref.kind === 'ConfigMap') configMaps.set(ref.name, got.value as V1ConfigMap);
        else if (got.ok) secrets.set(ref.name, got.value as V1Secret);
        else if (got.code !== 404 && !cancelled()) throw new Error(`cannot read ${ref.kind} ${ref.name} (HTTP ${got.code ?? '-'})`);
        if (got.ok || ref.optional || attempt >= 10) break;
        await this.sleep(1_000);
      }
    }
    if (cancelled()) return this.finish(entry);

    const podDir = join(this.workDir, name);
    const inputs = { pod, nodeName: this.nodeName, sparkHome: this.options.sparkHome, podDir, entrypoint: this.options.entrypoint ?? DEFAULT_ENTRYPOINT };
    let plan: exec.ExecutorPlan;
    try {
      plan = exec.buildExecutorCommand({ ...inputs, baseEnv: exec.baseEnv(process.env, podDir), configMaps, secrets });
    } catch (err) {
      if (!(err instanceof exec.ExecutorSpecError)) throw err;
      return this.fail(entry, pod, `node agent: ${err.message}`);
    }
    for (const w of plan.warnings) this.log(`${name}: ${w}`);
    await rm(podDir, { recursive: true, force: true });
    await mkdir(plan.cwd, { recursive: true });
    for (const d of plan.dirs) {
      await mkdir(d.hostPath, { recursive: true });
      for (const f of d.files) {
        await mkdir(dirname(join(d.hostPath, f.path)), { recursive: true });
        await writeFile(join(d.hostPath, f.path), f.data);
      }
    }
    if (cancelled()) return this.finish(entry);

    // No await between the check above and spawn(): stop() cannot miss this process.
    const container = exec.executorContainer(pod);
    const [bin, ...args] = plan.argv as [string, ...string[]];
    const child = spawn(bin, args, { cwd: plan.cwd, env: plan.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const startedAt = new Date().toISOString();
    Object.assign(entry, { state: 'running', pid: child.pid });
    const output = this.containerLogs.open(this.options.namespace, name, entry.uid, container.name);
    let open = 2; // the log ends once both pipes are read to the end (they may outlast 'exit')
    for (const [stream, input] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
      const lines = createInterface({ input }).on('line', (l) => (this.log(`[${name}] ${l}`), output.write(stream, l)));
      lines.once('close', () => --open === 0 && output.end());
    }
    const onExit = (exitCode: number) => {
      if (entry.state !== 'running') return;
      clearTimeout(entry.killTimer);
      killGroup(entry.pid, 'SIGKILL'); // the container ends with its main process (e.g. python workers)
      entry.state = 'exited';
      this.log(`${name}: process ${entry.pid ?? '-'} exited with ${exitCode}`);
      if (!entry.deleting && !this.stopping) void this.report(entry, exec.terminatedStatus(container, startedAt, new Date().toISOString(), exitCode));
      void this.finish(entry);
    };
    child.once('error', (err) => {
      this.log(`${name}: cannot run ${bin}: ${err.message}`);
      onExit(127);
    });
    child.once('exit', (code, signal) => onExit(exec.exitCodeOf(code, signal)));
    this.log(`${name}: started pid ${child.pid ?? '-'}: ${plan.argv.join(' ')}`);
    if (child.pid !== undefined) await this.report(entry, exec.runningStatus(container, startedAt));
  }

  /** Marks the pod Failed without running anything. */
  private fail(entry: Entry, pod: V1Pod, message: string): Promise<void> {
    this.log(`${entry.name}: ${message}`);
    entry.state = 'exited';
    const c = exec.findExecutorContainer(pod);
    const now = new Date().toISOString();
    if (c && !entry.deleting && !this.stopping) void this.report(entry, exec.terminatedStatus(c, now, now, 1, message));
    return this.finish(entry);
  }

  private async finish(entry: Entry): Promise<void> {
    entry.state = 'exited';
    await rm(join(this.workDir, entry.name), { recursive: true, force: true }).catch((err: Error) => this.log(`${entry.name}: ${err.message}`));
    entry.settle();
  }

  private drop(entry: Entry): void {
    entry.removed = true; // not bound here: not ours to delete
    if (this.entries.get(entry.uid) === entry) this.entries.delete(entry.uid);
    entry.state = 'exited';
    entry.settle();
  }

  // ---- API helpers ----

  private report(entry: Entry, body: object): Promise<unknown> {
    entry.statusChain = entry.statusChain.then(() => (entry.deleting ? undefined : this.patchStatus(entry.name, body)));
    return entry.statusChain;
  }

  private patchStatus(name: string, body: object): Promise<unknown> {
    const namespace = this.options.namespace;
    return this.api(`patch pod ${name} status`, () => this.core.patchNamespacedPodStatus({ name, namespace, body }, MERGE_PATCH), { quiet: [404] });
  }

  private deletePod(name: string, uid: string): Promise<unknown> {
    const namespace = this.options.namespace;
    // With a request body the API server reads DeleteOptions from the body only (query
    // parameters are ignored), so the zero grace period goes in the body.
    const del = () => this.core.deleteNamespacedPod({ name, namespace, body: { gracePeriodSeconds: 0, preconditions: { uid } } });
    return this.api(`delete pod ${name}`, del, { quiet: [404, 409] });
  }

  /** Calls the API, retrying throttling, 5xx and network errors; logs, never throws. */
  private async api<T>(what: string, fn: () => Promise<T>, opts: { attempts?: number; quiet?: number[]; cancelled?: () => boolean } = {}): Promise<ApiResult<T>> {
    for (let i = 1; ; i++) {
      try {
        return { ok: true, value: await fn() };
      } catch (err) {
        const code = httpStatusOf(err);
        const retry = (code === undefined || isRetryable(err)) && i < (opts.attempts ?? 8) && !this.stopping && !opts.cancelled?.();
        if (code === undefined || !opts.quiet?.includes(code)) this.log(`${what} failed${retry ? ', retrying' : ''}: ${describeKubeError(err)}`);
        if (!retry) return { ok: false, code };
        await this.sleep(Math.min(200 * 2 ** i, 5_000));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return delay(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  private guard(what: string, fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      this.log(`${what}: ${describeKubeError(err)}`);
    }
  }

  private killAll(): void {
    for (const e of this.entries.values()) {
      clearTimeout(e.killTimer);
      if (e.state === 'running') killGroup(e.pid, 'SIGKILL');
    }
  }

  private log(line: string): void {
    try {
      this.options.logger?.(line.startsWith('[') ? line : `node-agent: ${line}`);
    } catch {
      // a broken logger must not break the agent
    }
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  try {
    if (pid !== undefined) process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

