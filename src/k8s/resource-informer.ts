/**
 * A list+watch cache for one kind of object, the informer pattern of client-go and
 * client-node's `ListWatch`, written out so that time and I/O are injected and every path
 * (410 relist, backoff, reset) is testable:
 *
 *            start()
 *               |
 *               v         list fails: wait backoff
 *   +------> listing ----------------------+
 *   |           | list ok: replace cache,  |
 *   |           | rv = list.resourceVersion|
 *   |           v                          |
 *   |  +---> watching (from rv) <----------+--- waiting
 *   |  |        |                                 ^
 *   |  |        +-- event: apply, rv = event rv, reset backoff
 *   |  +--------+-- closed after a healthy run: re-watch from rv at once
 *   |           +-- closed early / failed: ------>+  (429: Retry-After; else backoff.next())
 *   +-----------+-- expired (410): rv = '' (relist; backs off only if it repeats)
 *
 * Compared with client-node 1.4's `ListWatch` this also backs off and restarts after errors
 * (ListWatch stops and leaves restarting to its caller) and never hot-loops on a server that
 * ends watches immediately.
 */
import { EventEmitter } from 'node:events';
import { Backoff, type BackoffOptions } from './backoff.js';
import { sleep, systemClock, type Clock } from './clock.js';
import { retryAfterMs } from './kube-errors.js';
import { resourceVersionSchema } from './kube-schemas.js';
import type { ActiveWatch, WatchEventType } from './kube-watch.js';
import type { ListResult } from './namespaced-resources.js';

export interface InformerSource {
  list(): Promise<ListResult>;
  watch(
    request: { resourceVersion: string; timeoutSeconds: number; allowWatchBookmarks: boolean },
    onEvent: (type: WatchEventType, object: unknown) => void,
  ): ActiveWatch;
}

export interface ResourceInformerOptions<T> {
  readonly source: InformerSource;
  /** Validate a raw object; undefined drops it (reported as an `invalid` event). */
  readonly parse: (raw: unknown) => T | undefined;
  readonly key: (item: T) => string;
  readonly version: (item: T) => string | undefined;
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  /** Server-side watch timeout (default 300 s): the stream ends and resumes from the last rv. */
  readonly watchTimeoutSeconds?: number;
  /** A watch that ran at least this long counts as healthy when it ends (default 1000 ms). */
  readonly healthyWatchMs?: number;
}

export type InformerPhase = 'list' | 'watch';

export interface InformerEvents<T> {
  add: [item: T];
  update: [item: T, previous: T];
  delete: [item: T];
  /** A list replaced the cache. */
  synced: [info: { items: number; resourceVersion: string }];
  /** The watch's resourceVersion expired (410): the cache will be rebuilt from a list. */
  relist: [info: { reason: 'expired' }];
  /** A list or watch failed (non-fatal: retried after retryInMs). Not 'error', which throws without a listener. */
  failure: [info: { phase: InformerPhase; error: unknown; retryInMs: number }];
  invalid: [raw: unknown];
}

export type InformerState = 'stopped' | 'listing' | 'watching' | 'waiting';

