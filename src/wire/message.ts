/**
 * The gateway's internal form of a Jupyter message: the four JSON parts kept as the raw UTF-8
 * bytes the peer sent, so a message that only passes through is never parsed and re-serialised.
 * Only the small header is parsed where routing or status tracking needs it.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/latest/messaging.html (wire protocol 5.3)
 */
import { parseJsonBounded } from './json-scan.js';

export const CHANNELS = ['shell', 'control', 'stdin', 'iopub'] as const;
export type Channel = (typeof CHANNELS)[number];

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}

/** A message with its JSON parts as bytes. `channel` is where it travels. */
export interface RawMessage {
  channel: Channel;
  header: Buffer;
  parentHeader: Buffer;
  metadata: Buffer;
  content: Buffer;
  buffers: Buffer[];
}

/**
 * What the gateway requires of a client message header before forwarding it to a kernel.
 * Unknown fields pass through untouched (the bytes are forwarded, not this parse).
 */
export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username?: string;
  version?: string;
  date?: string;
  [key: string]: unknown;
}

const HEADER_LIMITS: readonly [key: string, max: number, required: boolean][] = [
  ['msg_id', 256, true],
  ['msg_type', 128, true],
  ['session', 256, true],
  ['username', 256, false],
  ['version', 32, false],
  ['date', 64, false],
];

/** Check a parsed header (on every client message: plain checks, no schema library). */
export function isMessageHeader(value: unknown): value is MessageHeader {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const header = value as Record<string, unknown>;
  for (const [key, max, required] of HEADER_LIMITS) {
    const v = header[key];
    if (v === undefined && !required) continue;
    if (typeof v !== 'string' || v.length > max) return false;
    if (required && key !== 'session' && v.length === 0) return false;
  }
  return true;
}

export const EMPTY_DICT = Buffer.from('{}');

/** The protocol version we speak and report; ipykernel 6 speaks 5.3. */
export const PROTOCOL_VERSION = '5.3';

/** Parse a header's bytes; returns undefined when they are not a valid header. */
export function parseHeader(bytes: Buffer): MessageHeader | undefined {
  const parsed = parseJsonBounded(bytes, HEADER_JSON_LIMITS);
  return parsed.ok && isMessageHeader(parsed.value) ? parsed.value : undefined;
}

/**
 * A header is a flat dict of short strings; these bounds are far above any real one and keep a
 * hostile header from costing more than a scan (json-scan.ts).
 */
const HEADER_JSON_LIMITS = { maxDepth: 16, maxBytes: 64 * 1024 };

export interface NewMessageOptions {
  channel: Channel;
  msgType: string;
  session: string;
  content: unknown;
  parentHeader?: Buffer;
  metadata?: unknown;
  username?: string;
  msgId: string;
  date: Date;
}

/** Build a message the gateway itself originates (kernel_info probes, synthesized status). */
export function newMessage(options: NewMessageOptions): RawMessage {
  const header = {
    msg_id: options.msgId,
    msg_type: options.msgType,
    session: options.session,
    username: options.username ?? 'sparkgate',
    date: options.date.toISOString(),
    version: PROTOCOL_VERSION,
  };
  return {
    channel: options.channel,
    header: Buffer.from(JSON.stringify(header)),
    parentHeader: options.parentHeader ?? EMPTY_DICT,
    metadata: Buffer.from(JSON.stringify(options.metadata ?? {})),
    content: Buffer.from(JSON.stringify(options.content)),
    buffers: [],
  };
}
