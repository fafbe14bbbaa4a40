import { describe, expect, it } from 'vitest';
import type { Kernelspec } from '../../../src/kernels/kernelspec-store.js';
import { SessionRegistry, type Reservation } from '../../../src/sessions/session-registry.js';
import { LimitAdmission } from '../../../src/users/admission.js';
import type { Limits } from '../../../src/users/policy-file.js';

const GiB = 2 ** 30;
const spark = { name: 'pyspark' } as Kernelspec;
const plain = { name: 'python3' } as Kernelspec;

function setup(users: Record<string, Limits>, teams: Record<string, Limits>, perSession: Reservation) {
  const registry = new SessionRegistry({ retainMs: 0 });
  const admission = new LimitAdmission({
    registry,
    userLimits: (u) => users[u] ?? {},
    teamLimits: (t) => teams[t] ?? {},
    reservationOf: (spec) => (spec === spark ? perSession : undefined),
  });
  let n = 0;
  const start = (user: string, team: string, spec = spark) => {
    const owner = { user, team };
    const ticket = admission.admit(owner, spec, {});
    registry.begin({ id: `s${++n}`, owner, kind: 'kernel', kernelspec: spec.name, reservation: ticket.reservation });
    ticket.release();
    return `s${n}`;
  };
  return { registry, admission, start };
}

describe('LimitAdmission', () => {
  const session = { executors: 4, cores: 1 + 4 * 2, memoryBytes: 1 * GiB + 4 * 2.4 * GiB };

  it('maxExecutors, maxCores and maxMemory count each live session at its worst case', () => {
    const { start } = setup({ alice: { maxExecutors: 8 } }, { t: { maxCores: 20, maxMemory: '25g' } }, session);
    start('alice', 'a');
    start('alice', 'a');
    expect(() => start('alice', 'a')).toThrow(/limit: user alice maxExecutors/);
    start('bob', 't');
    start('bob', 't'); // 18 cores, 21.2 GiB
    expect(() => start('carol', 't')).toThrow(/limit: team t maxCores/);
  });

  it('maxMemory names itself', () => {
    const { start } = setup({}, { t: { maxMemory: '20g' } }, session);
    start('bob', 't');
    expect(() => start('bob', 't')).toThrow(/Team t may use 20g of memory across sessions; 10\.6 GiB are held .* \(limit: team t maxMemory\)/);
  });

  it('a session without Spark counts as a session only; ended sessions free their share', () => {
    const { start, registry } = setup({ dave: { maxSessions: 2, maxCores: 0 } }, {}, session);
    const a = start('dave', 'x', plain);
    start('dave', 'x', plain);
    expect(() => start('dave', 'x', plain)).toThrow(expect.objectContaining({ status: 403, reason: 'quota_exceeded' }));
    registry.end(a);
    expect(() => start('dave', 'x')).toThrow(/user dave maxCores/);
    start('dave', 'x', plain);
  });

  it('starts in flight hold their share: two concurrent starts cannot both take the last slot', () => {
    const { admission } = setup({ erin: { maxSessions: 1 } }, {}, session);
    const first = admission.admit({ user: 'erin', team: 'x' }, plain, {});
    expect(() => admission.admit({ user: 'erin', team: 'x' }, plain, {})).toThrow(/user erin maxSessions/);
    first.release();
    first.release(); // idempotent
    admission.admit({ user: 'erin', team: 'x' }, plain, {}).release();
  });

  it('no limits configured: anything goes', () => {
    const { start } = setup({}, {}, session);
    for (let i = 0; i < 50; i++) start('u', 't');
  });
});
