/**
 * Per-session usage accounting: sessions from the registry (owner, live time, Spark conf),
 * executor pod timelines from the pod feed, job counts from the job counter, turned into the
 * store's lines every flush. Pure state: time comes in as arguments, lines go out; the usage
 * extension does the I/O.
 *
 * Each session keeps a watermark: everything up to it is in the store. A flush is two-phase:
 * `prepareFlush(now)` computes the lines for (watermark, now]; only once the store has them
 * does `commit()` move the watermarks, so a failed write loses nothing (the next flush covers
 * the longer interval). Pods keep their own watermark, so a pod the feed reports late (a cut
 * watch, the first list after start) still accrues from its start: its share lands in the flush
 * that saw it, which is why a record's seconds can exceed its (from, to] interval.
 *
 * After a gateway restart the store's index restores the sessions it knew: their drivers died
 * with the old gateway (driver time stops at their last flush); their executor pods, if the
 * new watch still sees them, accrue from that last flush on, billed to the recorded owner. Pods
 * of sessions nobody recorded are billed to `(unknown)`.
 */
import type { SessionRecord } from '../sessions/session-registry.js';
import type { Owner } from '../users/identity.js';
import { driverResources, NO_DRIVER, sessionNamespace, sessionUiPort, type DriverResources } from './driver-resources.js';
import { accruePod, applySample, isSettled, liveSecondsIn, type PodSample, type PodTimeline } from './pod-timeline.js';
import { iso, isZero, zeroFigures, type EndLine, type SessionLine, type UsageLine } from './usage-records.js';

export const UNKNOWN_OWNER: Owner = Object.freeze({ user: '(unknown)', team: '(unknown)' });

/** A session an earlier gateway recorded (usage-store.ts's index). */
export interface RestoredSession {
  readonly header: SessionLine;
  /** Its last flush (`to` of its last usage line), else its start. */
  readonly watermarkMs: number;
  readonly ended: boolean;
}

export interface UsageMeterOptions {
  /** Ended sessions without pods stay this long (their late pods keep their owner). Default 1 h. */
  readonly endedRetainMs?: number;
  /** The recorded header of a session this meter does not hold (the store's index). */
  readonly lookupHeader?: (sessionId: string) => RestoredSession | undefined;
}

interface Account {
  readonly id: string;
  owner: Owner;
  kernelspec: string;
  /** This gateway's registry record (its sparkConf and endedAt change under us). */
  record: SessionRecord | undefined;
  /** An earlier gateway's header (restored sessions). */
  header: SessionLine | undefined;
  startedMs: number;
  endedMs: number | undefined;
  watermarkMs: number;
  /** Pods of this session accrue from no earlier than this (restored sessions: their last flush). */
  podBaselineMs: number;
  pendingJobs: number;
  headerKey: string | undefined;
}

export interface FlushPlan {
  /** Changed headers, then one usage line per session that accrued anything. */
  readonly lines: readonly (SessionLine | UsageLine)[];
  readonly usage: readonly UsageLine[];
  /** The store has the lines: move the watermarks. */
  commit(): void;
}

export class UsageMeter {
  private readonly accounts = new Map<string, Account>();
  private readonly pods = new Map<string, PodTimeline>();
  /** Per pod uid: accounted up to here. */
  private readonly podWatermarks = new Map<string, number>();

  constructor(private readonly options: UsageMeterOptions = {}) {}

  /** Sessions an earlier gateway left; returns `end` lines for those it never saw end. */
  restore(sessions: readonly RestoredSession[]): EndLine[] {
    const ends: EndLine[] = [];
    for (const s of sessions) {
      if (this.accounts.has(s.header.session)) continue;
      this.accounts.set(s.header.session, this.restoredAccount(s));
      if (!s.ended) ends.push({ type: 'end', session: s.header.session, endedAt: iso(s.watermarkMs), reason: 'gateway-restart' });
    }
    return ends;
  }

