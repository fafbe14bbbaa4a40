/**
 * The notice file of one Spark session: how the gateway tells a kernel something about its Spark
 * driver that only the driver's log says. The gateway reads the kernel process's stderr (the
 * driver JVM inherits the kernel's real stderr, kernel/python/sparkgate_kernel/session.py); the
 * pyspark kernel's progress thread reads this file while a cell runs and prints a notice once in
 * that cell (kernel/python/sparkgate_kernel/notices.py).
 *
 * Today's only notice: a ResourceQuota refusing executors (quota-notice.ts). Spark retries every
 * allocation round and logs each refusal, so the file is rewritten at most every `minIntervalMs`
 * while refusals continue (the kernel shows notices seen since its cell started), and at once
 * when the text changes.
 *
 * File format (JSON, replaced atomically with a rename): `{"time": <epoch seconds>, "text": "..."}`.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { QuotaRefusalScanner, quotaNoticeText } from './quota-notice.js';

/** The kernel's environment variable naming the file. */
export const SPARK_NOTICE_FILE_ENV = 'SPARKGATE_SPARK_NOTICE_FILE';

export interface SparkNoticeFileOptions {
  readonly path: string;
  /** The session's executor namespace (for refusals whose line does not name one). */
  readonly namespace: string;
  readonly minIntervalMs?: number;
  readonly now?: () => number;
  /** Replaces the file's content (tests); default: write a temporary file and rename it. */
  readonly write?: (path: string, content: string) => void;
  /** A write failed (the runtime directory went away): reported, never thrown into the stream. */
  readonly onError?: (err: unknown) => void;
}

export class SparkNoticeFile {
  private readonly scanner: QuotaRefusalScanner;
  private lastText: string | undefined;
  private lastWriteMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SparkNoticeFileOptions) {
    this.scanner = new QuotaRefusalScanner((refusal) => this.notice(quotaNoticeText(refusal, options.namespace)));
  }

  get path(): string {
    return this.options.path;
  }

  /** The driver's stderr, as it arrives. */
  push(text: string): void {
    this.scanner.push(text);
  }

  private notice(text: string): void {
    const now = (this.options.now ?? Date.now)();
    if (text === this.lastText && now - this.lastWriteMs < (this.options.minIntervalMs ?? 1_000)) return;
    this.lastText = text;
    this.lastWriteMs = now;
    const content = `${JSON.stringify({ time: now / 1000, text })}\n`;
    try {
      (this.options.write ?? replaceFile)(this.options.path, content);
    } catch (err) {
      this.options.onError?.(err);
    }
  }
}

function replaceFile(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, file);
}
