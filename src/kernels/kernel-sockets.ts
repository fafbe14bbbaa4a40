/**
 * ZeroMQ sockets to one kernel. A `ClientChannels` set (shell, control, stdin DEALERs) is opened
 * per websocket connection, as jupyter_client does, with one routing id shared by its shell and
 * stdin sockets: ipykernel sends `input_request` on stdin to the identity that sent the
 * `execute_request` on shell. iopub is one SUB socket per kernel, fanned out by the Kernel.
 */
import { randomBytes } from 'node:crypto';
import { Dealer, Subscriber } from 'zeromq';
import type { Channel, RawMessage } from '../wire/message.js';
import { decodeZmqFrames, encodeZmqFrames, type MessageSigner } from '../wire/zmq-codec.js';
import { endpoint, type ConnectionInfo } from './connection-file.js';
import { SendQueue } from './send-queue.js';

/**
 * Reconnect timing. The gateway connects before a starting kernel has bound its ports, and libzmq
 * retries every 100 ms by default, which showed up in every cold start. The gateway's own sockets
 * (iopub, and the probes that decide readiness) retry every 10 ms without backoff: they exist
 * only while the kernel runs or (re)starts, and are closed when it is dead. Clients' sockets
 * retry after 10 ms too (the first request after a restart), backing off to 100 ms, libzmq's
 * default, while a kernel stays away.
 */
export const OWN_RECONNECT = { reconnectInterval: 10, reconnectMaxInterval: 0 } as const;
export const CLIENT_RECONNECT = { reconnectInterval: 10, reconnectMaxInterval: 100 } as const;

export type MessageHandler = (msg: RawMessage) => void;
export type DecodeErrorHandler = (channel: Channel, error: string) => void;

async function receiveLoop(
  socket: Dealer | Subscriber,
  channel: Channel,
  signer: MessageSigner,
  onMessage: MessageHandler,
  onError: DecodeErrorHandler,
): Promise<void> {
  try {
    for await (const frames of socket) {
      const decoded = decodeZmqFrames(frames, channel, signer);
      if (!decoded.ok) {
        onError(channel, decoded.error);
        continue;
      }
      // A handler that throws on one message must not end the loop: the kernel's output would
      // silently stop for every client. Its own connection is closed by its guard.
      try {
        onMessage(decoded.message);
      } catch (err) {
        onError(channel, `message handler failed: ${(err as Error).message}`);
      }
    }
  } catch {
    /* socket closed */
  }
}

export interface ChannelOptions {
  info: ConnectionInfo;
  signer: MessageSigner;
  onMessage: MessageHandler;
  onDecodeError: DecodeErrorHandler;
  maxQueued?: number;
  reconnect?: { reconnectInterval: number; reconnectMaxInterval: number };
}

type RequestChannel = 'shell' | 'control' | 'stdin';

/**
 * shell + control + stdin for one client. The gateway's own set (kernel_info probes, shutdown,
 * interrupt) leaves stdin out: one socket less per kernel, and it never asks for input.
 */
export class ClientChannels {
  private readonly sockets: Partial<Record<RequestChannel, Dealer>> = {};
  private readonly writers: Partial<Record<RequestChannel, SendQueue>> = {};
  private closed = false;
  readonly routingId = randomBytes(8).toString('hex');

  constructor(
    private readonly options: ChannelOptions,
    channels: readonly RequestChannel[] = ['shell', 'control', 'stdin'],
  ) {
    const drop = (): void => options.onDecodeError('shell', 'send queue full; message dropped');
    const max = options.maxQueued ?? 10_000;
    for (const channel of channels) {
      // A little linger: a request sent just before its client hangs up still reaches the kernel.
      const socket = new Dealer({ ...(options.reconnect ?? CLIENT_RECONNECT), linger: 500, routingId: channel === 'control' ? `${this.routingId}-c` : this.routingId });
      socket.connect(endpoint(options.info, channel));
      void receiveLoop(socket, channel, options.signer, options.onMessage, options.onDecodeError);
      this.sockets[channel] = socket;
      this.writers[channel] = new SendQueue(socket, max, drop);
    }
  }

  send(msg: RawMessage): void {
    if (this.closed || msg.channel === 'iopub') return;
    const writer = this.writers[msg.channel];
    if (!writer) {
      this.options.onDecodeError(msg.channel, `no ${msg.channel} socket on this connection; message dropped`);
      return;
    }
    writer.push(encodeZmqFrames(msg, this.options.signer));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const socket of Object.values(this.sockets)) socket.close();
  }
}

/** The kernel's iopub stream. */
export class IopubChannel {
  private readonly socket: Subscriber;
  private closed = false;

  constructor(options: ChannelOptions) {
    this.socket = new Subscriber({ ...OWN_RECONNECT, linger: 0 });
    this.socket.connect(endpoint(options.info, 'iopub'));
    this.socket.subscribe();
    void receiveLoop(this.socket, 'iopub', options.signer, options.onMessage, options.onDecodeError);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