  /** A registry `started` event: returns the header line to write now. */
  sessionStarted(record: SessionRecord): SessionLine {
    const existing = this.accounts.get(record.id);
    const account: Account = existing ?? {
      id: record.id,
      owner: record.owner,
      kernelspec: record.kernelspec,
      record,
      header: undefined,
      startedMs: record.startedAt,
      endedMs: undefined,
      watermarkMs: record.startedAt,
      podBaselineMs: Number.NEGATIVE_INFINITY,
      pendingJobs: 0,
      headerKey: undefined,
    };
    Object.assign(account, { owner: record.owner, kernelspec: record.kernelspec, record, startedMs: record.startedAt, endedMs: undefined });
    this.accounts.set(record.id, account);
    const header = this.headerOf(account);
    account.headerKey = JSON.stringify(header);
    return header;
  }

  /** A registry `ended` event: returns the `end` line. Its last usage goes out with the next flush. */
  sessionEnded(record: SessionRecord): EndLine | undefined {
    const account = this.accounts.get(record.id);
    if (!account) return undefined;
    account.endedMs = record.endedAt ?? account.watermarkMs;
    return { type: 'end', session: record.id, endedAt: iso(account.endedMs), reason: 'ended' };
  }

  observePod(sample: PodSample): void {
    if (!sample.sessionId) return;
    this.pods.set(sample.uid, applySample(this.pods.get(sample.uid), sample));
    if (this.accounts.has(sample.sessionId)) return;
    const restored = this.options.lookupHeader?.(sample.sessionId);
    this.accounts.set(
      sample.sessionId,
      restored
        ? this.restoredAccount(restored)
        : {
            id: sample.sessionId,
            owner: UNKNOWN_OWNER,
            kernelspec: '',
            record: undefined,
            header: undefined,
            startedMs: sample.observedMs,
            endedMs: sample.observedMs,
            watermarkMs: sample.observedMs,
            podBaselineMs: Number.NEGATIVE_INFINITY,
            pendingJobs: 0,
            headerKey: undefined,
          },
    );
  }

  /** Spark jobs a session ran since the last count (job-counter.ts). */
  addJobs(sessionId: string, jobs: number): void {
    const account = this.accounts.get(sessionId);
    if (account && jobs > 0) account.pendingJobs += jobs;
  }

  /** Live Spark sessions of this gateway and their driver UI port (job polling). */
  liveSparkSessions(): { id: string; uiPort: number }[] {
    const out: { id: string; uiPort: number }[] = [];
    for (const a of this.accounts.values()) {
      const uiPort = sessionUiPort(a.record?.sparkConf);
      if (a.record && a.endedMs === undefined && uiPort !== undefined) out.push({ id: a.id, uiPort });
    }
    return out;
  }

  uiPortOf(sessionId: string): number | undefined {
    return sessionUiPort(this.accounts.get(sessionId)?.record?.sparkConf);
  }

  /** Sessions and pods held in memory (tests, logs). */
  get size(): { sessions: number; pods: number } {
    return { sessions: this.accounts.size, pods: this.pods.size };
  }

  /** What accrued since each session's watermark, up to `nowMs`, without committing it. */
  pending(nowMs: number): UsageLine[] {
    return [...this.prepareFlush(nowMs).usage];
  }

