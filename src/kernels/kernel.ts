/**
 * A Kernel is a session: one kernel process tree, its ZeroMQ channels, and the clients
 * attached to it. Lifecycle transitions go through `transition()` (session-state.ts); every
 * path into ended/dead/restart runs the same cleanup (process group, connection file, plug-ins
 * such as executor garbage collection).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.js';
import { newMessage, type RawMessage } from '../wire/message.js';
import { MessageSigner } from '../wire/zmq-codec.js';
import {
  newConnectionInfo,
  releasePorts,
  removeFile,
  writeConnectionFile,
  type ConnectionInfo,
} from './connection-file.js';
import type { LaunchPlan, SessionEndReason } from './kernel-launcher.js';
import { KernelProcess } from './kernel-process.js';
import { ClientChannels, IopubChannel, OWN_RECONNECT } from './kernel-sockets.js';
import type { Kernelspec } from './kernelspec-store.js';
import type { ProcessGroupRegistry } from './orphan-guard.js';
import { isLive, transition, type SessionEvent, type SessionState } from './session-state.js';

export interface KernelClient {
  /** The client's `session_id` (websocket query); reconnects with the same key get buffered iopub. */
  readonly sessionKey: string;
  deliver(msg: RawMessage): void;
  /** The kernel went away for good (shutdown); the client should close. */
  kernelEnded(): void;
}

export interface PrepareContext {
  kernelId: string;
  spec: Kernelspec;
  connectionFile: string;
  userEnv: Readonly<Record<string, string>>;
}

export interface KernelDeps {
  logger: Logger;
  /** The gateway's own runtime directory (runtime-dir.ts): connection files go here. */
  runtimeDir: string;
  /** Told each run's process group (the orphan guard). */
  processGroups?: ProcessGroupRegistry;
  startTimeoutMs: number;
  shutdownTimeoutMs: number;
  offlineBufferMessages: number;
  /**
   * Jupyter's KernelRestarter: a kernel that dies on its own is restarted in place (same id, same
   * ports) up to this many times in a row; a run that lasted `stableRunMs` resets the count.
   * 0 = report it dead at once.
   */
  restartLimit?: number;
  stableRunMs?: number;
  /** Builds the process plan for each (re)start; `files` are removed when that run ends. */
  prepare: (ctx: PrepareContext) => Promise<{ plan: LaunchPlan; files: string[] }>;
  /** Session-end work (executor GC, port release) after every run of the process. */
  onEnd: (kernelId: string, reason: SessionEndReason) => Promise<void>;
  now?: () => number;
}

export interface KernelModel {
  id: string;
  name: string;
  last_activity: string;
  execution_state: string;
  connections: number;
}

type KernelEvents = {
  state: [SessionState, SessionState];
  ended: [SessionEndReason];
  autorestart: ['ok' | 'failed' | 'limit'];
};

