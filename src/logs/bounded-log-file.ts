/**
 * A log kept on disk as a bounded ring: appends of whole lines go to the end of one file; when
 * the next append would pass `maxBytes`, the newest half (from a line start) is kept and the file
 * begins with a marker line `[sparkgate: N earlier bytes dropped]` (N counts every byte dropped
 * so far; the marker survives a gateway restart). The rewrite goes to a temporary file renamed
 * over the old one, so a reader holding the old file keeps a consistent snapshot.
 *
 * Readers get the file's lines (all, or the last N), then, while a writer is attached, every line
 * appended after that snapshot: snapshot and subscription are taken inside the same serialized
 * queue as appends, so nothing is read twice or missed.
 */
import { appendFile, mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LineSplitter } from '../k8s/log-cursor.js';

export interface BoundedLogFileOptions {
  readonly path: string;
  readonly maxBytes: number;
  /** Text a slow follower may have pending before older pending text is skipped (default maxBytes). */
  readonly followerBufferBytes?: number;
}

export interface LogReadOptions {
  /** Last N lines of what is on disk (all when undefined). */
  readonly tail?: number | undefined;
  /** Then the lines appended later, while a writer is attached. */
  readonly follow: boolean;
  readonly signal: AbortSignal;
}

const MARKER = /^\[sparkgate: (\d+) earlier bytes dropped\]\n/;
const BLOCK = 64 * 1024;

