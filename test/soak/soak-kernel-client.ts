/**
 * A lean kernel websocket client for the soak: the gateway's own pure codecs
 * (`src/wire/ws-codec.ts`, v1 or legacy) over `ws`, like bench/ws-kernel-client.ts, but
 * keeping what the soak checks: the `execute_result`, the error name, the reply status, and when
 * the cell's code started running (its first output). Every pending request fails when the
 * websocket closes, so a cycle that deletes its kernel mid-execution never hangs. `terminate()`
 * drops the TCP connection without a close frame (a laptop lid closing).
 *
 * Messaging spec: https://jupyter-client.readthedocs.io/en/latest/messaging.html#execute
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { newMessage, type RawMessage } from '../../src/wire/message.js';
import { decodeWsMessage, encodeWsMessage, V1_PROTOCOL, type WsProtocol } from '../../src/wire/ws-codec.js';

export interface ExecuteOutcome {
  /** `execute_reply` status: ok, error, aborted. */
  readonly status: string;
  /** `text/plain` of the execute_result, when there was one. */
  readonly result?: string;
  /** `ename` of the error, when there was one. */
  readonly ename?: string;
}

export interface Execution {
  /**
   * Resolves on the request's first `stream` output: the cell's code is running. (iopub `busy`
   * comes earlier, before ipykernel lets SIGINT raise KeyboardInterrupt: an interrupt sent then
   * is ignored.)
   */
  readonly printed: Promise<void>;
  /** Resolves on the reply and the `idle` that follows it. */
  readonly done: Promise<ExecuteOutcome>;
}

export interface SoakConnectOptions {
  readonly url: string;
  readonly token: string;
  readonly kernelId: string;
  readonly protocol: WsProtocol;
  readonly timeoutMs: number;
}

/** execute_request content besides `code` (messaging spec 5.3). */
const EXECUTE_DEFAULTS = { silent: false, store_history: false, user_expressions: {}, allow_stdin: false } as const;

interface Pending {
  status?: string;
  result?: string;
  ename?: string;
  idle: boolean;
  onPrinted: () => void;
  resolve: (outcome: ExecuteOutcome) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class SoakKernelClient {
  private readonly session = randomUUID();
  private readonly pending = new Map<string, Pending>();
  private closedWith: string | undefined;
  /** Resolves with `code reason` once the websocket is closed, by either side. */
  readonly closed: Promise<string>;

  private constructor(
    private readonly ws: WebSocket,
    private readonly protocol: WsProtocol,
    private readonly timeoutMs: number,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const decoded = decodeWsMessage(data, isBinary, protocol);
      if (decoded.ok) this.onMessage(decoded.message);
    });
    // A dropped connection surfaces as 'error' then 'close'; the close settles everything.
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this.closedWith = `${code} ${reason.toString('utf8')}`.trim();
        for (const [msgId, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new Error(`websocket closed (${this.closedWith}) before the reply`));
          this.pending.delete(msgId);
        }
        resolve(this.closedWith);
      });
    });
  }

  static async connect(options: SoakConnectOptions): Promise<SoakKernelClient> {
    const wsUrl = `${options.url.replace(/^http/, 'ws')}/api/kernels/${options.kernelId}/channels?session_id=${randomUUID()}`;
    const ws = new WebSocket(wsUrl, options.protocol === 'v1' ? [V1_PROTOCOL] : [], {
      headers: { authorization: `token ${options.token}` },
      perMessageDeflate: false,
      handshakeTimeout: options.timeoutMs,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`));
      });
    });
    if (options.protocol === 'v1' && ws.protocol !== V1_PROTOCOL) throw new Error(`server did not accept ${V1_PROTOCOL}`);
    return new SoakKernelClient(ws, options.protocol, options.timeoutMs);
  }

  get isOpen(): boolean {
    return this.closedWith === undefined;
  }

  /**
   * `stopOnError: false` for a cell that will be interrupted: with `true` ipykernel answers the
   * requests queued behind a failed cell `aborted`, and it keeps aborting for a moment after the
   * failed cell's `idle` (kernelbase.py `_abort_queues`), which a fast client's next cell hits.
   */
  execute(code: string, options: { stopOnError?: boolean } = {}): Execution {
    const msgId = randomUUID();
    let onPrinted!: () => void;
    const printed = new Promise<void>((resolve) => (onPrinted = resolve));
    const done = new Promise<ExecuteOutcome>((resolve, reject) => {
      if (this.closedWith !== undefined) return reject(new Error(`websocket already closed (${this.closedWith})`));
      const timer = setTimeout(() => {
        this.pending.delete(msgId);
        reject(new Error(`no execute_reply and idle for ${JSON.stringify(code)} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(msgId, { idle: false, onPrinted, resolve, reject, timer });
    });
    // A cycle may never await `done` (it deletes the kernel instead): keep that from being unhandled.
    done.catch(() => {});
    const msg = newMessage({ channel: 'shell', msgType: 'execute_request', session: this.session, content: { ...EXECUTE_DEFAULTS, stop_on_error: options.stopOnError ?? true, code }, msgId, date: new Date(), username: 'soak' });
    const { data, binary } = encodeWsMessage(msg, this.protocol);
    this.ws.send(data, { binary });
    return { printed, done };
  }

  /** A polite close (close frame, code 1000). */
  close(): Promise<string> {
    this.ws.close(1000, 'soak cycle done');
    return this.closed;
  }

  /** Drop the TCP connection with no close frame. */
  terminate(): Promise<string> {
    this.ws.terminate();
    return this.closed;
  }

  private onMessage(msg: RawMessage): void {
    if (msg.parentHeader.length <= 2) return;
    const parentId = (JSON.parse(msg.parentHeader.toString('utf8')) as { msg_id?: string }).msg_id;
    const p = parentId === undefined ? undefined : this.pending.get(parentId);
    if (!p) return;
    const msgType = (JSON.parse(msg.header.toString('utf8')) as { msg_type: string }).msg_type;
    const content = JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>;
    switch (msgType) {
      case 'status':
        if (content['execution_state'] === 'idle') p.idle = true;
        break;
      case 'stream':
        p.onPrinted();
        break;
      case 'execute_result':
        p.result = String((content['data'] as Record<string, unknown> | undefined)?.['text/plain']);
        break;
      case 'error':
        p.ename = String(content['ename']);
        break;
      case 'execute_reply':
        p.status = String(content['status']);
        if (p.ename === undefined && content['ename'] !== undefined) p.ename = String(content['ename']);
        break;
      default:
    }
    if (p.status !== undefined && p.idle) {
      clearTimeout(p.timer);
      this.pending.delete(parentId!);
      p.resolve({
        status: p.status,
        ...(p.result !== undefined ? { result: p.result } : {}),
        ...(p.ename !== undefined ? { ename: p.ename } : {}),
      });
    }
  }
}