export class ResourceInformer<T> extends EventEmitter<InformerEvents<T>> {
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly cache = new Map<string, T>();
  private currentState: InformerState = 'stopped';
  private abort: AbortController | undefined;
  private currentWatch: ActiveWatch | undefined;
  private loop: Promise<void> | undefined;
  private lastResourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];

  constructor(private readonly options: ResourceInformerOptions<T>) {
    super();
    this.clock = options.clock ?? systemClock;
    this.backoff = new Backoff(options.backoff);
  }

  get state(): InformerState {
    return this.currentState;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  /** Resolves after the first successful list. */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  items(): T[] {
    return [...this.cache.values()];
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  start(): void {
    if (this.loop) return;
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.run(abort.signal).finally(() => {
      this.currentState = 'stopped';
    });
  }

  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.abort?.abort();
    this.currentWatch?.abort();
    await loop;
    this.loop = undefined;
    this.abort = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let rv = '';
    let expiredInARow = 0;
    while (!signal.aborted) {
      if (rv === '') {
        this.currentState = 'listing';
        try {
          const list = await this.options.source.list();
          if (signal.aborted) return;
          this.replace(list.items);
          rv = list.resourceVersion;
          this.lastResourceVersion = rv;
          this.markSynced();
          this.emit('synced', { items: this.cache.size, resourceVersion: rv });
        } catch (error) {
          if (signal.aborted) return;
          await this.wait('list', error, signal);
          continue;
        }
      }

      this.currentState = 'watching';
      let progressed = false;
      const startedAt = this.clock.now();
      const watch = this.options.source.watch(
        { resourceVersion: rv, timeoutSeconds: this.options.watchTimeoutSeconds ?? 300, allowWatchBookmarks: true },
        (type, object) => {
          progressed = true;
          this.backoff.reset();
          rv = this.apply(type, object) ?? rv;
          this.lastResourceVersion = rv;
        },
      );
      this.currentWatch = watch;
      if (signal.aborted) watch.abort();
      const end = await watch.ended;
      this.currentWatch = undefined;
      if (signal.aborted || end.kind === 'aborted') return;

      switch (end.kind) {
        case 'expired':
          rv = '';
          expiredInARow = progressed ? 1 : expiredInARow + 1;
          this.emit('relist', { reason: 'expired' });
          // client-go relists at once; only a server that keeps expiring us gets backoff.
          if (expiredInARow > 1) await this.wait('watch', undefined, signal);
          break;
        case 'closed':
          expiredInARow = 0;
          if (progressed || this.clock.now() - startedAt >= (this.options.healthyWatchMs ?? 1000)) this.backoff.reset();
          else await this.wait('watch', undefined, signal);
          break;
        case 'failed':
          expiredInARow = 0;
          await this.wait('watch', end.error, signal);
          break;
        default: {
          const never: never = end;
          throw new Error(`unexpected watch end ${JSON.stringify(never)}`);
        }
      }
    }
  }

  private async wait(phase: InformerPhase, error: unknown, signal: AbortSignal): Promise<void> {
    const retryInMs = (error === undefined ? undefined : retryAfterMs(error, this.clock.now())) ?? this.backoff.next();
    if (error !== undefined) this.emit('failure', { phase, error, retryInMs });
    this.currentState = 'waiting';
    await sleep(this.clock, retryInMs, signal);
  }

  private markSynced(): void {
    this.synced = true;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w();
  }

  /** Apply one watch event; returns its resourceVersion. */
  private apply(type: WatchEventType, raw: unknown): string | undefined {
    const rv = resourceVersionSchema.safeParse(raw).data?.metadata?.resourceVersion;
    if (type === 'BOOKMARK') return rv;
    const item = this.options.parse(raw);
    if (item === undefined) {
      this.emit('invalid', raw);
      return rv;
    }
    const key = this.options.key(item);
    const previous = this.cache.get(key);
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
        this.cache.set(key, item);
        if (previous) this.emit('update', item, previous);
        else this.emit('add', item);
        break;
      case 'DELETED':
        this.cache.delete(key);
        this.emit('delete', previous ?? item);
        break;
      default: {
        const never: never = type;
        throw new Error(`unexpected watch event ${String(never)}`);
      }
    }
    return rv;
  }

  /** A fresh list is the truth: emit deletes for what vanished, adds/updates for the rest. */
  private replace(rawItems: readonly unknown[]): void {
    const next = new Map<string, T>();
    for (const raw of rawItems) {
      const item = this.options.parse(raw);
      if (item === undefined) this.emit('invalid', raw);
      else next.set(this.options.key(item), item);
    }
    const previous = new Map(this.cache);
    this.cache.clear();
    for (const [key, item] of next) this.cache.set(key, item);
    for (const [key, old] of previous) if (!next.has(key)) this.emit('delete', old);
    for (const [key, item] of next) {
      const old = previous.get(key);
      if (!old) this.emit('add', item);
      else if (this.options.version(old) !== this.options.version(item)) this.emit('update', item, old);
    }
  }
}
