/**
 * A Kernel is a session: one kernel process tree, its ZeroMQ channels, and the clients
 * attached to it. Lifecycle transitions go through `transition()` (session-state.ts); every
 * path into ended/dead/restart runs the same cleanup (process group, connection file, plug-ins
 * such as executor garbage collection).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.js';
import { MessageSigner } from '../wire/zmq-codec.js';
import {
  newConnectionInfo,
  releasePorts,
  removeFile,
  writeConnectionFile,
  type ConnectionInfo,
} from './connection-file.js';
import type { SessionEndReason } from './kernel-launcher.js';
import { KernelProcess } from './kernel-process.js';
import { KernelClients, type KernelClient } from './kernel-clients.js';
import { executionStateOf, lastLines, parentField } from './kernel-messages.js';
import type { ClientChannels } from './kernel-sockets.js';
import type { Kernelspec } from './kernelspec-store.js';
import { OwnChannels } from './own-channels.js';
import { StartWatch } from './start-watch.js';
import { isLive, transition, type SessionEvent, type SessionState } from './session-state.js';
import type { RawMessage } from '../wire/message.js';
import type { KernelDeps, KernelModel } from './kernel-deps.js';

export type { KernelClient } from './kernel-clients.js';
export type { KernelDeps, KernelModel, PrepareContext } from './kernel-deps.js';
export { executionStateOf, parentField } from './kernel-messages.js';

type KernelEvents = {
  state: [SessionState, SessionState];
  ended: [SessionEndReason];
  autorestart: ['ok' | 'failed' | 'limit'];
};

/** Fresh ports this many times when a port was taken before the kernel bound it. */
const START_ATTEMPTS_ON_PORT_CLASH = 3;

export class Kernel extends EventEmitter<KernelEvents> {
  readonly id: string;
  readonly spec: Kernelspec;
  private userEnvValue: Readonly<Record<string, string>>;
  private stateValue: SessionState = 'starting';
  private lastActivityMs: number;
  private info: ConnectionInfo | undefined;
  private connectionFile: string | undefined;
  private extraFiles: string[] = [];
  private process: KernelProcess | undefined;
  private signer: MessageSigner | undefined;
  private readonly clients: KernelClients;
  private readonly own: OwnChannels;
  private iopubSeen = false;
  /** The Jupyter session of requests the gateway itself sends. */
  private readonly ownSession: string;
  /** While waitReady runs: replies to its probes, and iopub traffic, wake it. */
  private startWatch: StartWatch | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  private endPromise: Promise<void> | undefined;
  private runStartedAt = 0;
  private crashRestarts = 0;

  constructor(
    options: { id?: string; spec: Kernelspec; userEnv: Record<string, string> },
    private readonly deps: KernelDeps,
  ) {
    super();
    this.id = options.id ?? randomUUID();
    this.spec = options.spec;
    this.userEnvValue = Object.freeze({ ...options.userEnv });
    this.now = deps.now ?? Date.now;
    this.lastActivityMs = this.now();
    this.log = deps.logger.child({ kernel_id: this.id, kernelspec: this.spec.name });
    this.ownSession = `sparkgate-${this.id}`;
    this.clients = new KernelClients(deps.offlineBufferMessages);
    this.own = new OwnChannels({
      session: this.ownSession,
      log: this.log,
      onIopub: (m) => this.onIopub(m),
      onReply: (parentId) => this.startWatch?.reply(parentId) ?? false,
    });
  }

  /** The client's validated KERNEL_* variables, used by every (re)start of this session. */
  get userEnv(): Readonly<Record<string, string>> {
    return this.userEnvValue;
  }

  /**
   * A pooled session handed to a request whose variables do not shape the launch: later restarts
   * start with them, as a session started cold for that request would.
   */
  adoptUserEnv(env: Readonly<Record<string, string>>): void {
    this.userEnvValue = Object.freeze({ ...this.userEnvValue, ...env });
  }

  get state(): SessionState {
    return this.stateValue;
  }

  get connections(): number {
    return this.clients.size;
  }

