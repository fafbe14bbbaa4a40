/**
 * Where archived executor logs live: `<stateDir>/logs/executors/<sessionId>/<executorId>.log`
 * (a BoundedLogFile) next to `<executorId>.json`, what the archiver knows about it (pod, uid,
 * where to resume reading, when the pod was seen gone). Metadata is written to a temporary
 * file renamed into place, one write at a time per executor. Ids are checked before they become
 * path segments.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { BoundedLogFile } from './bounded-log-file.js';

export const executorLogMetaSchema = z.object({
  sessionId: z.string().min(1),
  executorId: z.string().min(1),
  namespace: z.string(),
  pod: z.string(),
  uid: z.string(),
  container: z.string().nullable(),
  /** Where to resume reading (log-cursor.ts), null before the first line. */
  cursor: z.object({ time: z.string(), seen: z.number().int().nonnegative() }).nullable(),
  /** When the executor ended: container terminated or pod gone, whichever was seen first (ISO 8601). */
  endedAt: z.string().nullable(),
  /** When the pod object was seen gone (ISO 8601): retention counts from here. */
  goneAt: z.string().nullable().default(null),
  /** The container ended and its log was read to the end. */
  complete: z.boolean(),
});
export type ExecutorLogMeta = z.infer<typeof executorLogMetaSchema>;

export interface ArchivedExecutor {
  readonly sessionId: string;
  readonly executorId: string;
  /** undefined when the metadata is missing or unreadable. */
  readonly meta: ExecutorLogMeta | undefined;
  /** Last change of the log or its metadata. */
  readonly modifiedMs: number;
}

export interface ExecutorLogStoreOptions {
  readonly stateDir: string;
  /** `executorLogMaxBytes`: the ring's size per executor. */
  readonly maxBytes: number;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Usable as a file or folder name: no separators, no dot segments. */
export function isSafeId(id: string): boolean {
  return SAFE_ID.test(id) && !id.includes('..');
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class ExecutorLogStore {
  readonly root: string;
  private readonly maxBytes: number;
  private readonly files = new Map<string, Promise<BoundedLogFile>>();
  private readonly metaWrites = new Map<string, Promise<unknown>>();

  constructor(options: ExecutorLogStoreOptions) {
    this.root = path.join(options.stateDir, 'logs', 'executors');
    this.maxBytes = options.maxBytes;
  }

  logPath(sessionId: string, executorId: string): string {
    return path.join(this.sessionDir(sessionId), `${executorId}.log`);
  }

  private sessionDir(sessionId: string): string {
    if (!isSafeId(sessionId)) throw new RangeError(`unsafe session id ${JSON.stringify(sessionId)}`);
    return path.join(this.root, sessionId);
  }

  private metaPath(sessionId: string, executorId: string): string {
    if (!isSafeId(executorId)) throw new RangeError(`unsafe executor id ${JSON.stringify(executorId)}`);
    return path.join(this.sessionDir(sessionId), `${executorId}.json`);
  }

  /** The ring of one executor (one instance per executor, shared by its writer and readers). */
  file(sessionId: string, executorId: string): Promise<BoundedLogFile> {
    const key = `${sessionId}/${executorId}`;
    let file = this.files.get(key);
    if (!file) {
      this.metaPath(sessionId, executorId); // validates both ids
      const ring = new BoundedLogFile({ path: this.logPath(sessionId, executorId), maxBytes: this.maxBytes });
      file = mkdir(this.sessionDir(sessionId), { recursive: true }).then(() => ring);
      this.files.set(key, file);
      file.catch(() => this.files.get(key) === file && this.files.delete(key));
    }
    return file;
  }

  async readMeta(sessionId: string, executorId: string): Promise<ExecutorLogMeta | undefined> {
    try {
      const parsed = executorLogMetaSchema.safeParse(JSON.parse(await readFile(this.metaPath(sessionId, executorId), 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  writeMeta(meta: ExecutorLogMeta): Promise<void> {
    const file = this.metaPath(meta.sessionId, meta.executorId);
    const body = `${JSON.stringify(executorLogMetaSchema.parse(meta))}\n`;
    const previous = this.metaWrites.get(file) ?? Promise.resolve();
    const write = previous.then(async () => {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, file);
    });
    const settled = write.catch(() => undefined);
    this.metaWrites.set(file, settled);
    void settled.then(() => this.metaWrites.get(file) === settled && this.metaWrites.delete(file));
    return write;
  }

  /** Whether a log or metadata exists for this executor. */
  async has(sessionId: string, executorId: string): Promise<boolean> {
    if (!isSafeId(sessionId) || !isSafeId(executorId)) return false;
    for (const p of [this.logPath(sessionId, executorId), this.metaPath(sessionId, executorId)]) {
      try {
        await stat(p);
        return true;
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    return false;
  }

  /** Archived executors of one session, or of every session. */
  async list(sessionId?: string): Promise<ArchivedExecutor[]> {
    const sessions = sessionId === undefined ? await this.names(this.root) : isSafeId(sessionId) ? [sessionId] : [];
    const out: ArchivedExecutor[] = [];
    for (const s of sessions) {
      if (!isSafeId(s)) continue;
      const ids = new Set<string>();
      for (const name of await this.names(path.join(this.root, s))) {
        const m = /^(.+)\.(log|json)$/.exec(name);
        if (m?.[1] && isSafeId(m[1])) ids.add(m[1]);
      }
      for (const executorId of ids) {
        let modifiedMs = 0;
        for (const p of [this.logPath(s, executorId), this.metaPath(s, executorId)]) {
          modifiedMs = Math.max(modifiedMs, await stat(p).then((st) => st.mtimeMs, () => 0));
        }
        out.push({ sessionId: s, executorId, meta: await this.readMeta(s, executorId), modifiedMs });
      }
    }
    return out;
  }

  /** Delete an executor's log and metadata; the session folder too once empty. */
  async remove(sessionId: string, executorId: string): Promise<void> {
    const key = `${sessionId}/${executorId}`;
    const file = this.files.get(key);
    this.files.delete(key);
    if (file) await (await file.catch(() => undefined))?.remove();
    await rm(this.logPath(sessionId, executorId), { force: true });
    await (this.metaWrites.get(this.metaPath(sessionId, executorId)) ?? Promise.resolve());
    await rm(this.metaPath(sessionId, executorId), { force: true });
    await rmdir(this.sessionDir(sessionId)).catch(() => undefined); // not empty: other executors
  }

  private async names(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }
}
