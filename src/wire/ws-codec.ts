/**
 * Websocket encodings of Jupyter messages, pure (no sockets). Two protocols, chosen by the
 * websocket subprotocol, exactly as `@jupyterlab/services` `kernel/serialize.ts` and Jupyter
 * Server's `services/kernels/connection/base.py` do:
 *
 * - legacy (no subprotocol): a text frame holding the message as one JSON object with a
 *   `channel` key, or, when the message has binary buffers, a binary frame:
 *   u32be nbufs, nbufs x u32be offsets, JSON message bytes, buffer bytes...
 * - `v1.kernel.websocket.jupyter.org`: a binary frame:
 *   u64le n, n x u64le offsets, channel, header, parent_header, metadata, content, buffers...
 *   (the last offset is the end of the data), which maps one to one onto the ZeroMQ frames, so
 *   the gateway forwards the JSON parts' bytes without parsing them.
 */
import { isUtf8 } from 'node:buffer';
import { splitJsonObject } from './json-scan.js';
import { EMPTY_DICT, isChannel, type RawMessage } from './message.js';

export const V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org';
export type WsProtocol = 'legacy' | 'v1';

export type WsDecodeResult = { ok: true; message: RawMessage } | { ok: false; error: string };

/** Pick the subprotocol from what the client offers: v1 when offered, else legacy (none). */
export function selectProtocol(offered: Iterable<string>): string | false {
  for (const p of offered) if (p === V1_PROTOCOL) return V1_PROTOCOL;
  return false;
}

export function decodeWsMessage(data: Buffer, isBinary: boolean, protocol: WsProtocol): WsDecodeResult {
  if (protocol === 'v1') {
    return isBinary ? decodeV1(data) : { ok: false, error: 'the v1 protocol takes binary frames only' };
  }
  return isBinary ? decodeLegacyBinary(data) : decodeLegacyJson(data, []);
}

export function encodeWsMessage(msg: RawMessage, protocol: WsProtocol): { data: Buffer | string; binary: boolean } {
  if (protocol === 'v1') return { data: encodeV1(msg), binary: true };
  return msg.buffers.length > 0
    ? { data: encodeLegacyBinary(msg), binary: true }
    : { data: encodeLegacyJson(msg), binary: false };
}

// ---- v1.kernel.websocket.jupyter.org ----

const MAX_V1_OFFSETS = 1 + 4 + 1 + 1024; // channel + 4 JSON parts + end + up to 1024 buffers

export function decodeV1(data: Buffer): WsDecodeResult {
  if (data.length < 8) return { ok: false, error: 'frame too short for an offset table' };
  const count = Number(data.readBigUInt64LE(0));
  if (count < 6 || count > MAX_V1_OFFSETS) return { ok: false, error: `bad offset count ${count}` };
  if (data.length < 8 * (count + 1)) return { ok: false, error: 'frame shorter than its offset table' };
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    const value = Number(data.readBigUInt64LE(8 * (i + 1)));
    const previous = offsets[i - 1] ?? 8 * (count + 1);
    if (value < previous || value > data.length) return { ok: false, error: 'offsets out of order or out of range' };
    offsets.push(value);
  }
  const part = (i: number): Buffer => data.subarray(offsets[i]!, offsets[i + 1]!);
  const channel = part(0).toString('utf8');
  if (!isChannel(channel)) return { ok: false, error: `unknown channel ${JSON.stringify(channel.slice(0, 32))}` };
  const buffers: Buffer[] = [];
  for (let i = 5; i < count - 1; i++) buffers.push(part(i));
  return {
    ok: true,
    message: {
      channel,
      header: part(1),
      parentHeader: emptyAsDict(part(2)),
      metadata: emptyAsDict(part(3)),
      content: emptyAsDict(part(4)),
      buffers,
    },
  };
}

export function encodeV1(msg: RawMessage): Buffer {
  const channel = Buffer.from(msg.channel, 'utf8');
  const parts = [channel, msg.header, msg.parentHeader, msg.metadata, msg.content, ...msg.buffers];
  const count = parts.length + 1;
  const tableBytes = 8 * (count + 1);
  let total = tableBytes;
  for (const p of parts) total += p.length;
  const out = Buffer.allocUnsafe(total);
  out.writeBigUInt64LE(BigInt(count), 0);
  let offset = tableBytes;
  for (let i = 0; i < parts.length; i++) {
    out.writeBigUInt64LE(BigInt(offset), 8 * (i + 1));
    parts[i]!.copy(out, offset);
    offset += parts[i]!.length;
  }
  out.writeBigUInt64LE(BigInt(offset), 8 * count);
  return out;
}

// ---- legacy JSON ----

function emptyAsDict(bytes: Buffer): Buffer {
  return bytes.length === 0 ? EMPTY_DICT : bytes;
}

const NULL = Buffer.from('null');

/**
 * Nesting allowed in a legacy message (the message object itself is level 1). Python's json, and
 * so Jupyter Server and ipykernel, give up near 1,000 levels; a deeper message could only be
 * dropped by the kernel without a reply, so the client is told at once instead.
 */
