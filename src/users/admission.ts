/**
 * Per-user and per-team limits from the users file, checked before a session starts: sessions at
 * once, and the worst case of executors, cores and memory across all of an owner's (or team's)
 * live sessions. A Spark session's worst case is its driver plus its dynamic-allocation maximum
 * of executors (executor memory with Spark's default overhead, max(384 MiB, 10%), which is what
 * the executor pods request); a session without Spark counts as a session only. A start over a
 * limit gets 403 `quota_exceeded` naming the limit, e.g. "team analytics maxCores".
 *
 * Check and entry are one step: `admit` holds a ticket for the new session until the session
 * registry has it (or the start failed), so two concurrent starts cannot both take the last slot.
 */
import { errors } from '../errors.js';
import type { Kernelspec } from '../kernels/kernelspec-store.js';
import type { Reservation, SessionRegistry } from '../sessions/session-registry.js';
import type { Owner } from './identity.js';
import type { Limits } from './policy-file.js';
import { parseMemorySize } from '../spark/memory-size.js';

export interface Ticket {
  readonly reservation: Reservation;
  /** Drop the hold (the registry has the session now, or the start failed). Idempotent. */
  release(): void;
}

export interface Admission {
  admit(owner: Owner, spec: Kernelspec, userEnv: Readonly<Record<string, string>>): Ticket;
}

export interface LimitAdmissionOptions {
  registry: SessionRegistry;
  userLimits: (user: string) => Limits;
  teamLimits: (team: string) => Limits;
  /** The worst case of a session of this kernelspec and request; undefined: not a Spark session. */
  reservationOf: (spec: Kernelspec, userEnv: Readonly<Record<string, string>>) => Reservation | undefined;
}

const NONE: Reservation = Object.freeze({ executors: 0, cores: 0, memoryBytes: 0 });

interface Held {
  owner: Owner;
  reservation: Reservation;
}

export class LimitAdmission implements Admission {
  private readonly held = new Set<Held>();

  constructor(private readonly options: LimitAdmissionOptions) {}

  admit(owner: Owner, spec: Kernelspec, userEnv: Readonly<Record<string, string>>): Ticket {
    const reservation = this.options.reservationOf(spec, userEnv) ?? NONE;
    this.check(`user ${owner.user}`, this.options.userLimits(owner.user), reservation, (o) => o.user === owner.user);
    this.check(`team ${owner.team}`, this.options.teamLimits(owner.team), reservation, (o) => o.team === owner.team);
    const held: Held = { owner, reservation };
    this.held.add(held);
    return { reservation, release: () => void this.held.delete(held) };
  }

  /** What an owner (or team) holds now: live sessions plus starts in flight. */
  usage(match: (owner: Owner) => boolean): { sessions: number } & Reservation {
    const total = { sessions: 0, executors: 0, cores: 0, memoryBytes: 0 };
    const add = (r: Reservation | undefined): void => {
      total.sessions += 1;
      total.executors += r?.executors ?? 0;
      total.cores += r?.cores ?? 0;
      total.memoryBytes += r?.memoryBytes ?? 0;
    };
    for (const s of this.options.registry.live()) if (match(s.owner)) add(s.reservation);
    for (const h of this.held) if (match(h.owner)) add(h.reservation);
    return total;
  }

  private check(who: string, limits: Limits, asked: Reservation, match: (owner: Owner) => boolean): void {
    if (Object.keys(limits).length === 0) return;
    const used = this.usage(match);
    if (limits.maxSessions !== undefined && used.sessions + 1 > limits.maxSessions) {
      throw errors.quotaExceeded(`${who} maxSessions`, `${cap(who)} has ${used.sessions} of ${limits.maxSessions} sessions; shut one down first`);
    }
    if (limits.maxExecutors !== undefined && used.executors + asked.executors > limits.maxExecutors) {
      throw errors.quotaExceeded(
        `${who} maxExecutors`,
        `${cap(who)} may have ${limits.maxExecutors} executors across sessions; ${used.executors} are held and this session may scale to ${asked.executors} (ask for fewer with KERNEL_MAX_EXECUTORS)`,
      );
    }
    if (limits.maxCores !== undefined && used.cores + asked.cores > limits.maxCores) {
      throw errors.quotaExceeded(
        `${who} maxCores`,
        `${cap(who)} may use ${limits.maxCores} cores across sessions; ${used.cores} are held and this session may use ${asked.cores} (driver + max executors x executor cores)`,
      );
    }
    if (limits.maxMemory !== undefined) {
      const max = parseMemorySize(limits.maxMemory)!.bytes;
      if (used.memoryBytes + asked.memoryBytes > max) {
        throw errors.quotaExceeded(
          `${who} maxMemory`,
          `${cap(who)} may use ${limits.maxMemory} of memory across sessions; ${gib(used.memoryBytes)} are held and this session may use ${gib(asked.memoryBytes)} (driver + max executors x executor memory with overhead)`,
        );
      }
    }
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
