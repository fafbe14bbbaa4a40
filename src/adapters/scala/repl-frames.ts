/**
 * Framing of a REPL's stdout, pure (no I/O). The init script (kernel/scala/init.scala) re-frames
 * everything user code prints and every reply of its request loop:
 *
 *   \u0001<key>:<kind>:<byte length>\u0002<payload>      kind: o (stdout), e (stderr), m (reply)
 *
 * `key` is a random secret of the session, so nothing the REPL echoes (a compiler error quoting
 * the user's source) can forge a header, and user bytes are never scanned at all: a cell may
 * print the header characters, ANSI colour, binary or half a UTF-8 character. Bytes outside
 * frames are the REPL's own text (compiler errors, runtime stack traces, prompts).
 * Chunk boundaries are arbitrary: a header split across chunks is held back until complete.
 */

export type ReplEvent =
  | { kind: 'text'; data: Buffer }
  | { kind: 'stdout'; data: Buffer }
  | { kind: 'stderr'; data: Buffer }
  | { kind: 'message'; data: Buffer };

const SOH = 0x01;
const STX = 0x02;
/** Longest length field accepted (1 TB); anything longer is not one of our headers. */
const MAX_DIGITS = 12;

const KINDS: Record<string, ReplEvent['kind']> = { o: 'stdout', e: 'stderr', m: 'message' };

export class FrameParser {
  private readonly prefix: Buffer;
  private pending: Buffer = Buffer.alloc(0);
  /** Inside a frame: its kind and how many payload bytes are still to come. */
  private payload: { kind: ReplEvent['kind']; remaining: number; parts: Buffer[] } | undefined;

  constructor(key: string) {
    if (!/^[A-Za-z0-9_-]{8,128}$/.test(key)) throw new Error('frame key must be 8-128 characters of [A-Za-z0-9_-]');
    this.prefix = Buffer.from(`\u0001${key}:`, 'latin1');
  }

  /** Feed one chunk; returns the events it completes, in order. */
  push(chunk: Buffer): ReplEvent[] {
    const events: ReplEvent[] = [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.payload) {
        if (!this.takePayload(events)) break;
        continue;
      }
      if (this.pending.length === 0) break;
      const at = this.pending.indexOf(SOH);
      if (at < 0) {
        events.push({ kind: 'text', data: this.pending });
        this.pending = Buffer.alloc(0);
        break;
      }
      if (at > 0) {
        events.push({ kind: 'text', data: this.pending.subarray(0, at) });
        this.pending = this.pending.subarray(at);
      }
      const header = this.readHeader();
      if (header === 'wait') break;
      if (header === 'no') {
        // A \u0001 that starts no header of ours: plain text.
        events.push({ kind: 'text', data: this.pending.subarray(0, 1) });
        this.pending = this.pending.subarray(1);
        continue;
      }
      this.pending = this.pending.subarray(header.headerLength);
      this.payload = { kind: header.kind, remaining: header.length, parts: [] };
    }
    return coalesceText(events);
  }

  /** Whatever is held back (a partial header at exit) as text. */
  end(): ReplEvent[] {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    this.payload = undefined;
    return rest.length > 0 ? [{ kind: 'text', data: rest }] : [];
  }

  private readHeader(): { kind: ReplEvent['kind']; length: number; headerLength: number } | 'wait' | 'no' {
    const buf = this.pending;
    const p = this.prefix;
    const n = Math.min(buf.length, p.length);
    if (buf.subarray(0, n).compare(p.subarray(0, n)) !== 0) return 'no';
    if (buf.length < p.length + 2) return 'wait';
    const kind = KINDS[String.fromCharCode(buf[p.length]!)];
    if (!kind || buf[p.length + 1] !== 0x3a /* : */) return 'no';
    let i = p.length + 2;
    let length = 0;
    let digits = 0;
    for (; i < buf.length; i++) {
      const c = buf[i]!;
      if (c === STX) break;
      if (c < 0x30 || c > 0x39 || ++digits > MAX_DIGITS) return 'no';
      length = length * 10 + (c - 0x30);
    }
    if (i >= buf.length) return 'wait';
    if (digits === 0) return 'no';
    return { kind, length, headerLength: i + 1 };
  }

  /** Consume payload bytes; true when the frame is complete and parsing may go on. */
  private takePayload(events: ReplEvent[]): boolean {
    const frame = this.payload!;
    if (frame.remaining > 0 && this.pending.length === 0) return false;
    const take = Math.min(frame.remaining, this.pending.length);
    const part = this.pending.subarray(0, take);
    this.pending = this.pending.subarray(take);
    frame.remaining -= take;
    if (frame.kind === 'message') {
      frame.parts.push(part);
      if (frame.remaining > 0) return false;
      events.push({ kind: 'message', data: Buffer.concat(frame.parts) });
    } else if (part.length > 0) {
      // Stream bytes are passed on as they come: a long print streams, it is not held to its end.
      events.push({ kind: frame.kind, data: part });
    }
    if (frame.remaining > 0) return false;
    this.payload = undefined;
    return true;
  }
}

/** Adjacent text (and adjacent same-stream) events merged into one. */
function coalesceText(events: ReplEvent[]): ReplEvent[] {
  const out: ReplEvent[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (last && last.kind === e.kind && e.kind !== 'message') {
      out[out.length - 1] = { kind: e.kind, data: Buffer.concat([last.data, e.data]) };
    } else {
      out.push(e);
    }
  }
  return out;
}

/** Build a frame (what the init script writes); used by tests and fakes. */
export function encodeFrame(key: string, kind: 'o' | 'e' | 'm', payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from(`\u0001${key}:${kind}:${body.length}\u0002`, 'latin1'), body]);
}
