/**
 * Batches stream text into fewer iopub `stream` messages (ipykernel flushes its streams on a
 * short interval too): text is held at most `intervalMs`, or until `maxChars` are waiting, and
 * always flushed before a result, an error or a reply so ordering is kept. A cell printing 20k
 * lines becomes a few dozen messages, not 20k, and `println` in a slow loop still shows at once.
 */
export type StreamName = 'stdout' | 'stderr';

export interface StreamCoalescerOptions {
  emit: (name: StreamName, text: string) => void;
  intervalMs?: number;
  maxChars?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class StreamCoalescer {
  private name: StreamName | undefined;
  private parts: string[] = [];
  private size = 0;
  private timer: unknown;
  private readonly intervalMs: number;
  private readonly maxChars: number;

  constructor(private readonly options: StreamCoalescerOptions) {
    this.intervalMs = options.intervalMs ?? 20;
    this.maxChars = options.maxChars ?? 64 * 1024;
  }

  write(name: StreamName, text: string): void {
    if (!text) return;
    if (this.name !== undefined && this.name !== name) this.flush();
    this.name = name;
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.maxChars) this.flush();
    else if (this.timer === undefined) {
      const set = this.options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
      this.timer = set(() => {
        this.timer = undefined;
        this.flush();
      }, this.intervalMs);
    }
  }

  flush(): void {
    if (this.timer !== undefined) {
      (this.options.clearTimer ?? ((h: unknown) => clearTimeout(h as NodeJS.Timeout)))(this.timer);
      this.timer = undefined;
    }
    if (this.name === undefined || this.parts.length === 0) return;
    const text = this.parts.join('');
    const name = this.name;
    this.parts = [];
    this.size = 0;
    this.name = undefined;
    this.options.emit(name, text);
  }
}
