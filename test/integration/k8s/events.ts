/** Await typed EventEmitter events instead of sleeping. */
import type { EventEmitter } from 'node:events';

type Listener<A extends unknown[]> = (...args: A) => void;

/** Resolve with the first `count` events `name` whose payload passes `filter`. */
export function nextEvents<T extends Record<keyof T, unknown[]>, K extends keyof T & string>(
  emitter: EventEmitter<T>,
  name: K,
  count: number,
  filter: (...args: T[K]) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<T[K][]> {
  const seen: T[K][] = [];
  const e = emitter as unknown as {
    on(n: string, l: Listener<T[K]>): void;
    off(n: string, l: Listener<T[K]>): void;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      e.off(name, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} "${name}" event(s); got ${seen.length}`));
    }, timeoutMs);
    const listener: Listener<T[K]> = (...args) => {
      if (!filter(...args)) return;
      seen.push(args);
      if (seen.length < count) return;
      clearTimeout(timer);
      e.off(name, listener);
      resolve(seen);
    };
    e.on(name, listener);
  });
}
