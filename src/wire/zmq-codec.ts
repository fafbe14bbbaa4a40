/**
 * ZeroMQ framing of Jupyter messages, pure (no sockets).
 *
 *   [ident..., b'<IDS|MSG>', hmac_hex, header, parent_header, metadata, content, buffers...]
 *
 * The signature is HMAC-SHA256 over the four JSON parts, hex encoded; an empty key disables
 * signing (jupyter_client's behaviour). Spec:
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Channel, RawMessage } from './message.js';

export const DELIMITER = Buffer.from('<IDS|MSG>');

export class MessageSigner {
  private readonly key: Buffer;

  constructor(key: string | Buffer) {
    this.key = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  }

  get enabled(): boolean {
    return this.key.length > 0;
  }

  sign(parts: readonly Buffer[]): Buffer {
    if (!this.enabled) return Buffer.alloc(0);
    const hmac = createHmac('sha256', this.key);
    for (const part of parts) hmac.update(part);
    return Buffer.from(hmac.digest('hex'), 'latin1');
  }

  verify(signature: Buffer, parts: readonly Buffer[]): boolean {
    if (!this.enabled) return true;
    const expected = this.sign(parts);
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }
}

/** Frames for sending `msg` on a DEALER/ROUTER/PUB socket (no identities: DEALER adds none). */
export function encodeZmqFrames(msg: RawMessage, signer: MessageSigner): Buffer[] {
  const parts = [msg.header, msg.parentHeader, msg.metadata, msg.content];
  return [DELIMITER, signer.sign(parts), ...parts, ...msg.buffers];
}

export type ZmqDecodeResult =
  | { ok: true; message: RawMessage }
  | { ok: false; error: 'no_delimiter' | 'too_few_frames' | 'bad_signature' };

/** Parse frames received from a kernel socket; verifies the HMAC signature. */
export function decodeZmqFrames(frames: readonly Buffer[], channel: Channel, signer: MessageSigner): ZmqDecodeResult {
  let at = -1;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    if (frame.length === DELIMITER.length && frame.equals(DELIMITER)) {
      at = i;
      break;
    }
  }
  if (at < 0) return { ok: false, error: 'no_delimiter' };
  if (frames.length < at + 6) return { ok: false, error: 'too_few_frames' };
  const signature = frames[at + 1]!;
  const header = frames[at + 2]!;
  const parentHeader = frames[at + 3]!;
  const metadata = frames[at + 4]!;
  const content = frames[at + 5]!;
  if (!signer.verify(signature, [header, parentHeader, metadata, content])) {
    return { ok: false, error: 'bad_signature' };
  }
  return {
    ok: true,
    message: { channel, header, parentHeader, metadata, content, buffers: frames.slice(at + 6) as Buffer[] },
  };
}
