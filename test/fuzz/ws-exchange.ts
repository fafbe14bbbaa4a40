/**
 * One fuzz exchange on an open websocket: send the frames, end the way the case says (wait for
 * the server, terminate, an oversized frame, or half a frame and the TCP connection gone), and
 * return the close code seen. A 1011 means a handler bug in the gateway: the caller fails on it.
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';

export type Ending = 'wait' | 'terminate' | 'oversize' | 'cut';
export const ENDINGS: readonly Ending[] = ['wait', 'wait', 'wait', 'terminate', 'oversize', 'cut'];

export interface ExchangeOptions {
  frames: readonly { data: Buffer | string; binary: boolean }[];
  end: Ending;
  /** The frame past the size limit, for `oversize`. */
  oversize: { data: Buffer | string; binary: boolean };
  /** Tally of close codes, for the report. */
  closeCodes: Map<number, number>;
}

/** A masked frame header that promises 64 KiB, then 6 bytes: a frame cut off mid-way. */
const HALF_FRAME = Buffer.from([0x82, 0xfe, 0xff, 0xff, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0]);

export async function exchangeOn(ws: WebSocket, options: ExchangeOptions): Promise<number> {
  const { frames, end, closeCodes } = options;
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  for (const f of frames) if (ws.readyState === ws.OPEN) ws.send(f.data, { binary: f.binary });
  if (end === 'oversize' && ws.readyState === ws.OPEN) ws.send(options.oversize.data, { binary: options.oversize.binary });
  if (end === 'cut') {
    const tcp = (ws as unknown as { _socket: Socket })._socket;
    tcp.write(HALF_FRAME);
    tcp.destroy();
  }
  if (end === 'terminate') ws.terminate();
  const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), end === 'wait' ? 30 : 2_000))]);
  if (code === -1) ws.terminate();
  const final = code === -1 ? await closed : code;
  closeCodes.set(final, (closeCodes.get(final) ?? 0) + 1);
  return final;
}
