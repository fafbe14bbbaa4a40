/**
 * The kernel side of the Jupyter wire protocol's sockets: BIND on the connection file's ports,
 * ROUTER for shell/control/stdin, XPUB for iopub, REP for the heartbeat (echo).
 * Spec: https://jupyter-client.readthedocs.io/en/latest/messaging.html#introduction
 * iopub is an XPUB that reports every subscription (verbosity allSubs, not only the first one to
 * a topic: the gateway always subscribes first), so each new subscriber can be greeted with an
 * iopub_welcome (JEP 65, https://jupyter.org/enhancement-proposals/65-jupyter-xpub/jupyter-xpub.html),
 * as ipykernel does: a client knows its subscription is live without kernel_info polling.
 * Messages are encoded with the gateway's pure wire code (src/wire); sends are serialised per
 * socket because zeromq.js allows one pending send per socket.
 */
import { Reply, Router, XPublisher } from 'zeromq';
import type { ConnectionInfo } from '../../kernels/connection-file.js';
import { SendQueue } from '../../kernels/send-queue.js';
import type { RawMessage } from '../../wire/message.js';
import { decodeZmqFrames, DELIMITER, encodeZmqFrames, type MessageSigner } from '../../wire/zmq-codec.js';

export type RequestChannel = 'shell' | 'control' | 'stdin';

/** A client request and the routing identities to answer it with. */
export interface IncomingRequest {
  channel: RequestChannel;
  identities: Buffer[];
  message: RawMessage;
}

/** Messages queued per socket behind a peer that stopped reading; beyond, they are dropped. */
const MAX_QUEUED = 100_000;

export interface KernelServerSocketsOptions {
  info: ConnectionInfo;
  signer: MessageSigner;
  onRequest: (req: IncomingRequest) => void;
  onDecodeError?: (channel: RequestChannel, error: string) => void;
  /** A client subscribed to iopub (topic '' = everything): the kernel publishes its iopub_welcome. */
  onSubscribe?: (topic: string) => void;
}

export class KernelServerSockets {
  private readonly routers: Record<RequestChannel, Router>;
  private readonly queues: Record<RequestChannel | 'iopub', SendQueue>;
  private readonly iopub = new XPublisher({ linger: 1_000, verbosity: 'allSubs' });
  private readonly hb = new Reply({ linger: 0 });
  private closed = false;

  private constructor(private readonly options: KernelServerSocketsOptions) {
    const router = (): Router => new Router({ linger: 1_000 });
    this.routers = { shell: router(), control: router(), stdin: router() };
    this.queues = {
      shell: new SendQueue(this.routers.shell, MAX_QUEUED),
      control: new SendQueue(this.routers.control, MAX_QUEUED),
      stdin: new SendQueue(this.routers.stdin, MAX_QUEUED),
      iopub: new SendQueue(this.iopub, MAX_QUEUED),
    };
  }

  static async bind(options: KernelServerSocketsOptions): Promise<KernelServerSockets> {
    const sockets = new KernelServerSockets(options);
    const { info } = options;
    const at = (port: number): string => `${info.transport}://${info.ip}:${port}`;
    await Promise.all([
      sockets.routers.shell.bind(at(info.shell_port)),
      sockets.routers.control.bind(at(info.control_port)),
      sockets.routers.stdin.bind(at(info.stdin_port)),
      sockets.iopub.bind(at(info.iopub_port)),
      sockets.hb.bind(at(info.hb_port)),
    ]);
    for (const channel of ['shell', 'control', 'stdin'] as const) void sockets.receive(channel);
    void sockets.subscriptions();
    void sockets.heartbeat();
    return sockets;
  }

  send(channel: RequestChannel, identities: readonly Buffer[], msg: RawMessage): void {
    if (this.closed) return;
    this.queues[channel].push([...identities, ...encodeZmqFrames(msg, this.options.signer)]);
  }

  /** Publish on iopub; `topic` (a first frame subscribers filter on) only for an iopub_welcome to a topic. */
  publish(msg: RawMessage, topic?: string): void {
    if (this.closed) return;
    const frames = encodeZmqFrames(msg, this.options.signer);
    this.queues.iopub.push(topic ? [Buffer.from(topic, 'utf8'), ...frames] : frames);
  }

  /** Wait until queued replies and iopub messages were handed to ZeroMQ (before exiting). */
  async flush(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((q) => q.drained()));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const socket of [...Object.values(this.routers), this.iopub, this.hb]) socket.close();
  }

  private async receive(channel: RequestChannel): Promise<void> {
    try {
      for await (const frames of this.routers[channel]) {
        const at = frames.findIndex((f) => f.length === DELIMITER.length && f.equals(DELIMITER));
        const decoded = decodeZmqFrames(frames, channel, this.options.signer);
        if (!decoded.ok) {
          this.options.onDecodeError?.(channel, decoded.error);
          continue;
        }
        this.options.onRequest({ channel, identities: frames.slice(0, Math.max(0, at)), message: decoded.message });
      }
    } catch {
      /* socket closed */
    }
  }

  /** XPUB subscription events: one frame, 0x01 + topic (subscribe) or 0x00 + topic (unsubscribe). */
  private async subscriptions(): Promise<void> {
    try {
      for await (const [event] of this.iopub) {
        if (event && event.length >= 1 && event[0] === 1) this.options.onSubscribe?.(event.subarray(1).toString('utf8'));
      }
    } catch {
      /* socket closed */
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      for await (const frames of this.hb) await this.hb.send(frames);
    } catch {
      /* socket closed */
    }
  }
}
