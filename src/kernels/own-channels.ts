/**
 * The gateway's own connection to one kernel: the iopub subscriber that feeds every client, and
 * shell + control for the gateway's requests (start probes, interrupt_request, shutdown_request).
 * Requests carry the gateway's own Jupyter session, so their busy/idle can be told apart from
 * the user's work.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { newMessage, type RawMessage } from '../wire/message.js';
import type { MessageSigner } from '../wire/zmq-codec.js';
import type { ConnectionInfo } from './connection-file.js';
import { parentField } from './kernel-messages.js';
import { ClientChannels, IopubChannel, OWN_RECONNECT } from './kernel-sockets.js';

export interface OwnChannelsOptions {
  /** The Jupyter session of the gateway's own requests. */
  session: string;
  log: Logger;
  onIopub: (msg: RawMessage) => void;
  /** A reply to one of the gateway's requests; true when it was consumed (the start watch). */
  onReply?: (parentId: string) => boolean;
}

export class OwnChannels {
  private iopub: IopubChannel | undefined;
  private control: ClientChannels | undefined;
  private readonly pending = new Map<string, (msg: RawMessage | undefined) => void>();

  constructor(private readonly options: OwnChannelsOptions) {}

  /** Open the sockets that are not open. */
  open(info: ConnectionInfo, signer: MessageSigner): void {
    const channelOptions = {
      info,
      signer,
      onDecodeError: (channel: string, error: string) => this.options.log.warn({ channel, error }, 'dropped kernel message'),
    };
    this.iopub ??= new IopubChannel({ ...channelOptions, onMessage: (m) => this.options.onIopub(m) });
    this.control ??= new ClientChannels({ ...channelOptions, onMessage: (m) => this.onReply(m), reconnect: OWN_RECONNECT }, ['shell', 'control']);
  }

  /** Close the given sockets; `open` makes them anew. */
  close(which: { control: boolean; iopub: boolean } = { control: true, iopub: true }): void {
    if (which.control) {
      this.control?.close();
      this.control = undefined;
    }
    if (which.iopub) {
      this.iopub?.close();
      this.iopub = undefined;
    }
  }

  /** Close everything; pending requests answer undefined. */
  dispose(): void {
    this.close();
    for (const resolve of [...this.pending.values()]) resolve(undefined);
    this.pending.clear();
  }

  /** Send a request without waiting; returns its msg_id (undefined when closed). */
  send(channel: 'shell' | 'control', msgType: string, content: unknown): string | undefined {
    const control = this.control;
    if (!control) return undefined;
    const msgId = randomUUID();
    control.send(newMessage({ channel, msgType, session: this.options.session, content, msgId, date: new Date() }));
    return msgId;
  }

  /** Send a request and wait up to `timeoutMs` for its reply. */
  request(channel: 'shell' | 'control', msgType: string, content: unknown, timeoutMs: number): Promise<RawMessage | undefined> {
    const control = this.control;
    if (!control) return Promise.resolve(undefined);
    const msgId = randomUUID();
    const msg = newMessage({ channel, msgType, session: this.options.session, content, msgId, date: new Date() });
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

  private onReply(msg: RawMessage): void {
    const parentId = parentField(msg, 'msg_id');
    if (!parentId) return;
    if (this.options.onReply?.(parentId)) return;
    this.pending.get(parentId)?.(msg);
  }
}
