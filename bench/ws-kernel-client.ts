/**
 * A minimal kernel websocket client for benchmarks: v1 or legacy protocol, measures round
 * trips from execute_request to the execute_reply + idle status, without a client library's own
 * overhead in the numbers.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { newMessage, type RawMessage } from '../src/wire/message.js';
import { decodeWsMessage, encodeWsMessage, V1_PROTOCOL, type WsProtocol } from '../src/wire/ws-codec.js';

export class BenchKernelClient {
  private readonly waiters = new Map<string, { reply: boolean; idle: boolean; resolve: () => void }>();
  private readonly session = randomUUID();

  private constructor(
    private readonly ws: WebSocket,
    private readonly protocol: WsProtocol,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
  }

  static async connect(url: string, kernelId: string, token: string, protocol: WsProtocol = 'v1'): Promise<BenchKernelClient> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels?session_id=${randomUUID()}`, protocol === 'v1' ? [V1_PROTOCOL] : [], {
      headers: { authorization: `token ${token}` },
      perMessageDeflate: false,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new BenchKernelClient(ws, protocol);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const decoded = decodeWsMessage(data, isBinary, this.protocol);
    if (!decoded.ok) return;
    const msg: RawMessage = decoded.message;
    const parent = JSON.parse(msg.parentHeader.toString()) as { msg_id?: string };
    const waiter = parent.msg_id ? this.waiters.get(parent.msg_id) : undefined;
    if (!waiter) return;
    const header = JSON.parse(msg.header.toString()) as { msg_type: string };
    if (header.msg_type === 'execute_reply' || header.msg_type === 'kernel_info_reply') waiter.reply = true;
    if (header.msg_type === 'status' && (JSON.parse(msg.content.toString()) as { execution_state: string }).execution_state === 'idle') {
      waiter.idle = true;
    }
    if (waiter.reply && waiter.idle) {
      this.waiters.delete(parent.msg_id!);
      waiter.resolve();
    }
  }

  /** Resolves when both the reply and the idle status for the request arrived. */
  request(msgType: 'execute_request' | 'kernel_info_request', content: unknown): Promise<void> {
    const msgId = randomUUID();
    const msg = newMessage({ channel: 'shell', msgType, session: this.session, content, msgId, date: new Date() });
    return new Promise((resolve) => {
      this.waiters.set(msgId, { reply: false, idle: false, resolve });
      const { data, binary } = encodeWsMessage(msg, this.protocol);
      this.ws.send(data, { binary });
    });
  }

  execute(code: string): Promise<void> {
    return this.request('execute_request', {
      code,
      silent: false,
      store_history: false,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
  }

  close(): void {
    this.ws.close();
  }
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? NaN;
}
