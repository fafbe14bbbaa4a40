/**
 * The gateway's internal form of a Jupyter message: the four JSON parts kept as the raw UTF-8
 * bytes the peer sent, so a message that only passes through is never parsed and re-serialised.
 * Only the small header is parsed where routing or status tracking needs it.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/latest/messaging.html (wire protocol 5.3)
 */
import { z } from 'zod';

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
export const messageHeaderSchema = z
  .object({
    msg_id: z.string().min(1).max(256),
    msg_type: z.string().min(1).max(128),
    session: z.string().max(256),
    username: z.string().max(256).optional(),
    version: z.string().max(32).optional(),
    date: z.string().max(64).optional(),
  })
  .loose();
export type MessageHeader = z.infer<typeof messageHeaderSchema>;

export const EMPTY_DICT = Buffer.from('{}');

/** The protocol version we speak and report; ipykernel 6 speaks 5.3. */
export const PROTOCOL_VERSION = '5.3';

/** Parse a header's bytes; returns undefined when they are not a valid header. */
export function parseHeader(bytes: Buffer): MessageHeader | undefined {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = messageHeaderSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

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
