/**
 * Spark job counts from the driver's own REST API (the UI port, in this pod):
 * `GET /api/v1/applications`, then `GET /api/v1/applications/{appId}/jobs`.
 * https://spark.apache.org/docs/latest/monitoring.html#rest-api
 *
 * Job ids are sequential per SparkContext from 0, so a context has run max(jobId) + 1 jobs even
 * after the UI dropped old ones (spark.ui.retainedJobs). A context is told apart by its app id
 * and attempt start time: a restarted kernel's new context (same `spark.app.id`, a new start
 * time) counts from 0 again instead of being mistaken for "no new jobs".
 *
 * Error bound: jobs are counted when polled (kernel idle, every jobPollSeconds, and once at
 * session end while the driver still answers). Jobs a context ran after its last successful
 * poll are lost if it stops answering first (a crash, a restart, a shutdown that outruns the
 * final poll): at most the jobs of one poll interval / one cell. A session with the UI disabled
 * (`spark.ui.enabled=false`) reports no jobs.
 */
import { z } from 'zod';

const applicationsSchema = z.array(
  z.object({
    id: z.string().min(1),
    attempts: z.array(z.object({ startTime: z.string().optional() }).loose()).optional(),
  }).loose(),
);
const jobsSchema = z.array(z.object({ jobId: z.number().int().nonnegative() }).loose());

export interface SparkJobCounterOptions {
  /** Injected for tests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
  /** Per request (default 2 s: the driver is local; a slow one is polled again later). */
  readonly timeoutMs?: number;
  readonly host?: string;
}

interface ContextCount {
  readonly key: string;
  readonly count: number;
}

export class SparkJobCounter {
  private readonly seen = new Map<string, Map<string, number>>();
  private readonly inflight = new Map<string, Promise<number>>();

  constructor(private readonly options: SparkJobCounterOptions = {}) {}

  /**
   * Jobs the session's driver ran since the last successful poll (0 when it does not answer).
   * A poll while one is under way waits for it and reports 0: the first caller has the jobs.
   */
  poll(sessionId: string, uiPort: number): Promise<number> {
    const running = this.inflight.get(sessionId);
    if (running) return running.then(() => 0);
    const work = this.count(uiPort)
      .then((contexts) => this.delta(sessionId, contexts))
      .catch(() => 0)
      .finally(() => this.inflight.delete(sessionId));
    this.inflight.set(sessionId, work);
    return work;
  }

  /** Wait for polls under way (stop). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()]);
  }

  forget(sessionId: string): void {
    this.seen.delete(sessionId);
  }

  private delta(sessionId: string, contexts: readonly ContextCount[]): number {
    const known = this.seen.get(sessionId) ?? new Map<string, number>();
    let added = 0;
    for (const { key, count } of contexts) {
      const before = known.get(key) ?? 0;
      if (count > before) added += count - before;
      known.set(key, Math.max(before, count));
    }
    // Keep only the contexts the driver still reports (a restarted context replaces the old one).
    for (const key of known.keys()) if (!contexts.some((c) => c.key === key)) known.delete(key);
    this.seen.set(sessionId, known);
    return added;
  }

  private async count(uiPort: number): Promise<ContextCount[]> {
    const base = `http://${this.options.host ?? '127.0.0.1'}:${uiPort}/api/v1/applications`;
    const apps = applicationsSchema.parse(await this.getJson(base));
    const out: ContextCount[] = [];
    for (const app of apps) {
      const jobs = jobsSchema.parse(await this.getJson(`${base}/${encodeURIComponent(app.id)}/jobs`));
      const count = jobs.reduce((max, j) => Math.max(max, j.jobId + 1), 0);
      out.push({ key: `${app.id}@${app.attempts?.at(-1)?.startTime ?? ''}`, count });
    }
    return out;
  }

  private async getJson(url: string): Promise<unknown> {
    const doFetch = this.options.fetch ?? fetch;
    const res = await doFetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 2_000), redirect: 'error' });
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
    return res.json();
  }
}
