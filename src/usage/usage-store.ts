/**
 * The usage store: an embedded, append-only log of JSON lines under `<stateDir>/usage/`, one file
 * per UTC day of writing (`usage-2025-01-31.jsonl`), lines as usage-records.ts defines them, plus
 * `index.json`, a checkpoint of the session index (header, last flush, ended) and of the log
 * position it covers, so a restarted gateway restores its sessions without reading every file.
 *
 * Why files and not ConfigMaps (one per team per day, as issue 14 suggests):
 * - a ConfigMap holds at most 1 MiB (etcd's object limit); a busy team's day of per-minute
 *   records per session outgrows it, and splitting objects is a storage engine of its own;
 * - every flush would be a read-modify-write of a shared object: 409 conflicts between the
 *   gateway's own writers (and replicas), retries, and the `update`/`patch` verbs on ConfigMaps
 *   in every team namespace, which the gateway's least-privilege Role does not otherwise need;
 * - local mode has no cluster at all, and metering must work there too.
 * The gateway pod keeps `stateDir` on its StatefulSet volume, so the files outlive restarts and
 * rescheduling; appends are O(1), fsynced, and torn lines (a crash mid-write) are skipped.
 *
 * Durability: a line is on disk when append() resolves (write + fsync). What a crash loses is
 * what the meter had not flushed yet: at most usageFlushSeconds of accrual.
 * Files are never deleted here; prune old days with the volume's own tooling if needed.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { RestoredSession } from './usage-meter.js';
import { parseStoreLine, sessionLineSchema, type StoreLine, type UsageLine } from './usage-records.js';

const FILE = /^usage-(\d{4}-\d{2}-\d{2})\.jsonl$/;
const INDEX_FILE = 'index.json';
const DAY_MS = 86_400_000;

const indexEntrySchema = z.object({
  header: sessionLineSchema,
  watermarkMs: z.number(),
  ended: z.boolean(),
  lastMs: z.number(),
});
const checkpointSchema = z.object({
  version: z.literal(1),
  file: z.string().regex(FILE).nullable(),
  offset: z.number().int().nonnegative(),
  sessions: z.array(indexEntrySchema),
});
type IndexEntry = z.infer<typeof indexEntrySchema>;

export interface UsageStoreOptions {
  /** `<stateDir>/usage`. */
  readonly dir: string;
  readonly now?: () => number;
  /** Sessions leave the index this long after their last record (default 7 days). */
  readonly indexRetentionMs?: number;
}

export interface UsageRange {
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
}

/** A point in the log: a day file and a byte offset in it (null: the log is empty). */
export interface StorePosition {
  readonly file: string | null;
  readonly offset: number;
}

export function dayFileName(ms: number): string {
  return `usage-${new Date(ms).toISOString().slice(0, 10)}.jsonl`;
}

