/**
 * A minimal kernel websocket client for benchmarks: v1 or legacy protocol, without a client
 * library's own overhead in the numbers. Requests are timed by RequestTracker's definition.
 */
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { newMessage } from '../src/wire/message.js';
import { decodeWsMessage, encodeWsMessage, V1_PROTOCOL, type WsProtocol } from '../src/wire/ws-codec.js';
import { EXECUTE_DEFAULTS, type BenchClient } from './bench-client.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { RequestTracker, type RequestResult } from './request-tracker.js';
import { openWebSocket } from './waits.js';

export { percentile } from './stats.js';

export interface WsConnectOptions {
  /** Base URL of the server, http://host:port */
  readonly url: string;
  readonly kernelId: string;
  readonly token: string;
  readonly protocol?: WsProtocol;
  /** The server, for deadline errors: "Jupyter Server". */
  readonly serverLabel?: string;
}

export class BenchKernelClient implements BenchClient {
  private readonly tracker = new RequestTracker();
  private readonly session = randomUUID();
  /** Websocket payload bytes received. */
  bytesReceived = 0;

  private constructor(
    private readonly ws: WebSocket,
    private readonly protocol: WsProtocol,
    readonly label: string,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.bytesReceived += data.length;
      const decoded = decodeWsMessage(data, isBinary, this.protocol);
      if (decoded.ok) this.tracker.onMessage(decoded.message);
    });
    // A server that dies or drops us fails the requests in flight now, not at their deadlines.
    ws.on('close', (code: number) => this.tracker.failAll(new Error(`${label} closed (code ${code})`)));
  }

  /** Open the kernel websocket within WAIT_MS.wsOpen (scaled). */
  static async connect(scope: DeadlineScope, options: WsConnectOptions): Promise<BenchKernelClient> {
    const protocol = options.protocol ?? 'v1';
    const label = `${options.serverLabel ?? options.url} ${protocol} websocket`;
    const wsUrl = `${options.url.replace(/^http/, 'ws')}/api/kernels/${options.kernelId}/channels?session_id=${randomUUID()}`;
    const ws = await openWebSocket(
      scope,
      wsUrl,
      protocol === 'v1' ? [V1_PROTOCOL] : [],
      { headers: { authorization: `token ${options.token}` }, perMessageDeflate: false },
      { baseMs: WAIT_MS.wsOpen, what: `${label} of kernel ${options.kernelId} to open` },
    );
    if (protocol === 'v1' && ws.protocol !== V1_PROTOCOL) {
      ws.terminate();
      throw new Error(`server did not accept ${V1_PROTOCOL}`);
    }
    return new BenchKernelClient(ws, protocol, label);
  }

  private request(msgType: string, content: unknown, untilReply = false, capture = false): Promise<RequestResult> {
    const msgId = randomUUID();
    const msg = newMessage({ channel: 'shell', msgType, session: this.session, content, msgId, date: new Date(), username: 'bench' });
    const done = this.tracker.track(msgId, { untilReply, capture });
    // ws drops sends on a closing socket silently: fail now instead of at the deadline.
    if (this.ws.readyState !== this.ws.OPEN) this.tracker.failAll(new Error(`${this.label} is closed`));
    const { data, binary } = encodeWsMessage(msg, this.protocol);
    this.ws.send(data, { binary });
    return done;
  }

  kernelInfo(options: { untilReply?: boolean } = {}): Promise<RequestResult> {
    return this.request('kernel_info_request', {}, options.untilReply);
  }

  execute(code: string): Promise<RequestResult> {
    return this.request('execute_request', { ...EXECUTE_DEFAULTS, code });
  }

  /** `execute`, keeping the result's text/plain and the reply's status (RequestResult.result, .status). */
  executeForResult(code: string): Promise<RequestResult> {
    return this.request('execute_request', { ...EXECUTE_DEFAULTS, code }, false, true);
  }

  close(): void {
    this.tracker.failAll(new Error(`${this.label} closed by the bench`));
    this.ws.close();
  }
}