export function droppedMarker(bytes: number): string {
  return `[sparkgate: ${bytes} earlier bytes dropped]\n`;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Pending text of one follower; skips the oldest when the reader falls too far behind. */
class Follower {
  private pending: string[] = [];
  private bytes = 0;
  private skipped = 0;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly limit: number) {}

  push(text: string): void {
    if (this.ended) return;
    this.pending.push(text);
    this.bytes += text.length;
    while (this.bytes > this.limit && this.pending.length > 1) {
      const old = this.pending.shift() ?? '';
      this.bytes -= old.length;
      this.skipped += old.length;
    }
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The next pending text, or undefined once ended (or aborted) with nothing pending. */
  async next(signal: AbortSignal): Promise<string | undefined> {
    for (;;) {
      if (this.skipped > 0) {
        const note = `[sparkgate: ${this.skipped} bytes skipped, the reader fell behind]\n`;
        this.skipped = 0;
        return note;
      }
      const text = this.pending.shift();
      if (text !== undefined) {
        this.bytes -= text.length;
        return text;
      }
      if (this.ended || signal.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
      this.wake = undefined;
    }
  }

  private notify(): void {
    this.wake?.();
  }
}

export class BoundedLogFile {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly followerLimit: number;
  private chain: Promise<unknown> = Promise.resolve();
  private loaded = false;
  private size = 0;
  private markerBytes = 0;
  private dropped = 0;
  private writer = false;
  private readonly followers = new Set<Follower>();

  constructor(options: BoundedLogFileOptions) {
    if (!(options.maxBytes >= 2)) throw new RangeError(`maxBytes must be at least 2 (got ${options.maxBytes})`);
    this.path = options.path;
    this.maxBytes = options.maxBytes;
    this.followerLimit = options.followerBufferBytes ?? options.maxBytes;
  }

  /** Bytes dropped from the front so far. */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** Whether a writer is attached (followers then wait for more). */
  get live(): boolean {
    return this.writer;
  }

  attachWriter(): void {
    this.writer = true;
  }

  /** No more appends for now: followers end once what was queued before is delivered. */
  detachWriter(): Promise<void> {
    return this.enqueue(async () => {
      this.writer = false;
      for (const f of this.followers) f.end();
      this.followers.clear();
    });
  }

  /** Append text made of whole lines (a missing final newline is added). */
  append(text: string): Promise<void> {
    if (text === '') return Promise.resolve();
    const line = text.endsWith('\n') ? text : `${text}\n`;
    return this.enqueue(async () => {
      await this.load();
      const data = Buffer.from(line, 'utf8');
      if (this.size + data.length > this.maxBytes) await this.rewrite(data);
      else {
        await this.inFolder(() => appendFile(this.path, data));
        this.size += data.length;
      }
      for (const f of this.followers) f.push(line);
    });
  }

  /** Delete the file; followers end. */
  remove(): Promise<void> {
    return this.enqueue(async () => {
      this.writer = false;
      for (const f of this.followers) f.end();
      this.followers.clear();
      await rm(this.path, { force: true });
      this.loaded = false;
    });
  }

  /** Lines, each ending in '\n': the file's (or its last `tail`), then appended ones when following. */
  async *read(options: LogReadOptions): AsyncGenerator<string, void, undefined> {
    const snapshot = await this.enqueue(async () => {
      let fd: FileHandle | undefined;
      try {
        fd = await open(this.path, 'r');
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      const size = fd ? (await fd.stat()).size : 0;
      let follower: Follower | undefined;
      if (options.follow && this.writer && !options.signal.aborted) {
        follower = new Follower(this.followerLimit);
        this.followers.add(follower);
      }
      return { fd, size, follower };
    });
    const { fd, size, follower } = snapshot;
    try {
      if (fd) {
        const start = options.tail === undefined ? 0 : await tailStart(fd, size, options.tail);
        yield* readLines(fd, start, size, options.signal);
      }
      if (!follower) return;
      const splitter = new LineSplitter();
      for (;;) {
        const text = await follower.next(options.signal);
        if (text === undefined) return;
        for (const l of splitter.push(text)) yield `${l}\n`;
      }
    } finally {
      if (follower) this.followers.delete(follower);
      await fd?.close();
    }
  }

  /** Run a write; if the folder went away (emptied and removed by retention), recreate it once. */
  private async inFolder(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (!isMissing(err)) throw err;
      await mkdir(dirname(this.path), { recursive: true });
      await write();
    }
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.chain.then(op, op);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    let fd: FileHandle;
    try {
      fd = await open(this.path, 'r');
    } catch (err) {
      if (!isMissing(err)) throw err;
      this.size = 0;
      this.markerBytes = 0;
      this.dropped = 0;
      return;
    }
    try {
      this.size = (await fd.stat()).size;
      const head = Buffer.alloc(Math.min(128, this.size));
      await fd.read(head, 0, head.length, 0);
      const m = MARKER.exec(head.toString('utf8'));
      this.dropped = m ? Number(m[1]) : 0;
      this.markerBytes = m ? Buffer.byteLength(m[0]) : 0;
    } finally {
      await fd.close();
    }
  }

  /** Keep the newest half (from a line start) of the file plus `data`, behind a marker. */
  private async rewrite(data: Buffer): Promise<void> {
    const target = Math.max(1, Math.floor(this.maxBytes / 2));
    const contentBytes = this.size - this.markerBytes + data.length;
    const fromFile = Math.max(0, target - data.length);
    let combined = data;
    if (fromFile > 0 && this.size > this.markerBytes) {
      // One byte more than needed: tells whether the kept part starts at a line start.
      const start = Math.max(this.markerBytes, this.size - fromFile - 1);
      const old = await readRange(this.path, start, this.size);
      combined = Buffer.concat([start === this.markerBytes ? Buffer.from('\n') : Buffer.alloc(0), old, data]);
    } else {
      combined = Buffer.concat([Buffer.from('\n'), data]);
    }
    let from = Math.max(0, combined.length - target - 1);
    const newline = combined.indexOf(0x0a, from);
    if (newline === -1 || newline + 1 >= combined.length) {
      // One line longer than half the ring: cut inside it, at a UTF-8 character start.
      from = Math.max(0, combined.length - target);
      while (from < combined.length && ((combined[from] ?? 0) & 0xc0) === 0x80) from++;
    } else from = newline + 1;
    const kept = combined.subarray(from);
    this.dropped += contentBytes - kept.length;
    const marker = Buffer.from(droppedMarker(this.dropped), 'utf8');
    const tmp = `${this.path}.tmp`;
    await this.inFolder(() => writeFile(tmp, Buffer.concat([marker, kept])));
    await rename(tmp, this.path);
    this.markerBytes = marker.length;
    this.size = marker.length + kept.length;
  }
}

async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  let fd: FileHandle;
  try {
    fd = await open(file, 'r');
  } catch (err) {
    if (isMissing(err)) return Buffer.alloc(0);
    throw err;
  }
  try {
    const buf = Buffer.alloc(Math.max(0, end - start));
    const { bytesRead } = await fd.read(buf, 0, buf.length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fd.close();
  }
}

/** Offset of the first of the last `lines` lines in [0, size) (the file ends with '\n'). */
async function tailStart(fd: FileHandle, size: number, lines: number): Promise<number> {
  if (lines <= 0) return size;
  let newlines = 0;
  let pos = size;
  const buf = Buffer.alloc(BLOCK);
  while (pos > 0) {
    const len = Math.min(BLOCK, pos);
    pos -= len;
    const { bytesRead } = await fd.read(buf, 0, len, pos);
    for (let i = bytesRead - 1; i >= 0; i--) {
      // The newline ending the last line does not start a line.
      if (buf[i] === 0x0a && pos + i !== size - 1 && ++newlines === lines) return pos + i + 1;
    }
  }
  return 0;
}

async function* readLines(fd: FileHandle, start: number, end: number, signal: AbortSignal): AsyncGenerator<string> {
  const splitter = new LineSplitter();
  const buf = Buffer.alloc(BLOCK);
  for (let pos = start; pos < end && !signal.aborted; ) {
    const { bytesRead } = await fd.read(buf, 0, Math.min(BLOCK, end - pos), pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    for (const l of splitter.push(Buffer.from(buf.subarray(0, bytesRead)))) yield `${l}\n`;
  }
  const last = splitter.flush();
  if (last !== undefined && !signal.aborted) yield `${last}\n`;
}
