/**
 * Fuzz tier, terminal websocket (terminado): hostile frames at a live Python REPL terminal (deep
 * and huge JSON, binary frames, invalid UTF-8, wrong types for every verb, absurd sizes, unknown
 * verbs, oversized frames, connections cut mid-frame). A bad frame is ignored or closes only its
 * own websocket (1007 / 1009); a handler bug (1011) fails the test. After each batch the gateway,
 * a bystander's kernel and a fresh terminal all still work.
 */
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/gateway.js';
import { createTerminal, terminalWsUrl, WsTerminal } from '../integration/terminals/terminal-helpers.js';
import { hostileJsonTexts, startFuzzGateway, type FuzzGateway } from './fuzz-gateway.js';
import { fuzzParams } from './fuzz-config.js';
import { ENDINGS, exchangeOn, type Ending } from './ws-exchange.js';

let fg: FuzzGateway;
let target: string;
const closeCodes = new Map<number, number>();

beforeAll(async () => {
  fg = await startFuzzGateway();
  target = (await createTerminal(fg.tg)).name;
}, 60_000);

afterAll(async () => {
  process.stderr.write(`terminado fuzz: close codes ${[...closeCodes].map(([c, n]) => `${c}:${n}`).join(' ')}\n`);
  await fg?.stop();
});

/** stdin the REPL may run: harmless by construction (no calls, no imports). */
const safeStdin = fc.string({ unit: fc.constantFrom(...'abcxyz0123456789 +-*\n'.split('')), maxLength: 40 });
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(1e308, -1, 0, 2 ** 53, 1.5, '', 'x'.repeat(10_000)));
const frame = fc.oneof(
  { weight: 3, arbitrary: safeStdin.map((t) => ({ data: Buffer.from(JSON.stringify(['stdin', t])), binary: false })) },
  { weight: 2, arbitrary: fc.tuple(anyValue, anyValue, fc.array(anyValue, { maxLength: 3 })).map(([r, c, extra]) => ({ data: Buffer.from(JSON.stringify(['set_size', r, c, ...extra])), binary: false })) },
  fc.tuple(fc.oneof(fc.constantFrom('stdin', 'set_size', 'setup', 'stdout', 'disconnect', ''), fc.string({ maxLength: 12 })), anyValue).map(([verb, v]) => ({ data: Buffer.from(JSON.stringify([verb, v])), binary: false })),
  fc.constantFrom(...hostileJsonTexts(), '["stdin",' + '['.repeat(10_000) + ']'.repeat(10_000) + ']', '[' + '"stdin",'.repeat(5_000) + '"x"]').map((t) => ({ data: Buffer.from(t), binary: false })),
  fc.tuple(fc.uint8Array({ maxLength: 100 }), fc.boolean()).map(([u, binary]) => ({ data: Buffer.from(u), binary })),
);
const ending = fc.constantFrom(...ENDINGS);

async function exchange(frames: { data: Buffer; binary: boolean }[], end: Ending): Promise<void> {
  const ws = new WebSocket(terminalWsUrl(fg.tg, target));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const final = await exchangeOn(ws, { frames, end, closeCodes, oversize: { data: JSON.stringify(['stdin', 'x'.repeat(1024 * 1024 + 10)]), binary: false } });
  expect(final, 'a terminal handler failed (1011): see the gateway log').not.toBe(1011);
}

describe('terminado fuzz', () => {
  for (let batch = 1; batch <= 3; batch++) {
    it(`batch ${batch}: hostile frames are ignored or close their own websocket; terminals, kernels and the gateway carry on`, async () => {
      // The REPL may have been ended by input in an earlier batch (Ctrl-D cannot be generated, but be sure).
      const state = await api(fg.tg, `/api/terminals/${target}`);
      if (state.status !== 200) target = (await createTerminal(fg.tg)).name;
      await fc.assert(fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 5 }), ending, exchange), fuzzParams(100));
      await fg.assertHealthy();
      expect(fg.tg.logLines.filter((l) => l.includes('handler failed'))).toEqual([]);
      // The fuzzed terminal and a fresh one both still run code.
      for (const name of [target, (await createTerminal(fg.tg)).name]) {
        const t = await WsTerminal.open(fg.tg, name);
        t.type('\n'); // end whatever half line the fuzz left typed
        await t.run('print(6*7)', /\r\n42\r\n/, 15_000);
        t.close();
        if (name !== target) await api(fg.tg, `/api/terminals/${name}`, { method: 'DELETE' });
      }
    }, 240_000);
  }
});
