/**
 * Matches a kernel's replies to requests by parent msg_id, the same way for the websocket and
 * the ZeroMQ clients, so every target is timed by one definition:
 *
 *   done = the shell reply (`*_reply`) AND iopub `status: idle` for that parent arrived
 *          (or the reply alone, with `untilReply`, for start-to-kernel_info).
 *
 * Stream text bytes for the parent are counted (iopub throughput). With `capture`, the
 * execute_result's text/plain and the reply's status (and error) are kept, for checking a cell's
 * answer (the Spark rows); off by default, so round trips parse no more JSON than they did. When the connection closes,
 * every request still waiting fails at once (`failAll`) instead of waiting for its deadline.
 */
import type { RawMessage } from '../src/wire/message.js';

export interface RequestResult {
  /** UTF-8 bytes of `stream` text received for the request. */
  readonly streamBytes: number;
  /** iopub/shell messages received for the request. */
  readonly messages: number;
  /** With `capture`: the execute_result's text/plain. */
  readonly result?: string;
  /** With `capture`: the reply's status ("ok", "error") and, for an error, "ename: evalue". */
  readonly status?: string;
  readonly error?: string;
}

interface Waiter {
  reply: boolean;
  idle: boolean;
  untilReply: boolean;
  capture: boolean;
  streamBytes: number;
  messages: number;
  result?: string;
  status?: string;
  error?: string;
  resolve: (r: RequestResult) => void;
  reject: (err: Error) => void;
}

const IDLE = Buffer.from('"idle"');

export class RequestTracker {
  private readonly waiters = new Map<string, Waiter>();

  track(msgId: string, options: { untilReply?: boolean; capture?: boolean } = {}): Promise<RequestResult> {
    const done = new Promise<RequestResult>((resolve, reject) => {
      this.waiters.set(msgId, { reply: false, idle: false, untilReply: options.untilReply ?? false, capture: options.capture ?? false, streamBytes: 0, messages: 0, resolve, reject });
    });
    // A request given up on (its deadline passed, a probe that lost a race) may still fail on
    // close: that must not be an unhandled rejection. Whoever awaits it still sees the error.
    done.catch(() => undefined);
    return done;
  }

  /** Fail every request still waiting (the connection closed). */
  failAll(err: Error): void {
    const waiting = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of waiting) w.reject(err);
  }

  onMessage(msg: RawMessage): void {
    if (msg.parentHeader.length <= 2) return;
    const parent = JSON.parse(msg.parentHeader.toString('utf8')) as { msg_id?: string };
    const waiter = parent.msg_id === undefined ? undefined : this.waiters.get(parent.msg_id);
    if (!waiter) return;
    waiter.messages++;
    const msgType = (JSON.parse(msg.header.toString('utf8')) as { msg_type: string }).msg_type;
    if (waiter.capture) capture(waiter, msgType, msg);
    if (msg.channel === 'shell' && msgType.endsWith('_reply')) waiter.reply = true;
    else if (msgType === 'status' && msg.content.includes(IDLE)) waiter.idle = true;
    else if (msgType === 'stream') {
      waiter.streamBytes += Buffer.byteLength((JSON.parse(msg.content.toString('utf8')) as { text: string }).text);
    }
    if (waiter.reply && (waiter.idle || waiter.untilReply)) {
      this.waiters.delete(parent.msg_id!);
      const { streamBytes, messages, result, status, error } = waiter;
      waiter.resolve({ streamBytes, messages, ...(result === undefined ? {} : { result }), ...(status === undefined ? {} : { status }), ...(error === undefined ? {} : { error }) });
    }
  }
}

/** Keep what answers the request: the result's text/plain, the reply's status, an error's name and value. */
function capture(waiter: Waiter, msgType: string, msg: RawMessage): void {
  if (msgType !== 'execute_result' && msgType !== 'error' && !(msg.channel === 'shell' && msgType.endsWith('_reply'))) return;
  const content = JSON.parse(msg.content.toString('utf8')) as { data?: Record<string, unknown>; status?: string; ename?: string; evalue?: string };
  if (msgType === 'execute_result') {
    const text = content.data?.['text/plain'];
    if (typeof text === 'string') waiter.result = text;
  } else if (msgType === 'error') {
    waiter.error = `${content.ename ?? '?'}: ${content.evalue ?? ''}`;
  } else {
    waiter.status = content.status ?? '?';
    if (content.status === 'error') waiter.error ??= `${content.ename ?? '?'}: ${content.evalue ?? ''}`;
  }
}
