import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newMessage } from '../../../src/wire/message.js';
import { decodeZmqFrames, DELIMITER, encodeZmqFrames, MessageSigner } from '../../../src/wire/zmq-codec.js';

const msg = newMessage({
  channel: 'shell',
  msgType: 'kernel_info_request',
  session: 's',
  content: {},
  msgId: 'm1',
  date: new Date(0),
});

describe('zmq codec', () => {
  it('signs with HMAC-SHA256 over the four JSON parts, hex encoded', () => {
    const signer = new MessageSigner('secret');
    const frames = encodeZmqFrames(msg, signer);
    expect(frames[0]).toEqual(DELIMITER);
    const expected = createHmac('sha256', 'secret')
      .update(msg.header)
      .update(msg.parentHeader)
      .update(msg.metadata)
      .update(msg.content)
      .digest('hex');
    expect(frames[1]!.toString()).toBe(expected);
  });

  it('round-trips with routing identities and buffers', () => {
    const signer = new MessageSigner('k');
    const frames = [Buffer.from('ident'), ...encodeZmqFrames({ ...msg, buffers: [Buffer.from([1, 2])] }, signer)];
    const decoded = decodeZmqFrames(frames, 'iopub', signer);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) {
      expect(decoded.message.header.equals(msg.header)).toBe(true);
      expect(decoded.message.buffers).toEqual([Buffer.from([1, 2])]);
      expect(decoded.message.channel).toBe('iopub');
    }
  });

  it('rejects a bad signature, a missing delimiter and short messages', () => {
    const frames = encodeZmqFrames(msg, new MessageSigner('right'));
    expect(decodeZmqFrames(frames, 'shell', new MessageSigner('wrong'))).toEqual({ ok: false, error: 'bad_signature' });
    expect(decodeZmqFrames(frames.slice(1), 'shell', new MessageSigner('right'))).toEqual({ ok: false, error: 'no_delimiter' });
    expect(decodeZmqFrames(frames.slice(0, 4), 'shell', new MessageSigner('right'))).toEqual({ ok: false, error: 'too_few_frames' });
  });

  it('an empty key disables signing', () => {
    const signer = new MessageSigner('');
    const frames = encodeZmqFrames(msg, signer);
    expect(frames[1]!.length).toBe(0);
    expect(decodeZmqFrames(frames, 'shell', signer).ok).toBe(true);
  });
});
