/**
 * Fuzz tier, kernel websocket: both protocols (legacy JSON as Jupyter Server speaks it, and
 * `v1.kernel.websocket.jupyter.org`) get hostile frames aimed at a "victim" kernel: JSON nested
 * 10,000+ levels, huge numbers, long strings, invalid UTF-8, duplicate keys, wrong types, unknown
 * channels and message types, broken v1 offset tables, binary garbage, frames over the size limit
 * and connections dropped mid-frame. A frame is either forwarded or refused by closing only that
 * websocket (1007 / 1009); a handler bug (1011) fails the test. After each batch the gateway and
 * a bystander's kernel still work.
 */
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { V1_PROTOCOL } from '../../src/wire/ws-codec.js';
import { startFuzzGateway, type FuzzGateway } from './fuzz-gateway.js';
import { fuzzParams } from './fuzz-config.js';
import { ENDINGS, exchangeOn, type Ending } from './ws-exchange.js';

let fg: FuzzGateway;
const closeCodes = new Map<number, number>();

beforeAll(async () => {
  fg = await startFuzzGateway();
}, 60_000);

afterAll(async () => {
  process.stderr.write(`kernel websocket fuzz: close codes ${[...closeCodes].map(([c, n]) => `${c}:${n}`).join(' ')}\n`);
  await fg?.stop();
});

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  fc.constantFrom(deep(10_000), deep(1_200), '{"a":'.repeat(20_000) + '0' + '}'.repeat(20_000), '1e999999', '-' + '9'.repeat(4_000), '"' + 'y'.repeat(300_000) + '"', '{"a":1,"a":{"b":2}}', '"\\ud800"', 'null', '[]', '7'),
);
const SAFE_CODE = ['1+1', 'x = 1', 'print("hi")', '(((', 'raise ValueError("fuzz")', '', 'import sys; sys.stdout.write("é✓")'];
const msgType = fc.oneof(
  fc.constantFrom('execute_request', 'kernel_info_request', 'complete_request', 'inspect_request', 'is_complete_request', 'history_request', 'comm_info_request', 'comm_open', 'comm_msg', 'comm_close', 'input_reply', 'interrupt_request', 'status', ''),
  fc.string({ maxLength: 20 }),
);
const header = fc.oneof(
  { weight: 5, arbitrary: fc.record({ msg_id: fc.uuid(), msg_type: msgType, session: fc.string({ maxLength: 40 }), username: fc.string({ maxLength: 10 }), version: fc.constant('5.3'), date: fc.constant('') }).map((h) => JSON.stringify(h)) },
  hostileValue,
  fc.constantFrom('{"msg_id":1,"msg_type":"execute_request","session":"s"}', '{"msg_id":"x","msg_type":"' + 'z'.repeat(1_000) + '","session":"s"}', '{"msg_id":"a","msg_type":"execute_request","session":"s","extra":' + deep(10_000) + '}'),
);
const content = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SAFE_CODE).map((code) => JSON.stringify({ code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: false })) },
  hostileValue,
);
const channel = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('shell', 'control', 'stdin') }, fc.constantFrom('iopub', 'nope', ''), fc.string({ maxLength: 10 }));

/** One legacy JSON text, assembled as text so that it can hold what JSON.stringify cannot build (duplicates, depth). */
const legacyText = fc
  .record({ channel, header, parent: hostileValue, metadata: hostileValue, content, dupChannel: fc.boolean(), omit: fc.subarray(['header', 'content', 'channel']) })
  .map((m) => {
    const parts: string[] = [];
    if (!m.omit.includes('channel')) parts.push(`"channel":${JSON.stringify(m.channel)}`);
    if (!m.omit.includes('header')) parts.push(`"header":${m.header}`);
    parts.push(`"parent_header":${m.parent}`, `"metadata":${m.metadata}`);
    if (!m.omit.includes('content')) parts.push(`"content":${m.content}`);
    if (m.dupChannel) parts.push('"channel":"iopub"');
    return `{${parts.join(',')}}`;
  });

function v1Frame(parts: Buffer[], corrupt: number | undefined): Buffer {
  const count = parts.length + 1;
  const table = Buffer.alloc(8 * (count + 1));
  table.writeBigUInt64LE(BigInt(count), 0);
  let offset = table.length;
  for (let i = 0; i < parts.length; i++) {
    table.writeBigUInt64LE(BigInt(offset), 8 * (i + 1));
    offset += parts[i]!.length;
  }
  table.writeBigUInt64LE(BigInt(offset), 8 * count);
  if (corrupt !== undefined) table.writeBigUInt64LE(BigInt(corrupt) * 0x1_0000_0001n, 8 * (1 + (corrupt % count)));
  return Buffer.concat([table, ...parts]);
}

