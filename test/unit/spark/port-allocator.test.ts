import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../../../src/errors.js';
import { PortAllocator, type SessionPorts, isPortFree } from '../../../src/spark/index.js';

const ranges = (size: number) => ({
  driverPortRange: { start: 40000, end: 40000 + size - 1 },
  blockManagerPortRange: { start: 40100, end: 40100 + size - 1 },
  uiPortRange: { start: 40200, end: 40200 + size - 1 },
});
const slot = (i: number): SessionPorts => ({ driverPort: 40000 + i, blockManagerPort: 40100 + i, uiPort: 40200 + i });

/** Deterministic PRNG (mulberry32) so a failure replays. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Let `n` microtask turns pass: interleaves async work without real time. */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe('PortAllocator', () => {
  it('hands out the same index of each range, round-robin', async () => {
    const a = new PortAllocator(ranges(3));
    expect(a.capacity).toBe(3);
    expect(await a.allocate('s1')).toEqual(slot(0));
    expect(await a.allocate('s2')).toEqual(slot(1));
    a.release('s1');
    // slot 0 is free again, but the cursor moves on: a just-released port is reused last
    expect(await a.allocate('s3')).toEqual(slot(2));
    expect(await a.allocate('s4')).toEqual(slot(0));
    expect([...a.inUse()]).toEqual([
      ['s2', slot(1)],
      ['s3', slot(2)],
      ['s4', slot(0)],
    ]);
  });

  it('returns the same ports when asked twice for one session', async () => {
    const a = new PortAllocator(ranges(3));
    const [p1, p2] = await Promise.all([a.allocate('s1'), a.allocate('s1')]);
    expect(p1).toEqual(p2);
    expect(await a.allocate('s1')).toEqual(p1);
    expect(a.inUse().size).toBe(1);
  });

  it('refuses with 403 naming spark.driverPortRange when exhausted, and recovers on release', async () => {
    const a = new PortAllocator(ranges(2));
    await a.allocate('s1');
    await a.allocate('s2');
    const err = await a.allocate('s3').catch((e: unknown) => e);
    expect(isGatewayError(err) && { status: err.status, reason: err.reason, message: err.message }).toEqual({
      status: 403,
      reason: 'policy_limit',
      message:
        'No free Spark port slot: all 2 (driver 40000-40001, block manager 40100-40101, UI 40200-40201) are in use; end a session or widen the ranges (limit: spark.driverPortRange)',
    });
    a.release('s1');
    expect(await a.allocate('s3')).toEqual(slot(0));
  });

  it('release is idempotent and ignores unknown sessions', async () => {
    const a = new PortAllocator(ranges(2));
    await a.allocate('s1');
    a.release('s1');
    a.release('s1');
    a.release('never-allocated');
    expect(a.inUse().size).toBe(0);
    expect(a.portsOf('s1')).toBeUndefined();
    await a.allocate('s2');
    await a.allocate('s3');
    expect(a.inUse().size).toBe(2);
  });

  it('skips slots whose ports another process holds, without blacklisting them', async () => {
    const held = new Set([40001, 40102]);
    const probed: number[] = [];
    const a = new PortAllocator({
      ...ranges(4),
      isFree: async (port) => {
        probed.push(port);
        return !held.has(port);
      },
    });
    expect(await a.allocate('s1')).toEqual(slot(0));
    expect(await a.allocate('s2')).toEqual(slot(3)); // slot 1 (driver 40001) and slot 2 (block manager 40102) are held
    expect(probed).toEqual(expect.arrayContaining([40001, 40102, 40203]));
    held.clear();
    expect(await a.allocate('s3')).toEqual(slot(1));
  });

  it('treats a failing probe as "port held", and says so when nothing is left', async () => {
    const a = new PortAllocator({
      ...ranges(2),
      isFree: async () => {
        throw new Error('EPERM');
      },
    });
    const err = await a.allocate('s1').catch((e: unknown) => e);
    expect(isGatewayError(err) && err.message).toBe(
      'No free Spark port slot: all 2 (driver 40000-40001, block manager 40100-40101, UI 40200-40201) are in use; 2 free slot(s) were skipped because other processes on the host hold their ports; end a session or widen the ranges (limit: spark.driverPortRange)',
    );
    expect(a.inUse().size).toBe(0);
  });

  it('never gives two concurrent starts the same slot while probes are in flight', async () => {
    const a = new PortAllocator({ ...ranges(5), isFree: async () => (await ticks(3), true) });
    const all = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => a.allocate(id)));
    expect(new Set(all.map((p) => p.driverPort)).size).toBe(5);
  });

  it('a release during allocation wins: the start fails with 409 and the slot is free', async () => {
    const a = new PortAllocator({ ...ranges(1), isFree: async () => (await ticks(2), true) });
    const pending = a.allocate('s1');
    a.release('s1');
    const err = await pending.catch((e: unknown) => e);
    expect(isGatewayError(err) && [err.status, err.reason]).toEqual([409, 'conflict']);
    expect(await a.allocate('s2')).toEqual(slot(0));
  });

  it('keeps ports unique through 1,000 interleaved allocations and releases in random order', async () => {
    const random = rng(20240611);
    const capacity = 20;
    const a = new PortAllocator({ ...ranges(capacity), isFree: async () => (await ticks(Math.floor(random() * 4)), random() > 0.1) });
    const live = new Map<string, SessionPorts>();
    const inFlight = new Map<string, Promise<void>>();
    let next = 0;
    let exhausted = 0;

    // Plain checks (one expect per failure, not per port) keep 1,000 rounds fast.
    const problems: string[] = [];
    const checkInvariants = (op: number) => {
      const held = [...a.inUse()];
      const ports = held.flatMap(([, p]) => [p.driverPort, p.blockManagerPort, p.uiPort]);
      if (new Set(ports).size !== ports.length) problems.push(`op ${op}: a port is held twice`);
      if (held.length > capacity) problems.push(`op ${op}: more sessions than slots`);
      for (const [id, p] of held) {
        const i = p.driverPort - 40000;
        if (i < 0 || i >= capacity || p.blockManagerPort !== 40100 + i || p.uiPort !== 40200 + i) {
          problems.push(`op ${op}: ${id} got ${JSON.stringify(p)}`);
        }
        // what the allocator says a session holds is what its start resolved with
        const resolved = live.get(id);
        if (resolved && resolved.driverPort !== p.driverPort) problems.push(`op ${op}: ${id} resolved with other ports`);
      }
    };

    for (let op = 0; op < 1_000; op++) {
      const r = random();
      if (r < 0.55) {
        const id = `s${next++}`;
        const started = a.allocate(id).then(
          (ports) => {
            live.set(id, ports);
          },
          (err: unknown) => {
            if (!isGatewayError(err)) throw err;
            if (err.reason === 'policy_limit') exhausted++;
          },
        );
        inFlight.set(id, started.finally(() => inFlight.delete(id)));
      } else {
        // release a random session: finished or still allocating
        const ids = [...live.keys(), ...inFlight.keys()];
        const id = ids[Math.floor(random() * ids.length)];
        if (id !== undefined) {
          a.release(id);
          a.release(id); // idempotent
          live.delete(id);
        }
      }
      await ticks(Math.floor(random() * 3));
      checkInvariants(op);
    }
    await Promise.all(inFlight.values());
    checkInvariants(1_000);
    expect(problems).toEqual([]);
    expect(exhausted).toBeGreaterThan(0); // the run did reach the limit
    for (const id of [...a.inUse().keys()]) a.release(id);
    expect(a.inUse().size).toBe(0);
  });
});

describe('isPortFree', () => {
  it('says no for a bound port and yes once it is released', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '0.0.0.0' }, resolve));
    const port = (server.address() as net.AddressInfo).port;
    expect(await isPortFree(port)).toBe(false);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await isPortFree(port)).toBe(true);
  });
});