export const MAX_LEGACY_DEPTH = 1_000;

/**
 * A legacy message, split into its parts' bytes without parsing them: the whole text is
 * validated as JSON (iteratively, json-scan.ts) and only the short `channel` string is decoded.
 */
function decodeLegacyJson(json: Buffer, buffers: Buffer[]): WsDecodeResult {
  if (!isUtf8(json)) return { ok: false, error: 'message is not valid UTF-8' };
  const split = splitJsonObject(json, MAX_LEGACY_DEPTH);
  if (!split.ok) return { ok: false, error: `message is not valid JSON: ${split.error}` };
  const { members } = split;
  const channelBytes = members.get('channel');
  const channel = channelBytes && channelBytes.length <= 64 && channelBytes[0] === 0x22 ? (JSON.parse(channelBytes.toString('utf8')) as string) : undefined;
  if (!isChannel(channel)) {
    return { ok: false, error: `unknown channel ${channelBytes ? channelBytes.toString('utf8', 0, 32) : '(none)'}` };
  }
  const header = members.get('header');
  if (!header || header[0] !== 0x7b) return { ok: false, error: 'message has no header object' };
  const dict = (v: Buffer | undefined): Buffer => (v === undefined || v.equals(NULL) ? EMPTY_DICT : v);
  return {
    ok: true,
    message: {
      channel,
      header,
      parentHeader: dict(members.get('parent_header')),
      metadata: dict(members.get('metadata')),
      content: dict(members.get('content')),
      buffers,
    },
  };
}

function decodeLegacyBinary(data: Buffer): WsDecodeResult {
  if (data.length < 8) return { ok: false, error: 'binary frame too short' };
  const nbufs = data.readUInt32BE(0);
  if (nbufs < 1 || nbufs > 1025 || data.length < 4 * (nbufs + 1)) {
    return { ok: false, error: `bad buffer count ${nbufs}` };
  }
  const offsets: number[] = [];
  for (let i = 1; i <= nbufs; i++) {
    const value = data.readUInt32BE(i * 4);
    const previous = offsets[offsets.length - 1] ?? 4 * (nbufs + 1);
    if (value < previous || value > data.length) return { ok: false, error: 'offsets out of order or out of range' };
    offsets.push(value);
  }
  const slice = (i: number): Buffer => data.subarray(offsets[i]!, offsets[i + 1] ?? data.length);
  const buffers: Buffer[] = [];
  for (let i = 1; i < nbufs; i++) buffers.push(slice(i));
  return decodeLegacyJson(slice(0), buffers);
}

const HEADER_ID = /^\{\s*"msg_id"\s*:\s*"([^"\\]*)"\s*,\s*"msg_type"\s*:\s*"([^"\\]*)"\s*[,}]/;

/**
 * msg_id and msg_type from header bytes (Jupyter Server puts both at the top level of legacy
 * messages). jupyter_client and ipykernel write them first, in that order, without escapes: read
 * them straight off the bytes then, and parse the header only when it looks any different.
 */
export function headerIds(text: string): { msgId: string; msgType: string } {
  const fast = HEADER_ID.exec(text);
  if (fast) return { msgId: fast[1]!, msgType: fast[2]! };
  try {
    const h = JSON.parse(text) as { msg_id?: unknown; msg_type?: unknown };
    return { msgId: String(h.msg_id ?? ''), msgType: String(h.msg_type ?? '') };
  } catch {
    return { msgId: '', msgType: '' };
  }
}

/**
 * The legacy JSON text, assembled from the parts' bytes (they are already JSON, checked by the
 * kernel's HMAC), so no content is parsed or re-serialised on the way out.
 */
export function encodeLegacyJson(msg: RawMessage): string {
  const header = msg.header.toString('utf8');
  const { msgId, msgType } = headerIds(header);
  return (
    '{"header":' +
    header +
    ',"msg_id":' +
    JSON.stringify(msgId) +
    ',"msg_type":' +
    JSON.stringify(msgType) +
    ',"parent_header":' +
    msg.parentHeader.toString('utf8') +
    ',"metadata":' +
    msg.metadata.toString('utf8') +
    ',"content":' +
    msg.content.toString('utf8') +
    ',"buffers":[],"channel":' +
    JSON.stringify(msg.channel) +
    '}'
  );
}

export function encodeLegacyBinary(msg: RawMessage): Buffer {
  const json = Buffer.from(encodeLegacyJson(msg), 'utf8');
  const chunks = [json, ...msg.buffers];
  const nbufs = chunks.length;
  const tableBytes = 4 * (nbufs + 1);
  let total = tableBytes;
  for (const c of chunks) total += c.length;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(nbufs, 0);
  let offset = tableBytes;
  for (let i = 0; i < nbufs; i++) {
    out.writeUInt32BE(offset, 4 * (i + 1));
    chunks[i]!.copy(out, offset);
    offset += chunks[i]!.length;
  }
  return out;
}
