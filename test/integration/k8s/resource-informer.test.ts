/**
 * The list+watch loop with a manual clock and a scripted source: exact backoff delays, reset on
 * events, immediate relist on 410, Retry-After, no hot loop on instantly closing watches, and
 * cache diffs on relist. No real time passes in these tests.
 */
import { describe, expect, it } from 'vitest';
import type { ActiveWatch, WatchEnd, WatchEventType } from '../../../src/k8s/kube-watch.js';
import { ResourceInformer, type InformerSource } from '../../../src/k8s/resource-informer.js';
import { flush, ManualClock } from './manual-clock.js';

interface Item {
  name: string;
  rv: string;
}

const obj = (name: string, rv: string) => ({ metadata: { name, resourceVersion: rv } });

class ScriptedWatch implements ActiveWatch {
  readonly ended: Promise<WatchEnd>;
  private finish!: (end: WatchEnd) => void;
  aborted = false;
  constructor(
    readonly resourceVersion: string,
    private readonly onEvent: (type: WatchEventType, object: unknown) => void,
  ) {
    this.ended = new Promise((resolve) => (this.finish = resolve));
  }
  emit(type: WatchEventType, object: unknown): void {
    this.onEvent(type, object);
  }
  end(end: WatchEnd): void {
    this.finish(end);
  }
  abort(): void {
    this.aborted = true;
    this.finish({ kind: 'aborted' });
  }
}

class ScriptedSource implements InformerSource {
  lists: (() => { items: unknown[]; resourceVersion: string })[] = [];
  listCalls = 0;
  watches: ScriptedWatch[] = [];
  async list() {
    this.listCalls += 1;
    const next = this.lists.shift();
    if (!next) throw new Error('no list scripted');
    return next();
  }
  watch(request: { resourceVersion: string }, onEvent: (type: WatchEventType, object: unknown) => void): ActiveWatch {
    const w = new ScriptedWatch(request.resourceVersion, onEvent);
    this.watches.push(w);
    return w;
  }
  get lastWatch(): ScriptedWatch {
    const w = this.watches[this.watches.length - 1];
    if (!w) throw new Error('no watch opened');
    return w;
  }
}

function setup() {
  const clock = new ManualClock();
  const source = new ScriptedSource();
  const informer = new ResourceInformer<Item>({
    source,
    clock,
    parse: (raw) => {
      const m = (raw as { metadata?: { name?: string; resourceVersion?: string } }).metadata;
      return m?.name ? { name: m.name, rv: m.resourceVersion ?? '' } : undefined;
    },
    key: (i) => i.name,
    version: (i) => i.rv,
    backoff: { initialMs: 100, maxMs: 800, jitter: 0 },
    healthyWatchMs: 1_000,
  });
  const log: string[] = [];
  informer.on('add', (i) => log.push(`add ${i.name}@${i.rv}`));
  informer.on('update', (i) => log.push(`update ${i.name}@${i.rv}`));
  informer.on('delete', (i) => log.push(`delete ${i.name}`));
  informer.on('relist', () => log.push('relist'));
  informer.on('failure', ({ phase, retryInMs }) => log.push(`failure ${phase} retry ${retryInMs}`));
  return { clock, source, informer, log };
}

const httpError = (code: number, headers: Record<string, string> = {}) => Object.assign(new Error(`HTTP ${code}`), { code, body: '', headers });

