/**
 * Every Spark-or-not session the gateway runs, kernels and terminals alike, with its owner: the
 * one place that answers "whose is session X" for ownership checks, usage metering and logs.
 * Ended sessions stay for `retainMs` (their logs and usage are still asked for), then go.
 *
 * Events: `started` when a session gets an owner (a kernel start, a pool claim, a terminal with
 * its own session), `ended` once when it ends for good (a restart is not an end).
 */
import { EventEmitter } from 'node:events';
import type { Owner } from '../users/identity.js';

export type SessionKind = 'kernel' | 'terminal';

export interface SessionRecord {
  readonly id: string;
  readonly owner: Owner;
  readonly kind: SessionKind;
  /** Kernelspec name, or the terminal's kind (pyspark, spark-sql, spark-shell). */
  readonly kernelspec: string;
  readonly startedAt: number;
  endedAt: number | undefined;
  /** The Spark conf it runs with, when it is a Spark session (namespace, resources, app id). */
  sparkConf: Readonly<Record<string, string>> | undefined;
  /** What it counts against its owner's and team's limits (admission.ts); undefined: nothing. */
  readonly reservation: Reservation | undefined;
}

/** A session's worst case: its driver plus its dynamic-allocation maximum of executors. */
export interface Reservation {
  readonly executors: number;
  readonly cores: number;
  readonly memoryBytes: number;
}

interface RegistryEvents {
  started: [SessionRecord];
  ended: [SessionRecord];
}

export class SessionRegistry extends EventEmitter<RegistryEvents> {
  private readonly records = new Map<string, SessionRecord>();

  constructor(private readonly options: { retainMs: number; now?: () => number }) {
    super();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  begin(
    record: Omit<SessionRecord, 'startedAt' | 'endedAt' | 'sparkConf' | 'reservation'> & {
      sparkConf?: SessionRecord['sparkConf'];
      reservation?: Reservation | undefined;
    },
  ): SessionRecord {
    const existing = this.records.get(record.id);
    if (existing && existing.endedAt === undefined) return existing;
    const created: SessionRecord = {
      ...record,
      startedAt: this.now(),
      endedAt: undefined,
      sparkConf: record.sparkConf,
      reservation: record.reservation,
    };
    this.records.set(record.id, created);
    this.prune();
    this.emit('started', created);
    return created;
  }

  /** The Spark conf a (re)start rendered. */
  setSparkConf(id: string, conf: Readonly<Record<string, string>>): void {
    const record = this.records.get(id);
    if (record) record.sparkConf = conf;
  }

  end(id: string): void {
    const record = this.records.get(id);
    if (!record || record.endedAt !== undefined) return;
    record.endedAt = this.now();
    this.emit('ended', record);
  }

  get(id: string): SessionRecord | undefined {
    return this.records.get(id);
  }

  /** Live sessions. */
  live(): SessionRecord[] {
    return [...this.records.values()].filter((r) => r.endedAt === undefined);
  }

  all(): SessionRecord[] {
    this.prune();
    return [...this.records.values()];
  }

  private prune(): void {
    const cutoff = this.now() - this.options.retainMs;
    for (const [id, r] of this.records) if (r.endedAt !== undefined && r.endedAt < cutoff) this.records.delete(id);
  }
}