  prepareFlush(nowMs: number): FlushPlan {
    const lines: (SessionLine | UsageLine)[] = [];
    const usage: UsageLine[] = [];
    const steps: (() => void)[] = [];
    const podsBySession = new Map<string, PodTimeline[]>();
    for (const pod of this.pods.values()) {
      const list = podsBySession.get(pod.sessionId) ?? [];
      list.push(pod);
      podsBySession.set(pod.sessionId, list);
    }
    for (const account of this.accounts.values()) {
      const fromMs = account.watermarkMs;
      const toMs = Math.max(nowMs, fromMs);
      const figures = zeroFigures();
      const driver = this.driverOf(account);
      const driverSeconds = liveSecondsIn({ startMs: account.startedMs, endMs: account.endedMs }, fromMs, toMs);
      figures.driverCoreSeconds = driver.cores * driverSeconds;
      figures.driverMemoryByteSeconds = driver.memoryBytes * driverSeconds;
      const pods = podsBySession.get(account.id) ?? [];
      for (const pod of pods) {
        const podFrom = Math.max(this.podWatermarks.get(pod.uid) ?? account.podBaselineMs, account.podBaselineMs);
        const cost = accruePod(pod, podFrom, toMs);
        figures.executorCoreSeconds += cost.coreSeconds;
        figures.executorMemoryByteSeconds += cost.memoryByteSeconds;
      }
      const jobs = account.pendingJobs;
      figures.jobs = jobs;

      const header = account.record ? this.headerOf(account) : undefined;
      const headerKey = header ? JSON.stringify(header) : account.headerKey;
      if (header && headerKey !== account.headerKey) lines.push(header);
      if (!isZero(figures)) {
        const line: UsageLine = { type: 'usage', ...this.ownerFields(account), from: iso(fromMs), to: iso(toMs), ...figures };
        lines.push(line);
        usage.push(line);
      }
      steps.push(() => {
        account.watermarkMs = Math.max(account.watermarkMs, toMs);
        account.pendingJobs -= jobs;
        account.headerKey = headerKey;
        for (const pod of pods) this.podWatermarks.set(pod.uid, Math.max(this.podWatermarks.get(pod.uid) ?? toMs, toMs));
      });
    }
    let committed = false;
    return {
      lines,
      usage,
      commit: () => {
        if (committed) return;
        committed = true;
        for (const step of steps) step();
        this.prune(nowMs);
      },
    };
  }

  private prune(nowMs: number): void {
    const withPods = new Set<string>();
    for (const [uid, pod] of this.pods) {
      const accounted = this.podWatermarks.get(uid);
      if (accounted !== undefined && isSettled(pod, accounted)) {
        this.pods.delete(uid);
        this.podWatermarks.delete(uid);
      } else {
        withPods.add(pod.sessionId);
      }
    }
    const retain = this.options.endedRetainMs ?? 3_600_000;
    for (const [id, a] of this.accounts) {
      const over = a.endedMs !== undefined && a.endedMs <= a.watermarkMs && a.watermarkMs + retain <= nowMs;
      if (over && !withPods.has(id) && a.pendingJobs === 0) this.accounts.delete(id);
    }
  }

  private restoredAccount(s: RestoredSession): Account {
    const h = s.header;
    return {
      id: h.session,
      owner: h.via === undefined ? { user: h.user, team: h.team } : { user: h.user, team: h.team, via: h.via },
      kernelspec: h.kernelspec,
      record: undefined,
      header: h,
      startedMs: Date.parse(h.startedAt),
      // The driver died with the gateway that recorded it.
      endedMs: s.watermarkMs,
      watermarkMs: s.watermarkMs,
      podBaselineMs: s.watermarkMs,
      pendingJobs: 0,
      headerKey: JSON.stringify(h),
    };
  }

  private driverOf(account: Account): DriverResources {
    if (account.record) return driverResources(account.record.sparkConf);
    if (account.header) return { cores: account.header.driverCores, memoryBytes: account.header.driverMemoryBytes };
    return NO_DRIVER;
  }

  private ownerFields(account: Account): Pick<UsageLine, 'session' | 'user' | 'team' | 'via' | 'kernelspec' | 'namespace'> {
    return {
      session: account.id,
      user: account.owner.user,
      team: account.owner.team,
      ...(account.owner.via !== undefined ? { via: account.owner.via } : {}),
      kernelspec: account.kernelspec,
      namespace: account.record ? sessionNamespace(account.record.sparkConf) : (account.header?.namespace ?? null),
    };
  }

  private headerOf(account: Account): SessionLine {
    const driver = this.driverOf(account);
    return {
      type: 'session',
      ...this.ownerFields(account),
      startedAt: iso(account.startedMs),
      driverCores: driver.cores,
      driverMemoryBytes: driver.memoryBytes,
    };
  }
}
