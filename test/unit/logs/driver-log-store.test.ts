/**
 * The driver log store: each run's stdout and stderr by whole lines into the session's ring,
 * restarts and ends marked, tail and follow (ending with the session, or when the reader goes
 * away, leaving no descriptor open), the size bound, and retention (never while running; from
 * the end; at start for what earlier gateways left).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DriverLogStore } from '../../../src/logs/driver-log-store.js';
import { createLogger } from '../../../src/logger.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';

const ID = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const DAY_MS = 86_400_000;
const STAMP = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';

let stateDir: string;
let now: number;
let registry: SessionRegistry;
let live: Set<string>;
let store: DriverLogStore;

function makeStore(overrides: Partial<ConstructorParameters<typeof DriverLogStore>[0]> = {}): DriverLogStore {
  return new DriverLogStore({
    dir: DriverLogStore.dirIn(stateDir),
    maxBytes: 64 * 1024,
    retentionMs: DAY_MS,
    exists: (id) => live.has(id),
    registry,
    logger: createLogger({ level: 'silent' }),
    now: () => now,
    ...overrides,
  });
}

beforeEach(() => {
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-logs-'));
  now = Date.now();
  registry = new SessionRegistry({ retainMs: DAY_MS, now: () => now });
  live = new Set();
  store = makeStore();
  store.start();
});
afterEach(async () => {
  await store.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function collect(iterable: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of iterable) text += chunk;
  return text;
}

function begin(id: string): void {
  live.add(id);
  registry.begin({ id, owner: { user: 'ann', team: 'a' }, kind: 'kernel', kernelspec: 'python3' });
}

async function end(id: string): Promise<void> {
  live.delete(id);
  registry.end(id);
  await store.sessionEnded(id); // the registry's listener started it; this waits for it
}

const read = (id: string, opts: { tail?: number; follow?: boolean; signal?: AbortSignal } = {}) =>
  store.read(id, { follow: opts.follow ?? false, signal: opts.signal ?? new AbortController().signal, tail: opts.tail });

const tick = () => new Promise((r) => setTimeout(r, 20));

/** How many of this process's descriptors are open on `file` (Linux /proc). */
function openDescriptorsOf(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

describe('DriverLogStore', () => {
  it("writes each run's stdout and stderr by whole lines to <stateDir>/logs/drivers/<id>.log; a restart is marked", async () => {
    begin(ID);
    const run1 = store.open(ID);
    run1('stdout', 'out o');
    run1('stderr', 'err one\n');
    run1('stdout', 'ne\nno newline yet');
    const run2 = store.open(ID); // the first run's unfinished line is written before the marker
    run2('stderr', 'after restart\n');
    const text = await collect(read(ID));
    expect(text).toMatch(new RegExp(`^err one\\nout one\\nno newline yet\\n\\[sparkgate: kernel process restarted at ${STAMP}\\]\\nafter restart\\n$`));
    expect(readFileSync(path.join(stateDir, 'logs', 'drivers', `${ID}.log`), 'utf8')).toBe(text);
    expect(await collect(read(ID, { tail: 1 }))).toBe('after restart\n');
    expect(await collect(read(ID, { tail: 0 }))).toBe('');
    // A session without a log reads as empty.
    expect(store.has(OTHER)).toBe(false);
    expect(await collect(read(OTHER))).toBe('');
  });

  it('follow: the tail, then every new line once, until the session ends', async () => {
    begin(ID);
    const write = store.open(ID);
    write('stdout', 'a\nb\nc\n');
    const seen: string[] = [];
    const done = (async () => {
      for await (const chunk of read(ID, { tail: 2, follow: true })) seen.push(chunk);
    })();
    await tick();
    write('stdout', 'd\n');
    write('stderr', 'e\n');
    await tick();
    expect(store.readerCount(ID)).toBe(1);
    await end(ID);
    await done;
    expect(seen.join('')).toMatch(new RegExp(`^b\\nc\\nd\\ne\\n\\[sparkgate: session ended at ${STAMP}\\]\\n$`));
    expect(store.readerCount(ID)).toBe(0);
  });

  it('follow of an ended session returns what is there and ends', async () => {
    begin(ID);
    store.open(ID)('stdout', 'x\n');
    await end(ID);
    expect(await collect(read(ID, { follow: true }))).toMatch(/^x\n\[sparkgate: session ended at /);
  });

  it('a reader that goes away (abort, or its consumer stops) is let go; no descriptor stays open', async () => {
    begin(ID);
    store.open(ID)('stdout', 'x\n');
    const file = store.pathOf(ID);

    // Never iterated: nothing was opened.
    read(ID, { follow: true });
    expect(store.readerCount(ID)).toBe(0);

    // Waiting for output: the abort ends the iteration.
    const waiting = new AbortController();
    const chunks: string[] = [];
    const done = (async () => {
      for await (const c of read(ID, { follow: true, signal: waiting.signal })) chunks.push(c);
    })();
    await tick();
    expect(store.readerCount(ID)).toBe(1);
    expect(openDescriptorsOf(file)).toBeLessThanOrEqual(1); // the snapshot's, until the reader ends
    waiting.abort();
    await done;
    expect(chunks.join('')).toBe('x\n');
    expect(store.readerCount(ID)).toBe(0);
    expect(openDescriptorsOf(file)).toBe(0);

    // Stopped early by its consumer (return()): the same.
    for await (const _ of read(ID, { follow: true })) break;
    expect(store.readerCount(ID)).toBe(0);
    expect(openDescriptorsOf(file)).toBe(0);
  });

  it('is bounded by maxBytes: the newest half behind a marker', async () => {
    await store.stop();
    store = makeStore({ maxBytes: 64 * 1024 });
    store.start();
    begin(ID);
    const write = store.open(ID);
    const line = `${'x'.repeat(99)}\n`;
    for (let i = 0; i < 2_000; i++) write('stdout', line); // 200 KB through a 64 KB ring
    const text = await collect(read(ID));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(64 * 1024);
    expect(text).toMatch(/^\[sparkgate: \d+ earlier bytes dropped\]\n(x{99}\n)+$/);
  });

  it('retention: kept while running and for retentionMs after the end, then swept', async () => {
    begin(ID);
    store.open(ID)('stdout', 'hello\n');
    await collect(read(ID)); // written
    const file = store.pathOf(ID);
    const old = (now - 2 * DAY_MS) / 1000;
    utimesSync(file, old, old); // a long-idle running session: its last write is old
    expect(store.sweep()).toBe(0);
    expect(existsSync(file)).toBe(true);

    await end(ID); // the end line is a write: retention starts now
    expect(store.sweep()).toBe(0);
    now += DAY_MS - 1_000;
    expect(store.sweep()).toBe(0);
    now += 2_000;
    expect(store.sweep()).toBe(1);
    expect(existsSync(file)).toBe(false);
  });

  it('the sweep closes the log of a session gone without an end (a pooled kernel never claimed)', async () => {
    live.add(OTHER); // pooled: no registry entry
    store.open(OTHER)('stdout', 'warming up\n');
    store.sweep();
    expect(await collect(read(OTHER))).toBe('warming up\n'); // kept: it exists
    const following = collect(read(OTHER, { follow: true }));
    await tick();
    live.delete(OTHER); // shut down unclaimed
    store.sweep();
    expect(await following).toMatch(/^warming up\n\[sparkgate: session ended at /);
  });

  it('start sweeps what earlier gateways left: old logs and stray temporary files go, recent ones stay', async () => {
    await store.stop();
    const dir = DriverLogStore.dirIn(stateDir);
    mkdirSync(dir, { recursive: true });
    const stale = path.join(dir, `${OTHER}.log`);
    const recent = path.join(dir, `${ID}.log`);
    const tmp = path.join(dir, `${ID}.log.tmp`);
    for (const f of [stale, recent, tmp]) writeFileSync(f, 'x\n');
    const old = (now - 2 * DAY_MS) / 1000;
    utimesSync(stale, old, old);
    utimesSync(tmp, old, old);
    writeFileSync(path.join(dir, 'notes.txt'), 'not ours');
    store = makeStore();
    store.start();
    expect(readdirSync(dir).sort()).toEqual([`${ID}.log`, 'notes.txt']);
  });

  it('a stopped store writes the last partial lines and ends its followers', async () => {
    begin(ID);
    const write = store.open(ID);
    write('stdout', 'x\npartial');
    const reader = collect(read(ID, { follow: true }));
    await tick();
    await store.stop();
    expect(await reader).toBe('x\npartial\n');
    expect(await collect(read(ID, { follow: true }))).toBe('x\npartial\n');
  });

  it('refuses a path-like id', () => {
    expect(() => store.pathOf('../etc/passwd')).toThrow(/not a session id/);
  });
});
