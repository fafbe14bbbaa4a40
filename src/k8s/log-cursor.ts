/**
 * Resuming a container log without duplicating or losing lines. Pure: no I/O.
 *
 * The log is read with `timestamps=true`: the kubelet prefixes every line with the container
 * runtime's RFC 3339 nanosecond time and a space. The cursor remembers the time of the last
 * line kept and how many lines with exactly that time were kept. After a dropped stream the
 * next request asks for `sinceTime` = that time rounded down to the second (the API server
 * forwards sinceTime to the kubelet at one-second precision, and the kubelet returns lines at or
 * after it), then drops what the cursor says was already kept.
 * Kubelet side: pkg/kubelet/kuberuntime/logs/logs.go (ReadLogs, `since` and `timestamp`).
 */
import { StringDecoder } from 'node:string_decoder';

export interface LogCursorState {
  /** The timestamp of the last kept line, as the server wrote it. */
  readonly time: string;
  /** Lines kept with exactly that timestamp. */
  readonly seen: number;
}

export interface TimestampedLine {
  readonly time: string;
  /** Nanoseconds since the epoch. */
  readonly key: bigint;
  readonly text: string;
}

const TIMESTAMPED = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}) ?/;

/** Nanoseconds since the epoch of an RFC 3339 time with up to nine fraction digits. */
export function timestampKey(time: string): bigint | undefined {
  const m = TIMESTAMPED.exec(`${time} `);
  if (!m || m[0].length !== time.length + 1) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms / 1000) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Split `<time> <text>`; undefined when the line carries no timestamp. */
export function parseTimestampedLine(line: string): TimestampedLine | undefined {
  const m = TIMESTAMPED.exec(line);
  if (!m) return undefined;
  const time = m[0].trimEnd();
  const key = timestampKey(time);
  return key === undefined ? undefined : { time, key, text: line.slice(m[0].length) };
}

/** `sinceTime` for resuming after `cursor`: its second, in UTC. */
export function sinceTimeOf(cursor: LogCursorState): string | undefined {
  const key = timestampKey(cursor.time);
  if (key === undefined) return undefined;
  const seconds = key / 1_000_000_000n;
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Keeps lines after the cursor, advancing it. */
export class LogDeduper {
  private time: string | undefined;
  private key: bigint | undefined;
  private seen = 0;
  /** Lines at the cursor's time still to be skipped in the current stream. */
  private skip = 0;

  constructor(state?: LogCursorState | null) {
    if (state) {
      this.time = state.time;
      this.key = timestampKey(state.time);
      this.seen = state.seen;
    }
    this.restart();
  }

  get state(): LogCursorState | null {
    return this.time === undefined ? null : { time: this.time, seen: this.seen };
  }

  /** A new stream begins (from sinceTime): duplicates of the cursor's lines come again. */
  restart(): void {
    this.skip = this.seen;
  }

  /** The line's text if it is new, undefined if it was kept before. Lines without a time are kept as they are. */
  accept(line: string): string | undefined {
    const parsed = parseTimestampedLine(line);
    if (!parsed) return line;
    if (this.key !== undefined) {
      if (parsed.key < this.key) return undefined;
      if (parsed.key === this.key) {
        if (this.skip > 0) {
          this.skip -= 1;
          return undefined;
        }
        this.seen += 1;
        return parsed.text;
      }
    }
    this.time = parsed.time;
    this.key = parsed.key;
    this.seen = 1;
    this.skip = 0;
    return parsed.text;
  }
}

/** Bytes in, whole lines out (without '\n'), UTF-8 safe across chunk boundaries. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';

  push(chunk: Buffer | string): string[] {
    const text = this.rest + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }

  /** What is left after the last newline (a final line without one), if anything. */
  flush(): string | undefined {
    const last = this.rest + this.decoder.end();
    this.rest = '';
    return last === '' ? undefined : last;
  }

  /** Forget a partial line (the stream was cut in the middle of it: it comes again). */
  discard(): void {
    this.rest = '';
    this.decoder.end();
  }
}
