/**
 * The usage store: lines land in one file per UTC day of writing, survive a reopen (index
 * restored from the checkpoint, and from the log alone when the checkpoint is gone or behind),
 * a torn last line is skipped and does not swallow the next, range filters and log positions.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, appendFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionLine, UsageLine } from '../../../src/usage/usage-records.js';
import { UsageStore } from '../../../src/usage/usage-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-usage-'));
  dirs.push(d);
  return path.join(d, 'usage');
}

const header = (session: string, user: string, startedAt: string): SessionLine => ({
  type: 'session', session, user, team: `team-${user}`, kernelspec: 'pyspark', namespace: 'ns', startedAt, driverCores: 1, driverMemoryBytes: 1024,
});
const usage = (session: string, user: string, from: string, to: string, cores: number): UsageLine => ({
  type: 'usage', session, user, team: `team-${user}`, kernelspec: 'pyspark', namespace: 'ns', from, to,
  executorCoreSeconds: cores, executorMemoryByteSeconds: cores * 1024, driverCoreSeconds: 1, driverMemoryByteSeconds: 1024, jobs: 1,
});

async function collect(it: AsyncIterable<UsageLine>): Promise<UsageLine[]> {
  const out: UsageLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

describe('UsageStore', () => {
  it('appends JSON lines to one file per UTC day and restores its index after a reopen', async () => {
    const dir = tempDir();
    let now = Date.parse('2025-01-31T23:59:00Z');
    const store = new UsageStore({ dir, now: () => now });
    await store.open();
    await store.append([header('s1', 'alice', '2025-01-31T23:00:00.000Z')]);
    await store.append([usage('s1', 'alice', '2025-01-31T23:00:00.000Z', '2025-01-31T23:59:00.000Z', 10)]);
    now = Date.parse('2025-02-01T00:01:00Z');
    await store.append([usage('s1', 'alice', '2025-01-31T23:59:00.000Z', '2025-02-01T00:01:00.000Z', 2)]);
    await store.close();
    await store.close(); // twice is fine
    await expect(store.append([header('s2', 'x', '2025-02-01T00:00:00.000Z')])).rejects.toThrow(/closed/);

    expect(readdirSync(dir).sort()).toEqual(['index.json', 'usage-2025-01-31.jsonl', 'usage-2025-02-01.jsonl']);
    const day1 = readFileSync(path.join(dir, 'usage-2025-01-31.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(day1.map((l) => l.type)).toEqual(['session', 'usage']);

    const reopened = new UsageStore({ dir, now: () => now });
    await reopened.open();
    expect(reopened.sessions()).toEqual([
      { header: header('s1', 'alice', '2025-01-31T23:00:00.000Z'), watermarkMs: Date.parse('2025-02-01T00:01:00.000Z'), ended: false },
    ]);
    expect((await collect(reopened.usageLines())).map((l) => l.executorCoreSeconds)).toEqual([10, 2]);
  });

  it('rebuilds the index from the log when the checkpoint is missing, and replays lines written after it', async () => {
    const dir = tempDir();
    const now = Date.parse('2025-03-01T12:00:00Z');
    const store = new UsageStore({ dir, now: () => now });
    await store.append([header('s1', 'alice', '2025-03-01T11:00:00.000Z')]);
    const checkpoint = readFileSync(path.join(dir, 'index.json'), 'utf8');
    // a crash after the append but before the checkpoint: the log has more than the checkpoint
    await store.append([usage('s1', 'alice', '2025-03-01T11:00:00.000Z', '2025-03-01T11:30:00.000Z', 5), { type: 'end', session: 's1', endedAt: '2025-03-01T11:30:00.000Z', reason: 'ended' }]);
    writeFileSync(path.join(dir, 'index.json'), checkpoint);
    const behind = new UsageStore({ dir, now: () => now });
    await behind.open();
    expect(behind.lookup('s1')).toMatchObject({ watermarkMs: Date.parse('2025-03-01T11:30:00.000Z'), ended: true });

    rmSync(path.join(dir, 'index.json'));
    const noCheckpoint = new UsageStore({ dir, now: () => now });
    await noCheckpoint.open();
    expect(noCheckpoint.lookup('s1')).toMatchObject({ watermarkMs: Date.parse('2025-03-01T11:30:00.000Z'), ended: true });
  });

  it('skips a torn last line (a crash mid-write) and keeps the next line whole', async () => {
    const dir = tempDir();
    const now = Date.parse('2025-03-01T12:00:00Z');
    const store = new UsageStore({ dir, now: () => now });
    await store.append([header('s1', 'alice', '2025-03-01T11:00:00.000Z')]);
    appendFileSync(path.join(dir, 'usage-2025-03-01.jsonl'), '{"type":"usage","session":"s1","us');
    rmSync(path.join(dir, 'index.json'));
    const reopened = new UsageStore({ dir, now: () => now });
    await reopened.open();
    await reopened.append([usage('s1', 'alice', '2025-03-01T11:00:00.000Z', '2025-03-01T11:10:00.000Z', 7)]);
    expect((await collect(reopened.usageLines())).map((l) => l.executorCoreSeconds)).toEqual([7]);
    expect(reopened.lookup('s1')?.watermarkMs).toBe(Date.parse('2025-03-01T11:10:00.000Z'));
  });

  it('filters by range (lines overlapping [from, to]) and stops at a log position', async () => {
    const dir = tempDir();
    let now = Date.parse('2025-03-01T10:00:00Z');
    const store = new UsageStore({ dir, now: () => now });
    const a = usage('s1', 'alice', '2025-03-01T09:00:00.000Z', '2025-03-01T10:00:00.000Z', 1);
    await store.append([a]);
    now = Date.parse('2025-03-02T10:00:00Z');
    const b = usage('s1', 'alice', '2025-03-02T09:00:00.000Z', '2025-03-02T10:00:00.000Z', 2);
    await store.append([b]);
    const mark = store.position;
    now = Date.parse('2025-03-03T10:00:00Z');
    const c = usage('s1', 'alice', '2025-03-03T09:00:00.000Z', '2025-03-03T10:00:00.000Z', 3);
    await store.append([c]);

    const cores = async (range: { fromMs?: number; toMs?: number }, until?: typeof mark) =>
      (await collect(store.usageLines(range, until))).map((l) => l.executorCoreSeconds);
    expect(await cores({})).toEqual([1, 2, 3]);
    expect(await cores({ fromMs: Date.parse('2025-03-02T00:00:00Z') })).toEqual([2, 3]);
    expect(await cores({ toMs: Date.parse('2025-03-02T09:30:00Z') })).toEqual([1, 2]);
    expect(await cores({ fromMs: Date.parse('2025-03-01T09:30:00Z'), toMs: Date.parse('2025-03-01T23:00:00Z') })).toEqual([1]);
    expect(await cores({}, mark)).toEqual([1, 2]);
    expect(await cores({}, { file: null, offset: 0 })).toEqual([]);
  });

  it('prunes sessions from the index a while after their last record', async () => {
    const dir = tempDir();
    let now = Date.parse('2025-03-01T12:00:00Z');
    const store = new UsageStore({ dir, now: () => now, indexRetentionMs: 3_600_000 });
    await store.append([header('old', 'alice', '2025-03-01T11:59:00.000Z')]);
    now += 2 * 3_600_000;
    await store.append([header('new', 'bob', new Date(now).toISOString())]);
    expect(store.sessions().map((s) => s.header.session)).toEqual(['new']);
  });
});
