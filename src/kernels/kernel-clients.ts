/**
 * The clients attached to one kernel (websockets), and the iopub kept for a client session that
 * went away: like Jupyter Server, iopub produced while a `session_id` is disconnected is
 * replayed when it comes back (bounded per session and in the number of sessions).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { newMessage, type RawMessage } from '../wire/message.js';
import type { MessageSigner } from '../wire/zmq-codec.js';
import type { ConnectionInfo } from './connection-file.js';
import { ClientChannels } from './kernel-sockets.js';

export interface KernelClient {
  /** The client's `session_id` (websocket query); reconnects with the same key get buffered iopub. */
  readonly sessionKey: string;
  deliver(msg: RawMessage): void;
  /** The kernel went away for good (shutdown); the client should close. */
  kernelEnded(): void;
}

const MAX_OFFLINE_SESSIONS = 16;

export class KernelClients {
  private readonly clients = new Set<KernelClient>();
  private readonly offline = new Map<string, RawMessage[]>();

  /** iopub messages kept per disconnected session; 0 = none. */
  constructor(private readonly offlineBufferMessages: number) {}

  get size(): number {
    return this.clients.size;
  }

  /** Add a client and hand it what its session missed while away. */
  add(client: KernelClient): void {
    this.clients.add(client);
    const buffered = client.sessionKey ? this.offline.get(client.sessionKey) : undefined;
    if (buffered) {
      this.offline.delete(client.sessionKey);
      for (const msg of buffered) client.deliver(msg);
    }
  }

  /** Remove a client; `keepOffline` starts buffering for its session (the kernel lives on). */
  remove(client: KernelClient, keepOffline: boolean): void {
    if (!this.clients.delete(client)) return;
    const key = client.sessionKey;
    if (!key || !keepOffline || this.offlineBufferMessages === 0) return;
    if ([...this.clients].some((c) => c.sessionKey === key)) return;
    if (this.offline.size >= MAX_OFFLINE_SESSIONS) this.offline.delete(this.offline.keys().next().value!);
    this.offline.set(key, []);
  }

  /** iopub for every client, and for every session that is away. */
  publish(msg: RawMessage): void {
    this.broadcast(msg);
    for (const buffer of this.offline.values()) {
      buffer.push(msg);
      if (buffer.length > this.offlineBufferMessages) buffer.shift();
    }
  }

  /**
   * Attach a client: its own shell/control/stdin sockets to the kernel (`onReply` gets what the
   * kernel answers on them), and iopub through publish().
   */
  attach(
    client: KernelClient,
    kernel: { info: ConnectionInfo; signer: MessageSigner; log: Logger; onActivity: () => void },
    onReply: (msg: RawMessage) => void,
  ): ClientChannels {
    const channels = new ClientChannels({
      info: kernel.info,
      signer: kernel.signer,
      onMessage: (m) => {
        kernel.onActivity();
        onReply(m);
      },
      onDecodeError: (channel, error) => kernel.log.warn({ channel, error }, 'dropped kernel message'),
    });
    this.add(client);
    return channels;
  }

  /** Synthesized iopub status from the gateway's own session, as Jupyter Server sends for restarts and deaths. */
  broadcastStatus(session: string, state: 'restarting' | 'dead'): void {
    this.broadcast(
      newMessage({ channel: 'iopub', msgType: 'status', session, content: { execution_state: state }, msgId: randomUUID(), date: new Date() }),
    );
  }

  /** To the clients connected now only (the gateway's own status messages). */
  broadcast(msg: RawMessage): void {
    for (const client of this.clients) client.deliver(msg);
  }

  /** The kernel is gone for good: every client is told, nothing is kept. */
  endAll(): void {
    for (const client of [...this.clients]) client.kernelEnded();
    this.clients.clear();
    this.offline.clear();
  }

  clearOffline(): void {
    this.offline.clear();
  }
}
