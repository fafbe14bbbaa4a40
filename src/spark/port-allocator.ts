/**
 * Per-session Spark ports. Every session's driver lives in this pod, so each needs its own
 * `spark.driver.port`, `spark.driver.blockManager.port` and `spark.ui.port`, all inside ranges the
 * headless Service and NetworkPolicy open. Slot i is port start+i of each of the three ranges.
 *
 * Bookkeeping is synchronous: a slot is reserved before the first `await`, so concurrent
 * `allocate()` calls can never be handed the same ports. The optional `isFree` probe (see
 * port-probe.ts) skips slots some other process on the host holds; such slots are only skipped
 * for that attempt, not blacklisted. Slots are handed out round-robin, so a port released a
 * moment ago (its old driver maybe still exiting) is the last to be reused.
 */
import { errors } from '../errors.js';
import { type PortRange, formatPortRange, portRangeSize } from './spark-settings.js';

export interface SessionPorts {
  readonly driverPort: number;
  readonly blockManagerPort: number;
  readonly uiPort: number;
}

export interface PortAllocatorOptions {
  driverPortRange: PortRange;
  blockManagerPortRange: PortRange;
  uiPortRange: PortRange;
  /** Probe: may this port be bound on the host? Default: assume yes. Errors count as "no". */
  isFree?: ((port: number) => Promise<boolean>) | undefined;
}

interface Reservation {
  readonly slot: number;
  confirmed: boolean;
}

export class PortAllocator {
  /** How many sessions can hold ports at once. */
  readonly capacity: number;
  readonly #ranges: Pick<PortAllocatorOptions, 'driverPortRange' | 'blockManagerPortRange' | 'uiPortRange'>;
  readonly #isFree: ((port: number) => Promise<boolean>) | undefined;
  /** slot -> owning session id */
  readonly #owners: (string | undefined)[];
  readonly #bySession = new Map<string, Reservation>();
  readonly #pending = new Map<string, Promise<SessionPorts>>();
  #cursor = 0;

  constructor(options: PortAllocatorOptions) {
    this.#ranges = {
      driverPortRange: options.driverPortRange,
      blockManagerPortRange: options.blockManagerPortRange,
      uiPortRange: options.uiPortRange,
    };
    this.capacity = Math.min(
      portRangeSize(options.driverPortRange),
      portRangeSize(options.blockManagerPortRange),
      portRangeSize(options.uiPortRange),
    );
    this.#isFree = options.isFree;
    this.#owners = new Array<string | undefined>(this.capacity).fill(undefined);
  }

  /**
   * Ports for a session. Calling it again for the same session returns the same ports.
   * Rejects with 403 `policy_limit` (spark.driverPortRange) when no slot is free.
   */
  allocate(sessionId: string): Promise<SessionPorts> {
    const pending = this.#pending.get(sessionId);
    if (pending) return pending;
    const held = this.#bySession.get(sessionId);
    if (held?.confirmed) return Promise.resolve(this.#portsOf(held.slot));
    let promise: Promise<SessionPorts>;
    try {
      promise = this.#allocate(sessionId, this.#reserve(sessionId, new Set()));
    } catch (err) {
      return Promise.reject(err);
    }
    this.#pending.set(sessionId, promise);
    const clear = () => {
      if (this.#pending.get(sessionId) === promise) this.#pending.delete(sessionId);
    };
    promise.then(clear, clear);
    return promise;
  }

  /** Give a session's ports back. Safe to call any number of times, also mid-allocation. */
  release(sessionId: string): void {
    const held = this.#bySession.get(sessionId);
    if (held) {
      this.#bySession.delete(sessionId);
      if (this.#owners[held.slot] === sessionId) this.#owners[held.slot] = undefined;
    }
    this.#pending.delete(sessionId);
  }

  /** Sessions holding ports now (allocation finished), for tests and metrics. */
  inUse(): ReadonlyMap<string, SessionPorts> {
    const out = new Map<string, SessionPorts>();
    for (const [id, r] of this.#bySession) if (r.confirmed) out.set(id, this.#portsOf(r.slot));
    return out;
  }

  /** Ports a session holds, if its allocation finished. */
  portsOf(sessionId: string): SessionPorts | undefined {
    const held = this.#bySession.get(sessionId);
    return held?.confirmed ? this.#portsOf(held.slot) : undefined;
  }

  async #allocate(sessionId: string, first: Reservation): Promise<SessionPorts> {
    const tried = new Set<number>();
    let reservation = first;
    for (;;) {
      const ports = this.#portsOf(reservation.slot);
      const free = await this.#probe(ports);
      if (this.#bySession.get(sessionId) !== reservation) {
        throw errors.conflict(`Session ${sessionId} was released while its Spark ports were being allocated`);
      }
      if (free) {
        reservation.confirmed = true;
        return ports;
      }
      // Another process holds one of these ports: let the slot go (this attempt only), try the next.
      tried.add(reservation.slot);
      this.#bySession.delete(sessionId);
      this.#owners[reservation.slot] = undefined;
      reservation = this.#reserve(sessionId, tried);
    }
  }

  /** Synchronously claim the next free slot after the cursor, skipping `tried`. */
  #reserve(sessionId: string, tried: ReadonlySet<number>): Reservation {
    for (let i = 0; i < this.capacity; i++) {
      const slot = (this.#cursor + i) % this.capacity;
      if (this.#owners[slot] !== undefined || tried.has(slot)) continue;
      this.#owners[slot] = sessionId;
      this.#cursor = (slot + 1) % this.capacity;
      const reservation: Reservation = { slot, confirmed: this.#isFree === undefined };
      this.#bySession.set(sessionId, reservation);
      return reservation;
    }
    const { driverPortRange: d, blockManagerPortRange: b, uiPortRange: u } = this.#ranges;
    const held = tried.size > 0 ? `; ${tried.size} free slot(s) were skipped because other processes on the host hold their ports` : '';
    throw errors.policyLimit(
      'spark.driverPortRange',
      `No free Spark port slot: all ${this.capacity} (driver ${formatPortRange(d)}, block manager ${formatPortRange(b)}, UI ${formatPortRange(u)}) are in use${held}; end a session or widen the ranges`,
    );
  }

  async #probe(ports: SessionPorts): Promise<boolean> {
    const isFree = this.#isFree;
    if (!isFree) return true;
    try {
      const results = await Promise.all([ports.driverPort, ports.blockManagerPort, ports.uiPort].map((p) => isFree(p)));
      return results.every(Boolean);
    } catch {
      return false;
    }
  }

  #portsOf(slot: number): SessionPorts {
    return {
      driverPort: this.#ranges.driverPortRange.start + slot,
      blockManagerPort: this.#ranges.blockManagerPortRange.start + slot,
      uiPort: this.#ranges.uiPortRange.start + slot,
    };
  }
}
