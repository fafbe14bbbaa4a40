/**
 * The recent output of a terminal, replayed to a websocket that (re)connects: terminado's
 * `read_buffer`, bounded by bytes instead of by chunk count so a burst of large chunks cannot
 * grow it. When the oldest output is cut mid-line, the rest of that line goes too, so a replay
 * does not start inside an escape sequence (the terminal redraws from the next line).
 */
export class Scrollback {
  private chunks: string[] = [];
  private bytes = 0;

  constructor(private readonly limitBytes: number) {
    if (!Number.isInteger(limitBytes) || limitBytes < 0) throw new Error('scrollback limit must be a whole number >= 0');
  }

  get size(): number {
    return this.bytes;
  }

  push(text: string): void {
    if (this.limitBytes === 0 || text.length === 0) return;
    this.chunks.push(text);
    this.bytes += Buffer.byteLength(text, 'utf8');
    if (this.bytes > this.limitBytes) this.trim();
  }

  /** Everything kept, oldest first. */
  text(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks[0] ?? '';
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
  }

  private trim(): void {
    while (this.chunks.length > 0 && this.bytes > this.limitBytes) {
      const first = this.chunks[0]!;
      const firstBytes = Buffer.byteLength(first, 'utf8');
      if (this.bytes - firstBytes >= this.limitBytes) {
        this.chunks.shift();
        this.bytes -= firstBytes;
        continue;
      }
      // Keep the tail of this chunk: drop the excess, then up to the end of that line (or just
      // the excess when the rest is one long line).
      const excess = this.bytes - this.limitBytes;
      const buf = Buffer.from(first, 'utf8');
      const newline = buf.indexOf(0x0a, excess);
      let cut = newline >= 0 ? newline + 1 : excess;
      // Never split a UTF-8 sequence: move forward past continuation bytes.
      while (cut < buf.length && (buf[cut]! & 0xc0) === 0x80) cut++;
      const rest = buf.subarray(cut).toString('utf8');
      this.bytes -= firstBytes - (buf.length - cut);
      if (rest.length > 0) this.chunks[0] = rest;
      else this.chunks.shift();
    }
  }
}
