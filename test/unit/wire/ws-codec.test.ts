/**
 * The websocket codecs checked against @jupyterlab/services' own serializer (the client we
 * serve), both protocols, with binary buffers.
 */
import { KernelMessage } from '@jupyterlab/services';
import { serialize, deserialize } from '@jupyterlab/services/lib/kernel/serialize.js';
import { describe, expect, it } from 'vitest';
import type { RawMessage } from '../../../src/wire/message.js';
import { decodeWsMessage, encodeWsMessage, selectProtocol, V1_PROTOCOL } from '../../../src/wire/ws-codec.js';

function clientMessage(buffers: ArrayBuffer[] = []): KernelMessage.IMessage {
  const msg = KernelMessage.createMessage({
    channel: 'shell',
    msgType: 'execute_request',
    session: 'client-session',
    username: 'ada',
    content: { code: 'print("héllo ✓")', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
  });
  (msg as { buffers?: ArrayBuffer[] }).buffers = buffers;
  return msg;
}

function toBuffer(data: string | ArrayBuffer): { buf: Buffer; binary: boolean } {
  return typeof data === 'string' ? { buf: Buffer.from(data, 'utf8'), binary: false } : { buf: Buffer.from(data), binary: true };
}

function rawFrom(msg: KernelMessage.IMessage, buffers: Buffer[] = []): RawMessage {
  return {
    channel: msg.channel,
    header: Buffer.from(JSON.stringify(msg.header)),
    parentHeader: Buffer.from(JSON.stringify(msg.parent_header ?? {})),
    metadata: Buffer.from(JSON.stringify(msg.metadata)),
    content: Buffer.from(JSON.stringify(msg.content)),
    buffers,
  };
}

const bytes = (n: number, seed: number): ArrayBuffer => {
  const u = new Uint8Array(n);
  for (let i = 0; i < n; i++) u[i] = (i * seed) & 0xff;
  return u.buffer;
};

describe.each([
  ['legacy', ''],
  ['v1', V1_PROTOCOL],
] as const)('%s protocol', (protocol, subprotocol) => {
  it('decodes what @jupyterlab/services sends', () => {
    const msg = clientMessage();
    const { buf, binary } = toBuffer(serialize(msg, subprotocol) as string | ArrayBuffer);
    const decoded = decodeWsMessage(buf, binary, protocol);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.message.channel).toBe('shell');
    expect(JSON.parse(decoded.message.header.toString())).toEqual(msg.header);
    expect(JSON.parse(decoded.message.content.toString())).toEqual(msg.content);
    expect(decoded.message.buffers).toEqual([]);
  });

  it('decodes binary buffers', () => {
    const msg = clientMessage([bytes(10, 3), bytes(70_000, 7)]);
    const { buf, binary } = toBuffer(serialize(msg, subprotocol) as string | ArrayBuffer);
    const decoded = decodeWsMessage(buf, binary, protocol);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.message.buffers.map((b) => b.length)).toEqual([10, 70_000]);
    expect(decoded.message.buffers[1]!.equals(Buffer.from(bytes(70_000, 7)))).toBe(true);
  });

  it('encodes what @jupyterlab/services decodes, buffers included', () => {
    const msg = clientMessage();
    const raw = { ...rawFrom(msg, [Buffer.from(bytes(33, 5))]), channel: 'iopub' as const };
    const { data } = encodeWsMessage(raw, protocol);
    const input = typeof data === 'string' ? data : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    const back = deserialize(input as ArrayBuffer, subprotocol) as KernelMessage.IMessage & { buffers: DataView[] };
    expect(back.channel).toBe('iopub');
    expect(back.header).toEqual(msg.header);
    expect(back.content).toEqual(msg.content);
    expect(back.buffers).toHaveLength(1);
    expect(Buffer.from(back.buffers[0]!.buffer).equals(Buffer.from(bytes(33, 5)))).toBe(true);
  });

  it('rejects unknown channels and garbage with a reason', () => {
    const msg = { ...clientMessage(), channel: 'nope' } as unknown as KernelMessage.IMessage;
    const encoded = protocol === 'legacy' ? JSON.stringify(msg) : (serialize(msg, subprotocol) as ArrayBuffer);
    const { buf, binary } = toBuffer(encoded as string | ArrayBuffer);
    const decoded = decodeWsMessage(buf, binary, protocol);
    expect(decoded).toMatchObject({ ok: false });
    expect(decodeWsMessage(Buffer.from([1, 2, 3]), true, protocol)).toMatchObject({ ok: false });
    expect(decodeWsMessage(Buffer.from('{not json'), false, protocol)).toMatchObject({ ok: false });
  });
});

