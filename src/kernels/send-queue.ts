/**
 * Serialised sends on one ZeroMQ socket: zeromq.js allows one pending send per socket (EBUSY
 * otherwise). Sends resolve at once while the socket's high-water mark has room, so the queue
 * only grows when the peer stops reading; it is bounded, and overflow drops the message (with a
 * callback). Used by the gateway's client sockets and by kernel adapters' server sockets.
 */
export interface Sendable {
  send(frames: Buffer[]): Promise<void>;
  readonly closed: boolean;
}

export class SendQueue {
  private readonly queue: Buffer[][] = [];
  private sending = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly socket: Sendable,
    private readonly maxQueued: number,
    private readonly onDrop: () => void = () => undefined,
  ) {}

  push(frames: Buffer[]): void {
    if (this.queue.length >= this.maxQueued) {
      this.onDrop();
      return;
    }
    this.queue.push(frames);
    if (!this.sending) void this.pump();
  }

  /** Resolves when everything queued so far was handed to ZeroMQ. */
  drained(): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.socket.closed) await this.socket.send(this.queue.shift()!);
    } catch {
      this.queue.length = 0; // socket closed under us
    } finally {
      this.sending = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
