import { describe, expect, it } from 'vitest';
import { StreamCoalescer } from '../../../src/adapters/scala/stream-coalescer.js';

function harness(maxChars = 100) {
  const emitted: [string, string][] = [];
  const timers: (() => void)[] = [];
  const c = new StreamCoalescer({
    emit: (name, text) => emitted.push([name, text]),
    maxChars,
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => timers.splice(0),
  });
  return { c, emitted, timers };
}

describe('StreamCoalescer', () => {
  it('batches writes until the timer fires', () => {
    const { c, emitted, timers } = harness();
    c.write('stdout', 'a');
    c.write('stdout', 'b');
    expect(emitted).toEqual([]);
    timers.shift()!();
    expect(emitted).toEqual([['stdout', 'ab']]);
  });

  it('keeps order across streams and flushes at the size limit', () => {
    const { c, emitted } = harness(4);
    c.write('stdout', 'ab');
    c.write('stderr', 'e');
    c.write('stdout', 'abcd');
    c.flush();
    expect(emitted).toEqual([['stdout', 'ab'], ['stderr', 'e'], ['stdout', 'abcd']]);
    c.flush();
    expect(emitted).toHaveLength(3);
  });
});