const MAX_OFFLINE_SESSIONS = 16;
/** Fresh ports this many times when a port was taken before the kernel bound it. */
const START_ATTEMPTS_ON_PORT_CLASH = 3;
/** A start with no progress from the kernel this long opens the silent gateway sockets again. */
const SILENT_START_REOPEN_MS = 5_000;

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
  private iopub: IopubChannel | undefined;
  private control: ClientChannels | undefined;
  private signer: MessageSigner | undefined;
  private readonly clients = new Set<KernelClient>();
  private readonly offline = new Map<string, RawMessage[]>();
  private readonly pending = new Map<string, (msg: RawMessage) => void>();
  private iopubSeen = false;
  /** The Jupyter session of requests the gateway itself sends. */
  private readonly ownSession: string;
  /** While waitReady runs: replies to its probes, and iopub traffic, wake it. */
  private startWatch: { reply: (parentId: string) => boolean; iopub: () => void } | undefined;
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

  /** The gateway's own sockets (iopub for every client, shell + control for its probes), where not open. */
  private openOwnChannels(): void {
    const channelOptions = {
      info: this.info!,
      signer: this.signer!,
      onDecodeError: (channel: string, error: string) => this.log.warn({ channel, error }, 'dropped kernel message'),
    };
    this.iopub ??= new IopubChannel({ ...channelOptions, onMessage: (m) => this.onIopub(m) });
    this.control ??= new ClientChannels(
      { ...channelOptions, onMessage: (m) => this.onGatewayReply(m), reconnect: OWN_RECONNECT },
      ['shell', 'control'],
    );
  }

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
    const proc = new KernelProcess({
      argv: plan.argv,
      env: plan.env,
      cwd: plan.cwd,
      onOutput: (stream, text) => this.log.debug({ stream, text: text.slice(0, 2000) }, 'kernel output'),
      ...(this.deps.processGroups ? { groups: this.deps.processGroups } : {}),
    });
    this.process = proc;
    this.iopubSeen = false;
    this.openOwnChannels();
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

  /**
   * Ready = a kernel_info_reply on shell AND an iopub message seen (the "nudge" Jupyter Server
   * does: a SUB socket drops messages until its subscription reaches the kernel). Probes are
   * re-sent while the kernel is silent, and a reply to ANY of them counts: a kernel still
   * importing answers the queued probes all at once, and waiting for only the latest would cost
   * up to a whole probe interval on every start.
   */
  private async waitReady(proc: KernelProcess): Promise<void> {
    const deadline = this.now() + this.deps.startTimeoutMs;
    const t0 = performance.now();
    const timings: Record<string, number> = {};
    const probes = new Set<string>();
    let replied = false;
    let wake: () => void = () => undefined;
    this.startWatch = {
      reply: (parentId) => {
        if (!probes.has(parentId)) return false;
        timings['reply_ms'] ??= Math.round(performance.now() - t0);
        replied = true;
        wake();
        return true;
      },
      iopub: () => {
        timings['iopub_ms'] ??= Math.round(performance.now() - t0);
        wake();
      },
    };
    const onExit = (): void => wake();
    proc.once('exit', onExit);
    let lastProgress = performance.now();
    let progressSeen = 0;
    try {
      while (!(replied && this.iopubSeen)) {
        // One of the gateway's own sockets can stay silent though the kernel is up and
        // listening (seen in the soak: a TCP connection closed from our side during the start,
        // never reconnected). Whatever has not delivered for a while is opened anew; a slow
        // starter (a Spark driver) only costs a socket now and then.
        const progress = (replied ? 1 : 0) + (this.iopubSeen ? 1 : 0);
        if (progress !== progressSeen) {
          progressSeen = progress;
          lastProgress = performance.now();
        } else if (!proc.hasExited && performance.now() - lastProgress > SILENT_START_REOPEN_MS) {
          this.reopenOwnChannels(!replied, !this.iopubSeen);
          lastProgress = performance.now();
        }
        if (proc.hasExited) {
          const tail = proc.stderr();
          throw new Error(`kernel process exited during start${tail ? `: ${lastLines(tail, 6)}` : ''}`);
        }
        if (this.stateValue === 'terminating' || this.stateValue === 'ended') throw new Error('kernel shut down during start');
        if (this.now() > deadline) {
          throw new Error(`kernel did not answer kernel_info within ${this.deps.startTimeoutMs} ms (setting kernelStartTimeoutMs)`);
        }
        // Probes go out every 50 ms at first. A DEALER queues the first until the kernel binds, but
        // ipykernel does not notice requests that arrived before its event loop started until
        // the next one comes in (measured: one probe alone made cold starts ~170 ms slower);
        // once answered, more are needed to make iopub traffic until the subscription is through.
        const probe = this.send('shell', 'kernel_info_request', {});
        if (probe) probes.add(probe);
        // A slow starter (a Spark driver: tens of seconds) should not find hundreds queued.
        const elapsed = performance.now() - t0;
        const interval = replied || elapsed < 2_000 ? 50 : elapsed < 10_000 ? 250 : 1_000;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, interval);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      this.log.debug({ ...timings, probes: probes.size }, 'kernel answered');
    } finally {
      this.startWatch = undefined;
      proc.off('exit', onExit);
    }
  }

  /** Send a message from the gateway itself without waiting; returns its msg_id. */
  private send(channel: 'shell' | 'control', msgType: string, content: unknown): string | undefined {
    const control = this.control;
    if (!control) return undefined;
    const msgId = randomUUID();
    control.send(newMessage({ channel, msgType, session: this.ownSession, content, msgId, date: new Date() }));
    return msgId;
  }

  /** Send a request from the gateway itself and wait up to `timeoutMs` for its reply. */
  async request(channel: 'shell' | 'control', msgType: string, content: unknown, timeoutMs: number): Promise<RawMessage | undefined> {
    const control = this.control;
    if (!control) return undefined;
    const msgId = randomUUID();
    const msg = newMessage({ channel, msgType, session: this.ownSession, content, msgId, date: new Date() });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(msgId);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(msgId, (reply) => {
        clearTimeout(timer);
        this.pending.delete(msgId);
        resolve(reply);
      });
      control.send(msg);
    });
  }

  private onGatewayReply(msg: RawMessage): void {
    const parentId = parentField(msg, 'msg_id');
    if (!parentId) return;
    if (this.startWatch?.reply(parentId)) return;
    this.pending.get(parentId)?.(msg);
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
    for (const client of this.clients) client.deliver(msg);
    if (this.offline.size > 0) {
      for (const buffer of this.offline.values()) {
        buffer.push(msg);
        if (buffer.length > this.deps.offlineBufferMessages) buffer.shift();
      }
    }
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
    this.broadcastStatus('dead');
    void this.endRun('crashed');
  }

  /**
   * As Jupyter Server does: clients see `restarting`, then the new process on the same ports
   * (their sockets reconnect by themselves); the dead run's session-end work (executor GC) runs
   * in between. If the new process cannot start either, the kernel is dead.
   */
  private async restartAfterCrash(): Promise<void> {
    this.apply({ type: 'restart' });
    this.broadcastStatus('restarting');
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
        this.broadcastStatus('dead');
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
      for (const client of [...this.clients]) client.kernelEnded();
      this.clients.clear();
      this.emit('ended', reason);
    })();
    return this.endPromise;
  }

  private async stopProcess(restart: boolean): Promise<void> {
    const proc = this.process;
    if (!proc || proc.hasExited) return;
    const politeMs = Math.min(this.deps.shutdownTimeoutMs, 3_000);
    await this.request('control', 'shutdown_request', { restart }, politeMs);
    const exited = await proc.waitForExitWithin(politeMs);
    if (!exited) this.log.info('kernel ignored shutdown_request; terminating its process group');
    await proc.terminate(Math.max(500, this.deps.shutdownTimeoutMs - politeMs));
    proc.signal('SIGKILL'); // stragglers in the group
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
    this.iopub?.close();
    this.control?.close();
    this.iopub = undefined;
    this.control = undefined;
  }

  /** Close and open again the gateway's own sockets that have delivered nothing (waitReady). */
  private reopenOwnChannels(control: boolean, iopub: boolean): void {
    this.log.debug({ control, iopub }, 'kernel silent during start; opening the gateway sockets again');
    if (control) {
      this.control?.close();
      this.control = undefined;
    }
    if (iopub) {
      this.iopub?.close();
      this.iopub = undefined;
    }
    this.openOwnChannels();
  }

  /** Free the identity (sockets, ports, connection file): the session will not run again. */
  private freeIdentity(): void {
    if (this.identityFreed) return; // twice when a shutdown raced a start: ports may be someone else's now
    this.identityFreed = true;
    this.iopub?.close();
    this.control?.close();
    this.iopub = undefined;
    this.control = undefined;
    for (const resolve of [...this.pending.values()]) resolve(undefined as unknown as RawMessage);
    this.pending.clear();
    if (this.info) releasePorts(this.info);
    removeFile(this.connectionFile);
    this.offline.clear();
  }

  // ---- clients ----

  /** Attach a client; returns its channels (shell/control/stdin to this kernel). */
  attach(client: KernelClient, onReply: (msg: RawMessage) => void): ClientChannels {
    if (!this.info || !this.signer || !isLive(this.stateValue) || this.stateValue === 'terminating') {
      throw new Error(`kernel is ${this.stateValue}`);
    }
    const channels = new ClientChannels({
      info: this.info,
      signer: this.signer,
      onMessage: (m) => {
        this.lastActivityMs = this.now();
        onReply(m);
      },
      onDecodeError: (channel, error) => this.log.warn({ channel, error }, 'dropped kernel message'),
    });
    this.clients.add(client);
    const buffered = client.sessionKey ? this.offline.get(client.sessionKey) : undefined;
    if (buffered) {
      this.offline.delete(client.sessionKey);
      for (const msg of buffered) client.deliver(msg);
    }
    return channels;
  }

  detach(client: KernelClient): void {
    if (!this.clients.delete(client)) return;
    const key = client.sessionKey;
    if (!key || !isLive(this.stateValue) || this.deps.offlineBufferMessages === 0) return;
    if ([...this.clients].some((c) => c.sessionKey === key)) return;
    if (this.offline.size >= MAX_OFFLINE_SESSIONS) this.offline.delete(this.offline.keys().next().value!);
    this.offline.set(key, []);
  }

  /** A client sent a message (its own channels carry it): Jupyter counts that as activity. */
  noteClientActivity(): void {
    this.lastActivityMs = this.now();
  }

  /** Synthesized iopub status, as Jupyter Server sends for restarts and deaths. */
  private broadcastStatus(state: 'restarting' | 'dead'): void {
    const msg = newMessage({
      channel: 'iopub',
      msgType: 'status',
      session: this.ownSession,
      content: { execution_state: state },
      msgId: randomUUID(),
      date: new Date(),
    });
    for (const client of this.clients) client.deliver(msg);
  }
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join(' | ');
}

const STATUS_MARK = Buffer.from('"status"');

/** The execution_state of an iopub status message; parses only status messages. */
export function executionStateOf(msg: RawMessage): string | undefined {
  if (msg.header.indexOf(STATUS_MARK) < 0) return undefined;
  try {
    const header = JSON.parse(msg.header.toString('utf8')) as { msg_type?: string };
    if (header.msg_type !== 'status') return undefined;
    return (JSON.parse(msg.content.toString('utf8')) as { execution_state?: string }).execution_state;
  } catch {
    return undefined;
  }
}

/** A string field of a message's parent header (msg_id, session), parsed only when asked for. */
export function parentField(msg: RawMessage, key: 'msg_id' | 'session'): string | undefined {
  try {
    const value = (JSON.parse(msg.parentHeader.toString('utf8')) as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