describe('legacy text encoding', () => {
  it('carries msg_id and msg_type at the top level like Jupyter Server', () => {
    const msg = clientMessage();
    const { data, binary } = encodeWsMessage(rawFrom(msg), 'legacy');
    expect(binary).toBe(false);
    const parsed = JSON.parse(data as string);
    expect(parsed.msg_id).toBe(msg.header.msg_id);
    expect(parsed.msg_type).toBe('execute_request');
    expect(parsed.channel).toBe('shell');
  });
});

describe('selectProtocol', () => {
  it('prefers v1 and falls back to legacy', () => {
    expect(selectProtocol([V1_PROTOCOL])).toBe(V1_PROTOCOL);
    expect(selectProtocol(['other', V1_PROTOCOL])).toBe(V1_PROTOCOL);
    expect(selectProtocol([])).toBe(false);
  });
});

describe('v1 offsets', () => {
  it('rejects offsets out of range', () => {
    const good = encodeWsMessage(rawFrom(clientMessage()), 'v1').data as Buffer;
    const bad = Buffer.from(good);
    bad.writeBigUInt64LE(BigInt(bad.length + 100), 8 * 3);
    expect(decodeWsMessage(bad, true, 'v1')).toMatchObject({ ok: false });
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(10n ** 12n, 0);
    expect(decodeWsMessage(huge, true, 'v1')).toMatchObject({ ok: false });
  });
});

describe('headerIds', () => {
  it('reads ids off a kernel-written header and falls back to parsing any other shape', async () => {
    const { headerIds } = await import('../../../src/wire/ws-codec.js');
    expect(headerIds('{"msg_id": "a-1", "msg_type": "status", "username": "u"}')).toEqual({ msgId: 'a-1', msgType: 'status' });
    expect(headerIds('{"msg_type":"x","msg_id":"b"}')).toEqual({ msgId: 'b', msgType: 'x' });
    expect(headerIds('{"msg_id":"q\\"uote","msg_type":"t"}')).toEqual({ msgId: 'q"uote', msgType: 't' });
    expect(headerIds('{"date":"d","nested":{"msg_id":"inner"},"msg_id":"outer","msg_type":"t"}')).toEqual({ msgId: 'outer', msgType: 't' });
    expect(headerIds('not json')).toEqual({ msgId: '', msgType: '' });
  });
});

describe('legacy JSON from hostile clients', () => {
  const legacy = (text: string | Buffer) => decodeWsMessage(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), false, 'legacy');
  const header = '{"msg_id":"m1","msg_type":"execute_request","session":"s","username":"u","version":"5.3","date":""}';

  it('forwards content nested 900 levels deep byte for byte, without parsing it', () => {
    const content = '{"x":' + '['.repeat(900) + ']'.repeat(900) + '}';
    const decoded = legacy(`{"channel":"shell","header":${header},"parent_header":{},"metadata":{},"content":${content}}`);
    expect(decoded.ok && decoded.message.content.toString()).toBe(content);
    expect(decoded.ok && decoded.message.header.toString()).toBe(header);
  });

  it('refuses nesting past MAX_LEGACY_DEPTH (10,000 levels: the frame that once killed the gateway) with a reason', () => {
    const content = '['.repeat(10_000) + ']'.repeat(10_000);
    const decoded = legacy(`{"channel":"shell","header":${header},"content":${content}}`);
    expect(decoded).toEqual({ ok: false, error: expect.stringMatching(/nested deeper than 1000 levels/) });
  });

  it('refuses invalid UTF-8, a missing or non-object header, an unknown channel, trailing garbage', () => {
    expect(legacy(Buffer.concat([Buffer.from(`{"channel":"shell","header":${header},"content":{"code":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')])).ok).toBe(false);
    expect(legacy('{"channel":"shell","content":{}}')).toEqual({ ok: false, error: 'message has no header object' });
    expect(legacy('{"channel":"shell","header":"x"}')).toEqual({ ok: false, error: 'message has no header object' });
    expect(legacy(`{"channel":"nope","header":${header}}`).ok).toBe(false);
    expect(legacy(`{"channel":7,"header":${header}}`).ok).toBe(false);
    expect(legacy(`{"channel":"shell","header":${header}} {}`).ok).toBe(false);
    expect(legacy(`["shell"]`)).toEqual({ ok: false, error: expect.stringMatching(/must be a JSON object/) });
  });

  it('reads null or missing parts as {}, and the last of duplicate keys, as JSON.parse would', () => {
    const decoded = legacy(`{"channel":"iopub","channel":"shell","header":${header},"parent_header":null,"content":{"a":1},"content":{"b":2}}`);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.message.channel).toBe('shell');
    expect(decoded.message.parentHeader.toString()).toBe('{}');
    expect(decoded.message.metadata.toString()).toBe('{}');
    expect(decoded.message.content.toString()).toBe('{"b":2}');
  });
});
