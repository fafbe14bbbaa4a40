/**
 * The floor: a Node client talking ZeroMQ straight to a kernel (no gateway), with the
 * gateway's own codec (src/wire), timed by the same RequestTracker definition as the
 * websocket clients.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Dealer, Subscriber } from 'zeromq';
import type { ConnectionInfo } from '../src/kernels/connection-file.js';
import { endpoint } from '../src/kernels/connection-file.js';
import { newMessage, type Channel } from '../src/wire/message.js';
import { decodeZmqFrames, encodeZmqFrames, MessageSigner } from '../src/wire/zmq-codec.js';
import { EXECUTE_DEFAULTS, type BenchClient } from './bench-client.js';
import { DeadlineError, withDeadline, type DeadlineScope } from './deadline.js';
import { RequestTracker, type RequestResult } from './request-tracker.js';

/** ZeroMQ's default reconnect interval is 100 ms; a kernel still binding would cost that much. */
const RECONNECT_IVL_MS = 10;

export class ZmqKernelClient implements BenchClient {
  readonly label = 'floor ZeroMQ client';
  private readonly tracker = new RequestTracker();
  private readonly session = randomUUID();
  private readonly signer: MessageSigner;
  private readonly shell: Dealer;
  private readonly iopub: Subscriber;
  /** zeromq.js allows one pending send per socket: chain them. */
  private sending: Promise<void> = Promise.resolve();

  constructor(info: ConnectionInfo) {
    this.signer = new MessageSigner(info.key);
    this.shell = new Dealer({ linger: 0, routingId: randomBytes(8).toString('hex'), reconnectInterval: RECONNECT_IVL_MS });
    this.shell.connect(endpoint(info, 'shell'));
    this.iopub = new Subscriber({ linger: 0, reconnectInterval: RECONNECT_IVL_MS });
    this.iopub.connect(endpoint(info, 'iopub'));
    this.iopub.subscribe();
    void this.receive(this.shell, 'shell');
    void this.receive(this.iopub, 'iopub');
  }

  private async receive(socket: Dealer | Subscriber, channel: Channel): Promise<void> {
    try {
      for await (const frames of socket) {
        const decoded = decodeZmqFrames(frames, channel, this.signer);
        if (decoded.ok) this.tracker.onMessage(decoded.message);
      }
    } catch {
      /* closed */
    }
  }

  private request(msgType: string, content: unknown, untilReply = false): Promise<RequestResult> {
    const msgId = randomUUID();
    const msg = newMessage({ channel: 'shell', msgType, session: this.session, content, msgId, date: new Date(), username: 'bench' });
    const done = this.tracker.track(msgId, { untilReply });
    const frames = encodeZmqFrames(msg, this.signer);
    // A send that fails (socket closed) would leave its request waiting for nothing.
    this.sending = this.sending.then(() => this.shell.send(frames)).catch((err: unknown) => this.tracker.failAll(new Error(`${this.label}: send failed: ${(err as Error).message}`)));
    return done;
  }

  kernelInfo(options: { untilReply?: boolean } = {}): Promise<RequestResult> {
    return this.request('kernel_info_request', {}, options.untilReply);
  }

  execute(code: string): Promise<RequestResult> {
    return this.request('execute_request', { ...EXECUTE_DEFAULTS, code });
  }

  /**
   * Until iopub is subscribed (ZeroMQ's slow joiner), a request's idle status is lost: ask
   * kernel_info until one completes with its idle status, as jupyter_client's wait_for_ready.
   */
  waitForIopub(scope: DeadlineScope, baseMs = 30_000): Promise<void> {
    return scope.wait(
      async (inner) => {
        for (;;) {
          try {
            // A probe whose idle status was lost never completes: give each 200 ms, then ask again.
            await withDeadline(this.kernelInfo(), 200, 'a kernel_info probe', { signal: inner.signal });
            return;
          } catch (err) {
            if (!(err instanceof DeadlineError) || inner.signal.aborted) throw err;
          }
        }
      },
      baseMs,
      "the floor kernel's iopub to deliver a kernel_info request's status idle",
    );
  }

  close(): void {
    // The receive loops end with the sockets; whatever still waits fails now.
    this.tracker.failAll(new Error(`${this.label} closed`));
    this.shell.close();
    this.iopub.close();
  }
}