describe('ResourceInformer', () => {
  it('lists, then watches from the list resourceVersion, applying events to the cache', async () => {
    const { source, informer, log } = setup();
    source.lists.push(() => ({ items: [obj('a', '5')], resourceVersion: '10' }));
    informer.start();
    await informer.whenSynced();
    await flush();
    expect(source.lastWatch.resourceVersion).toBe('10');
    source.lastWatch.emit('ADDED', obj('b', '11'));
    source.lastWatch.emit('MODIFIED', obj('a', '12'));
    source.lastWatch.emit('DELETED', obj('b', '13'));
    source.lastWatch.emit('BOOKMARK', { metadata: { resourceVersion: '20' } });
    expect(log).toEqual(['add a@5', 'add b@11', 'update a@12', 'delete b']);
    expect(informer.items()).toEqual([{ name: 'a', rv: '12' }]);
    expect(informer.resourceVersion).toBe('20');
    expect(informer.state).toBe('watching');
    await informer.stop();
    expect(source.lastWatch.aborted).toBe(true);
    expect(informer.state).toBe('stopped');
  });

  it('backs off list failures exponentially with a cap, honouring Retry-After', async () => {
    const { clock, source, informer, log } = setup();
    const fail = (err: Error) => () => {
      throw err;
    };
    source.lists.push(fail(httpError(500)), fail(httpError(503)), fail(httpError(429, { 'retry-after': '3' })), fail(httpError(500)));
    source.lists.push(() => ({ items: [], resourceVersion: '1' }));
    informer.start();
    await flush();
    expect(clock.pendingDelays).toEqual([100]);
    await clock.advance(100);
    expect(clock.pendingDelays).toEqual([200]);
    await clock.advance(200);
    expect(clock.pendingDelays).toEqual([3000]);
    await clock.advance(3000);
    // the 429 did not consume a backoff step
    expect(clock.pendingDelays).toEqual([400]);
    await clock.advance(400);
    expect(informer.hasSynced).toBe(true);
    expect(source.listCalls).toBe(5);
    expect(log).toEqual(['failure list retry 100', 'failure list retry 200', 'failure list retry 3000', 'failure list retry 400']);
    await informer.stop();
  });

  it('resumes failed watches from the last resourceVersion; backoff grows to the cap and resets on events', async () => {
    const { clock, source, informer } = setup();
    source.lists.push(() => ({ items: [], resourceVersion: '10' }));
    informer.start();
    await informer.whenSynced();
    await flush();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      source.lastWatch.end({ kind: 'failed', error: Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }) });
      await flush();
      const [delay = -1] = clock.pendingDelays;
      delays.push(delay);
      await clock.advance(delay);
    }
    expect(delays).toEqual([100, 200, 400, 800, 800]);
    expect(source.watches.map((w) => w.resourceVersion)).toEqual(['10', '10', '10', '10', '10', '10']);
    source.lastWatch.emit('ADDED', obj('x', '15'));
    source.lastWatch.end({ kind: 'failed', error: httpError(500) });
    await flush();
    expect(clock.pendingDelays).toEqual([100]);
    await clock.advance(100);
    expect(source.lastWatch.resourceVersion).toBe('15');
    expect(source.listCalls).toBe(1);
    await informer.stop();
  });

  it('relists at once on 410 Expired, diffing the cache; backs off only if expiry repeats', async () => {
    const { clock, source, informer, log } = setup();
    source.lists.push(() => ({ items: [obj('a', '1'), obj('b', '2')], resourceVersion: '10' }));
    source.lists.push(() => ({ items: [obj('b', '7'), obj('c', '8')], resourceVersion: '50' }));
    source.lists.push(() => ({ items: [obj('b', '7'), obj('c', '8')], resourceVersion: '60' }));
    informer.start();
    await informer.whenSynced();
    await flush();
    log.length = 0;
    source.lastWatch.end({ kind: 'expired' });
    await flush();
    expect(clock.pendingDelays).toEqual([]);
    expect(source.listCalls).toBe(2);
    expect(log).toEqual(['relist', 'delete a', 'update b@7', 'add c@8']);
    expect(source.lastWatch.resourceVersion).toBe('50');
    // expired again without a single event in between: now it waits
    source.lastWatch.end({ kind: 'expired' });
    await flush();
    expect(clock.pendingDelays).toEqual([100]);
    expect(source.listCalls).toBe(2);
    await clock.advance(100);
    expect(source.listCalls).toBe(3);
    expect(source.lastWatch.resourceVersion).toBe('60');
    await informer.stop();
  });

  it('re-watches at once after a healthy watch ends, but does not hot-loop on instant closes', async () => {
    const { clock, source, informer } = setup();
    source.lists.push(() => ({ items: [], resourceVersion: '10' }));
    informer.start();
    await informer.whenSynced();
    await flush();
    await clock.advance(5_000); // server timeoutSeconds elapsed
    source.lastWatch.end({ kind: 'closed' });
    await flush();
    expect(clock.pendingDelays).toEqual([]);
    expect(source.watches).toHaveLength(2);
    source.lastWatch.end({ kind: 'closed' }); // closed instantly, no events
    await flush();
    expect(clock.pendingDelays).toEqual([100]);
    source.lastWatch.end({ kind: 'closed' }); // no-op: already ended
    await informer.stop();
    expect(clock.pendingDelays).toEqual([]);
  });

  it('start and stop are idempotent, and stop interrupts a backoff wait', async () => {
    const { clock, source, informer } = setup();
    source.lists.push(() => {
      throw httpError(500);
    });
    informer.start();
    informer.start();
    await flush();
    expect(source.listCalls).toBe(1);
    expect(informer.state).toBe('waiting');
    await informer.stop();
    await informer.stop();
    expect(informer.state).toBe('stopped');
    expect(clock.pendingDelays).toEqual([]);
  });
});