type Frame = { data: Buffer; binary: boolean };
const legacyFrame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 6, arbitrary: legacyText.map((t) => ({ data: Buffer.from(t, 'utf8'), binary: false })) },
  fc.uint8Array({ maxLength: 200 }).map((u) => ({ data: Buffer.from(u), binary: false })), // invalid UTF-8 text frames
  fc.uint8Array({ maxLength: 200 }).map((u) => ({ data: Buffer.from(u), binary: true })), // legacy binary garbage
  fc.tuple(legacyText, fc.integer({ min: 0, max: 3000 })).map(([t, n]) => {
    const json = Buffer.from(t);
    const head = Buffer.alloc(12);
    head.writeUInt32BE(2, 0);
    head.writeUInt32BE(12, 4);
    head.writeUInt32BE(12 + json.length + (n % 7 === 0 ? 1_000_000 : 0), 8);
    return { data: Buffer.concat([head, json, Buffer.alloc(n)]), binary: true };
  }),
);
const v1Part = fc.oneof(hostileValue.map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)));
const v1FrameArb: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(channel, header, v1Part, v1Part, content, fc.array(v1Part, { maxLength: 3 }), fc.option(fc.nat(), { freq: 4 })).map(([c, h, p, m, body, bufs, corrupt]) => ({ data: v1Frame([Buffer.from(c), Buffer.from(h), p, m, Buffer.from(body), ...bufs], corrupt ?? undefined), binary: true })) },
  fc.uint8Array({ maxLength: 200 }).map((u) => ({ data: Buffer.from(u), binary: true })),
  fc.tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.uint8Array({ maxLength: 100 })).map(([n, rest]) => {
    const b = Buffer.alloc(8 + rest.length);
    b.writeBigUInt64LE(n, 0);
    Buffer.from(rest).copy(b, 8);
    return { data: b, binary: true };
  }),
  legacyText.map((t) => ({ data: Buffer.from(t), binary: false })), // text on the binary-only protocol
);

const ending = fc.constantFrom(...ENDINGS);

function open(protocol: 'legacy' | 'v1'): Promise<WebSocket> {
  const url = `${fg.tg.url.replace(/^http/, 'ws')}/api/kernels/${fg.victimId}/channels?session_id=${Math.random().toString(36).slice(2)}&token=${fg.tg.token}`;
  const ws = new WebSocket(url, protocol === 'v1' ? [V1_PROTOCOL] : []);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function exchange(protocol: 'legacy' | 'v1', frames: Frame[], end: Ending): Promise<void> {
  const ws = await open(protocol);
  const final = await exchangeOn(ws, { frames, end, closeCodes, oversize: { data: Buffer.alloc(1024 * 1024 + 10, 0x20), binary: protocol === 'v1' } });
  expect(final, 'a handler failed (1011): see the gateway log').not.toBe(1011);
}

describe('kernel websocket fuzz', () => {
  for (const protocol of ['legacy', 'v1'] as const) {
    for (let batch = 1; batch <= 3; batch++) {
      it(`${protocol} batch ${batch}: hostile frames close only their own websocket; the gateway and the bystander's kernel carry on`, async () => {
        const frame = protocol === 'v1' ? v1FrameArb : legacyFrame;
        await fc.assert(
          fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 4 }), ending, async (frames, end) => exchange(protocol, frames, end)),
          fuzzParams(120),
        );
        await fg.assertHealthy();
        expect(fg.tg.logLines.filter((l) => l.includes('handler failed'))).toEqual([]);
      }, 240_000);
    }
  }

  it('the frame that once killed the gateway (content nested 10,000 levels) closes only its sender, both protocols', async () => {
    const header = JSON.stringify({ msg_id: 'm', msg_type: 'execute_request', session: 's', username: 'u', version: '5.3', date: '' });
    const text = `{"channel":"shell","header":${header},"parent_header":{},"metadata":{},"content":${deep(10_000)}}`;
    const legacy = await open('legacy');
    const code = await new Promise<number>((resolve) => {
      legacy.once('close', (c) => resolve(c));
      legacy.send(text);
    });
    expect(code).toBe(1007);
    // v1 forwards the content bytes without parsing them; the kernel drops what it cannot parse.
    const v1 = await open('v1');
    v1.send(v1Frame([Buffer.from('shell'), Buffer.from(header), Buffer.from('{}'), Buffer.from('{}'), Buffer.from(deep(10_000))], undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(v1.readyState).toBe(v1.OPEN);
    v1.close();
    await fg.assertHealthy();
  });
});
