/**
 * The executor log ring: appends, the newest half kept behind a cumulative marker when full
 * (also after a restart), tail reads, and followers that see every later line exactly once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BoundedLogFile, droppedMarker } from '../../../src/logs/bounded-log-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-bounded-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const line = (i: number) => `line ${String(i).padStart(2, '0')}\n`; // 8 bytes
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => line(from + k)).join('');

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(l);
  return out;
}

function ring(maxBytes = 100): BoundedLogFile {
  return new BoundedLogFile({ path: path.join(dir, 'e.log'), maxBytes });
}

describe('BoundedLogFile', () => {
  it('appends whole lines under the limit (a missing final newline is added)', async () => {
    const f = ring();
    await f.append('one\n');
    await f.append('two');
    await f.append('');
    expect(readFileSync(f.path, 'utf8')).toBe('one\ntwo\n');
    expect(f.droppedBytes).toBe(0);
  });

  it('when full keeps the newest half from a line start, behind a marker counting every dropped byte', async () => {
    const f = ring(100);
    for (let i = 0; i < 12; i++) await f.append(line(i)); // 96 bytes
    await f.append(line(12)); // 104 > 100: keep the newest 50, from a line start: lines 07..12
    expect(readFileSync(f.path, 'utf8')).toBe(`${droppedMarker(56)}${lines(7, 12)}`);
    expect(f.droppedBytes).toBe(56);
    for (let i = 13; i < 60; i++) await f.append(line(i));
    const text = readFileSync(f.path, 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(100);
    expect(text.endsWith(line(59))).toBe(true);
    // Every byte is either kept or counted by the marker.
    const kept = Buffer.byteLength(text) - Buffer.byteLength(droppedMarker(f.droppedBytes));
    expect(text.startsWith(droppedMarker(f.droppedBytes))).toBe(true);
    expect(kept + f.droppedBytes).toBe(60 * 8);
  });

  it('an append larger than the ring keeps its newest half', async () => {
    const f = ring(64);
    await f.append(lines(0, 19)); // 160 bytes at once
    expect(readFileSync(f.path, 'utf8')).toBe(`${droppedMarker(128)}${lines(16, 19)}`);
  });

  it('cuts a line longer than half the ring at a character start', async () => {
    const f = ring(20);
    await f.append(`${'é'.repeat(30)}\n`); // 61 bytes, one line
    const text = readFileSync(f.path, 'utf8');
    expect(text).toMatch(/^\[sparkgate: \d+ earlier bytes dropped\]\né+\n$/);
    expect(text).not.toContain('\uFFFD');
  });

  it('picks up size and marker of an existing file (a restarted gateway) and keeps counting', async () => {
    writeFileSync(path.join(dir, 'e.log'), `${droppedMarker(1000)}${lines(0, 9)}`);
    const f = ring(100);
    await f.append(line(10)); // marker 37 + 80 + 8 > 100
    expect(f.droppedBytes).toBeGreaterThan(1000);
    const text = readFileSync(f.path, 'utf8');
    expect(text.startsWith(droppedMarker(f.droppedBytes))).toBe(true);
    expect(text.match(/earlier bytes dropped/g)).toHaveLength(1);
    expect(text.endsWith(line(10))).toBe(true);
  });

  it('reads all lines or the last N, and nothing for a missing file', async () => {
    const f = ring(1000);
    const signal = new AbortController().signal;
    expect(await collect(f.read({ follow: false, signal }))).toEqual([]);
    await f.append(lines(0, 4));
    expect(await collect(f.read({ follow: false, signal }))).toEqual(lines(0, 4).split(/(?<=\n)/));
    expect(await collect(f.read({ tail: 2, follow: false, signal }))).toEqual([line(3), line(4)]);
    expect(await collect(f.read({ tail: 0, follow: false, signal }))).toEqual([]);
    expect(await collect(f.read({ tail: 99, follow: false, signal }))).toHaveLength(5);
  });

  it('tail reads across blocks of a large file', async () => {
    const f = ring(4 * 1024 * 1024);
    const many = Array.from({ length: 30_000 }, (_, i) => `row ${i}\n`).join('');
    await f.append(many);
    const out = await collect(f.read({ tail: 3, follow: false, signal: new AbortController().signal }));
    expect(out).toEqual(['row 29997\n', 'row 29998\n', 'row 29999\n']);
  });

  it('a follower gets the snapshot, then every later line once, across a compaction, until the writer detaches', async () => {
    const f = ring(100);
    f.attachWriter();
    for (let i = 0; i < 5; i++) await f.append(line(i));
    const reading = collect(f.read({ follow: true, signal: new AbortController().signal }));
    for (let i = 5; i < 30; i++) void f.append(line(i)); // queued behind the snapshot
    await f.detachWriter();
    expect((await reading).join('')).toBe(lines(0, 29));
    expect(f.droppedBytes).toBeGreaterThan(0);
  });

  it('does not follow without a writer, and ends a follower when its signal aborts', async () => {
    const f = ring(1000);
    await f.append(line(0));
    expect(await collect(f.read({ follow: true, signal: new AbortController().signal }))).toEqual([line(0)]);
    f.attachWriter();
    const abort = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const l of f.read({ follow: true, signal: abort.signal })) {
        got.push(l);
        if (got.length === 2) abort.abort();
      }
    })();
    await f.append(line(1));
    await reading;
    expect(got).toEqual([line(0), line(1)]);
  });

  it('remove() deletes the file and ends followers', async () => {
    const f = ring(1000);
    f.attachWriter();
    await f.append(line(0));
    const reading = collect(f.read({ follow: true, signal: new AbortController().signal }));
    await f.remove();
    expect(await reading).toEqual([line(0)]);
    expect(() => readFileSync(f.path)).toThrow();
  });
});