export class UsageStore {
  readonly dir: string;
  private readonly index = new Map<string, IndexEntry>();
  private logEnd: StorePosition = { file: null, offset: 0 };
  private queue: Promise<unknown> = Promise.resolve();
  private opening: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: UsageStoreOptions) {
    this.dir = options.dir;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Create the folder, load the checkpoint and replay what the log holds past it. Idempotent. */
  open(): Promise<void> {
    this.opening ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      const files = await this.files();
      const checkpoint = await this.readCheckpoint(files);
      let replayFrom = 0;
      if (checkpoint) {
        for (const e of checkpoint.sessions) this.index.set(e.header.session, e);
        replayFrom = checkpoint.file === null ? 0 : files.indexOf(checkpoint.file);
      }
      for (const file of files.slice(replayFrom)) {
        const start = checkpoint && file === checkpoint.file ? checkpoint.offset : 0;
        for await (const line of this.read(file, start)) this.indexLine(line);
      }
      const last = files.at(-1);
      if (last !== undefined) {
        this.logEnd = { file: last, offset: await this.repairTail(last) };
      }
      this.prune();
      await this.saveCheckpoint();
    })();
    return this.opening;
  }

  /** Sessions recorded and not yet pruned (for the meter's restore). */
  sessions(): RestoredSession[] {
    return [...this.index.values()].map(({ header, watermarkMs, ended }) => ({ header, watermarkMs, ended }));
  }

  lookup(sessionId: string): RestoredSession | undefined {
    const e = this.index.get(sessionId);
    return e ? { header: e.header, watermarkMs: e.watermarkMs, ended: e.ended } : undefined;
  }

  /** Append lines to today's file (write + fsync), then update the index checkpoint. Serialized. */
  append(lines: readonly StoreLine[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('usage store is closed'));
    if (lines.length === 0) return Promise.resolve();
    const work = this.queue.then(() => this.write(lines));
    this.queue = work.catch(() => undefined);
    return work;
  }

  /** Where the log ends now: lines written later are past it. */
  get position(): StorePosition {
    return { ...this.logEnd };
  }

  /**
   * Usage lines overlapping [fromMs, toMs], in write order, up to `until` (default: all).
   * A torn or foreign line is skipped.
   */
  async *usageLines(range: UsageRange = {}, until?: StorePosition): AsyncGenerator<UsageLine> {
    await this.open();
    // A line is written at or after its `to`: lines that end at or after fromMs are in files of
    // that day or later.
    const firstDay = range.fromMs === undefined ? '' : dayFileName(range.fromMs);
    for (const file of await this.files()) {
      if (file < firstDay) continue;
      if (until && (until.file === null || file > until.file)) break;
      const end = until && file === until.file ? until.offset : undefined;
      if (end === 0) break;
      for await (const line of this.read(file, 0, end)) {
        if (line.type !== 'usage') continue;
        if (range.fromMs !== undefined && Date.parse(line.to) < range.fromMs) continue;
        if (range.toMs !== undefined && Date.parse(line.from) > range.toMs) continue;
        yield line;
      }
    }
  }

  /** Wait for pending appends; later appends fail. Safe twice. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  private async write(lines: readonly StoreLine[]): Promise<void> {
    await this.open();
    const file = dayFileName(this.now());
    const fh = await open(path.join(this.dir, file), 'a', 0o600);
    try {
      await fh.writeFile(lines.map((l) => `${JSON.stringify(l)}\n`).join(''), 'utf8');
      await fh.sync();
      this.logEnd = { file, offset: (await fh.stat()).size };
    } finally {
      await fh.close();
    }
    for (const line of lines) this.indexLine(line);
    this.prune();
    await this.saveCheckpoint();
  }

  private indexLine(line: StoreLine): void {
    switch (line.type) {
      case 'session': {
        const previous = this.index.get(line.session);
        const startedMs = Date.parse(line.startedAt);
        this.index.set(line.session, {
          header: line,
          watermarkMs: previous?.watermarkMs ?? startedMs,
          ended: previous?.ended ?? false,
          lastMs: Math.max(previous?.lastMs ?? startedMs, startedMs),
        });
        return;
      }
      case 'usage': {
        const e = this.index.get(line.session);
        if (!e) return; // no header: nobody to restore it for
        const toMs = Date.parse(line.to);
        e.watermarkMs = Math.max(e.watermarkMs, toMs);
        e.lastMs = Math.max(e.lastMs, toMs);
        return;
      }
      case 'end': {
        const e = this.index.get(line.session);
        if (!e) return;
        e.ended = true;
        e.lastMs = Math.max(e.lastMs, Date.parse(line.endedAt));
        return;
      }
      default: {
        const never: never = line;
        throw new Error(`unexpected store line ${JSON.stringify(never)}`);
      }
    }
  }

  private prune(): void {
    const cutoff = this.now() - (this.options.indexRetentionMs ?? 7 * DAY_MS);
    for (const [id, e] of this.index) if (e.lastMs < cutoff) this.index.delete(id);
  }

  private async files(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => FILE.test(n)).sort();
  }

  /** Lines of `file` from byte `start` up to byte `end` (exclusive). */
  private async *read(file: string, start: number, end?: number): AsyncGenerator<StoreLine> {
    const input = createReadStream(path.join(this.dir, file), { start, ...(end !== undefined ? { end: end - 1 } : {}), encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const text of lines) {
        const line = text.trim() === '' ? undefined : parseStoreLine(text);
        if (line) yield line;
      }
    } finally {
      lines.close();
      input.destroy();
    }
  }

  /** A crash mid-append leaves a line without its newline: end it, so the next line stands alone. */
  private async repairTail(file: string): Promise<number> {
    const full = path.join(this.dir, file);
    const { size } = await stat(full);
    if (size === 0) return 0;
    const fh = await open(full, 'r+');
    try {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] === 0x0a) return size;
      await fh.write('\n', size);
      await fh.sync();
      return size + 1;
    } finally {
      await fh.close();
    }
  }

  private async readCheckpoint(files: readonly string[]): Promise<z.infer<typeof checkpointSchema> | undefined> {
    try {
      const parsed = checkpointSchema.safeParse(JSON.parse(await readFile(path.join(this.dir, INDEX_FILE), 'utf8')));
      if (!parsed.success) return undefined;
      const cp = parsed.data;
      if (cp.file === null) return files.length === 0 ? cp : undefined;
      if (!files.includes(cp.file)) return undefined;
      // A log shorter than the checkpoint says was replaced or truncated: trust the log.
      if ((await stat(path.join(this.dir, cp.file))).size < cp.offset) return undefined;
      return cp;
    } catch {
      return undefined;
    }
  }

  private async saveCheckpoint(): Promise<void> {
    const body = JSON.stringify({ version: 1, ...this.logEnd, sessions: [...this.index.values()] });
    const tmp = path.join(this.dir, `${INDEX_FILE}.tmp`);
    await writeFile(tmp, body, { mode: 0o600 });
    await rename(tmp, path.join(this.dir, INDEX_FILE));
  }
}
