/** Collect the events of one client-node `Watch` request. */
import { Watch, type KubeConfig } from '@kubernetes/client-node';

export interface CollectedWatch {
  readonly events: { type: string; object: Record<string, any> }[];
  /** Resolves with the error passed to client-node's `done` (null on a clean end). */
  readonly done: Promise<unknown>;
  abort(): void;
  /** Resolve once `n` events arrived. */
  waitForEvents(n: number): Promise<void>;
}

export function collectWatch(
  kc: KubeConfig,
  path: string,
  query: Record<string, string | number | boolean | undefined> = {},
): CollectedWatch {
  const events: CollectedWatch['events'] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let controller: AbortController | undefined;
  let resolveDone!: (err: unknown) => void;
  const done = new Promise<unknown>((r) => (resolveDone = r));
  void new Watch(kc)
    .watch(
      path,
      query,
      (type, object) => {
        events.push({ type, object });
        for (const w of waiters.filter((w) => events.length >= w.n)) w.resolve();
      },
      (err) => resolveDone(err),
    )
    .then((c) => (controller = c));
  return {
    events,
    done,
    abort: () => controller?.abort(),
    waitForEvents: (n) => (events.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  };
}