  get lastActivity(): number {
    return this.lastActivityMs;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get connectionInfo(): ConnectionInfo | undefined {
    return this.info;
  }

  get connectionFilePath(): string | undefined {
    return this.connectionFile;
  }

  model(): KernelModel {
    return {
      id: this.id,
      name: this.spec.name,
      last_activity: new Date(this.lastActivityMs).toISOString(),
      execution_state: this.stateValue,
      connections: this.clients.size,
    };
  }

  private apply(event: SessionEvent): void {
    const before = this.stateValue;
    const after = transition(before, event);
    if (after === before) return;
    this.stateValue = after;
    if (after === 'dead') this.closeOwnChannels();
    this.emit('state', before, after);
  }

  // ---- lifecycle ----

  /** Start the process and wait until it answers kernel_info and iopub flows. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.info = await newConnectionInfo(this.spec.name);
      this.connectionFile = writeConnectionFile(this.deps.runtimeDir, this.id, this.info);
      this.signer = new MessageSigner(this.info.key);
      try {
        await this.launch();
        this.apply({ type: 'ready' });
        return;
      } catch (err) {
        // The ports were free when picked, but anything on the host may take one before the
        // kernel binds it: start again on fresh ports, as jupyter_client's
        // random_ports_until_alive does. Seen about once in 2,500 starts in the soak.
        const clash = /address already in use/i.test((err as Error).message) && this.stateValue === 'starting';
        if (clash && attempt < START_ATTEMPTS_ON_PORT_CLASH) {
          this.log.warn({ attempt }, 'a kernel port was taken before the kernel bound it; starting again on fresh ports');
          await this.endRun('start_failed');
          this.closeOwnChannels();
          continue;
        }
        this.apply({ type: 'start_failed' });
        await this.endRun('start_failed');
        this.freeIdentity();
        throw err;
      }
    }
  }

  private async launch(): Promise<void> {
    const info = this.info!;
    this.runEnded = false;
    const { plan, files } = await this.deps.prepare({
      kernelId: this.id,
      spec: this.spec,
      connectionFile: this.connectionFile!,
      userEnv: this.userEnv,
    });
    this.extraFiles = files;
    const output = this.deps.openOutput?.(this.id);
    const proc = new KernelProcess({
      argv: plan.argv,
      env: plan.env,
      cwd: plan.cwd,
      onOutput: (stream, text) => {
        output?.(stream, text);
        this.log.debug({ stream, text: text.slice(0, 2000) }, 'kernel output');
      },
      ...(this.deps.processGroups ? { groups: this.deps.processGroups } : {}),
    });
    this.process = proc;
    this.iopubSeen = false;
    this.own.open(info, this.signer!);
    try {
      await proc.start();
    } catch (err) {
      throw new Error(`cannot run ${JSON.stringify(plan.argv[0])}: ${(err as Error).message}`);
    }
    proc.once('exit', (exit) => this.onProcessExit(proc, exit));
    this.runStartedAt = this.now();
    this.log.info({ pid: proc.pid, argv0: plan.argv[0] }, 'kernel process started');
    await this.waitReady(proc);
  }

  /** Ready = kernel_info answered and iopub flowing (start-watch.ts). */
  private async waitReady(proc: KernelProcess): Promise<void> {
    const watch = new StartWatch({
      proc,
      startTimeoutMs: this.deps.startTimeoutMs,
      now: this.now,
      log: this.log,
      probe: () => this.own.send('shell', 'kernel_info_request', {}),
      iopubSeen: () => this.iopubSeen,
      shuttingDown: () => this.stateValue === 'terminating' || this.stateValue === 'ended',
      reopen: (which) => {
        this.own.close(which);
        this.own.open(this.info!, this.signer!);
      },
    });
    this.startWatch = watch;
    try {
      await watch.run();
    } finally {
      this.startWatch = undefined;
    }
  }

  /** Send a request from the gateway itself and wait up to `timeoutMs` for its reply. */
  request(channel: 'shell' | 'control', msgType: string, content: unknown, timeoutMs: number): Promise<RawMessage | undefined> {
    return this.own.request(channel, msgType, content, timeoutMs);
  }

  private onIopub(msg: RawMessage): void {
    this.iopubSeen = true;
    this.startWatch?.iopub();
    const status = executionStateOf(msg);
    // The busy/idle of the gateway's own requests (start probes, a pooled session's env update)
    // is not the user's kernel working: it neither moves the state nor counts as activity, and
    // clients do not see it (JupyterLab would flicker busy/idle during every restart).
    if (status !== undefined && parentField(msg, 'session') === this.ownSession) return;
    this.lastActivityMs = this.now();
    if (status === 'busy' || status === 'idle') this.apply({ type: 'status', executionState: status });
    this.clients.publish(msg);
  }

  private onProcessExit(proc: KernelProcess, exit: { code: number | null; signal: string | null }): void {
    if (proc !== this.process) return;
    if (this.stateValue !== 'idle' && this.stateValue !== 'busy') return;
    this.log.warn({ code: exit.code, signal: exit.signal, stderr: lastLines(proc.stderr(), 5) }, 'kernel died');
    const limit = this.deps.restartLimit ?? 0;
    if (this.now() - this.runStartedAt >= (this.deps.stableRunMs ?? 10_000)) this.crashRestarts = 0;
    if (this.crashRestarts < limit) {
      this.crashRestarts++;
      void this.restartAfterCrash();
      return;
    }
    if (limit > 0) {
      this.log.error({ restarts: this.crashRestarts }, 'kernel keeps dying; not restarting it again');
      this.emit('autorestart', 'limit');
    }
    this.apply({ type: 'exited' });
    this.clients.broadcastStatus(this.ownSession, 'dead');
    void this.endRun('crashed');
  }

  /**
   * As Jupyter Server does: clients see `restarting`, then the new process on the same ports
   * (their sockets reconnect by themselves); the dead run's session-end work (executor GC) runs
   * in between. If the new process cannot start either, the kernel is dead.
   */
  private async restartAfterCrash(): Promise<void> {
    this.apply({ type: 'restart' });
    this.clients.broadcastStatus(this.ownSession, 'restarting');
    await this.endRun('crashed');
    if (this.stateValue !== 'restarting') return; // shut down meanwhile
    try {
      await this.relaunch();
      this.log.warn({ attempt: this.crashRestarts }, 'kernel restarted after dying');
      this.emit('autorestart', 'ok');
    } catch (err) {
      const now = this.state;
      if (now === 'terminating' || now === 'ended') return; // shut down meanwhile
      this.log.error({ err: (err as Error).message }, 'kernel could not be restarted after dying');
      this.emit('autorestart', 'failed');
    }
  }

  /** Restart in place: same id, same ports and key, so attached clients keep their sockets. */
  async restart(): Promise<void> {
    this.apply({ type: 'restart' });
    this.crashRestarts = 0;
    // No 'restarting' status here: Jupyter Server sends it only for restarts after a death (its
    // KernelRestarter), and @jupyterlab/services answers it with a reconnect of its own, which
    // would race the reconnect it does after a restart it asked for.
    await this.stopProcess(true);
    await this.endRun('restart');
    await this.relaunch();
  }

  /**
   * A new run of a restarting kernel. If it cannot start, the kernel is dead (clients are told,
   * unless a shutdown got there first) and the failed run's end work is done; the error is rethrown.
   */
  private async relaunch(): Promise<void> {
    try {
      await this.launch();
      this.apply({ type: 'ready' });
    } catch (err) {
      // Re-read: the state may have moved on while launch() awaited.
      const now = this.state;
      if (now !== 'terminating' && now !== 'ended') {
        this.apply({ type: 'start_failed' });
        this.clients.broadcastStatus(this.ownSession, 'dead');
      }
      await this.endRun('start_failed');
      throw err;
    }
  }

  async interrupt(): Promise<void> {
    if (!isLive(this.stateValue)) return;
    if (this.spec.spec.interrupt_mode === 'message') {
      await this.request('control', 'interrupt_request', {}, 5_000);
    } else {
      this.process?.signal('SIGINT');
    }
  }

  /** Polite shutdown_request, then the process group is terminated; idempotent. */
  shutdown(reason: SessionEndReason = 'shutdown'): Promise<void> {
    if (this.endPromise) return this.endPromise;
    this.endPromise = (async () => {
      if (this.stateValue !== 'ended') this.apply({ type: 'shutdown' });
      await this.stopProcess(false);
      await this.endRun(reason);
      this.freeIdentity();
      this.apply({ type: 'cleaned' });
      this.clients.endAll();
      this.emit('ended', reason);
    })();
    return this.endPromise;
  }

  private async stopProcess(restart: boolean): Promise<void> {
    const proc = this.process;
    if (!proc || proc.hasExited) return;
    const polite = await proc.stop((ms) => this.request('control', 'shutdown_request', { restart }, ms), this.deps.shutdownTimeoutMs);
    if (!polite) this.log.info('kernel ignored shutdown_request; terminated its process group');
  }

  private runEnded = true;
  private identityFreed = false;

  /**
   * End one run of the process: make sure the group is gone, remove the run's files and run the
   * session-end work (executor GC). Once per run, whichever path gets here first.
   */
  private async endRun(reason: SessionEndReason): Promise<void> {
    if (this.runEnded) return;
    this.runEnded = true;
    if (this.process && !this.process.hasExited) await this.process.terminate(1_000);
    for (const f of this.extraFiles) removeFile(f);
    this.extraFiles = [];
    try {
      await this.deps.onEnd(this.id, reason);
    } catch (err) {
      this.log.error({ err: (err as Error).message, reason }, 'session end work failed');
    }
    this.log.info({ reason }, 'kernel run ended');
  }

  /**
   * A dead kernel has nobody listening on its ports: close the gateway's own sockets, which
   * would otherwise retry every 10 ms; a restart opens new ones.
   */
  private closeOwnChannels(): void {
    this.own.close();
  }

  /** Free the identity (sockets, ports, connection file): the session will not run again. */
  private freeIdentity(): void {
    if (this.identityFreed) return; // twice when a shutdown raced a start: ports may be someone else's now
    this.identityFreed = true;
    this.own.dispose();
    if (this.info) releasePorts(this.info);
    removeFile(this.connectionFile);
    this.clients.clearOffline();
  }

  // ---- clients ----

  /** Attach a client; returns its channels (shell/control/stdin to this kernel). */
  attach(client: KernelClient, onReply: (msg: RawMessage) => void): ClientChannels {
    if (!this.info || !this.signer || !isLive(this.stateValue) || this.stateValue === 'terminating') {
      throw new Error(`kernel is ${this.stateValue}`);
    }
    const onActivity = (): void => void (this.lastActivityMs = this.now());
    return this.clients.attach(client, { info: this.info, signer: this.signer, log: this.log, onActivity }, onReply);
  }

  detach(client: KernelClient): void {
    this.clients.remove(client, isLive(this.stateValue));
  }

  /** A client sent a message (its own channels carry it): Jupyter counts that as activity. */
  noteClientActivity(): void {
    this.lastActivityMs = this.now();
  }
}
