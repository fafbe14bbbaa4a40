import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cellSummary, createProgress, finishedLine, formatDuration, startedLine } from '../../../src/runner/progress.js';

function sink(isTTY: boolean): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  (stream as { columns?: number }).columns = 120;
  return { stream, text: () => text };
}

const event = { cellIndex: 5, number: 3, total: 7, source: '\n\n  print("hello")  \nmore' };

describe('formatting', () => {
  it('summarizes a cell by its first non-blank line', () => {
    expect(cellSummary(event.source)).toBe('print("hello")');
    expect(cellSummary('x'.repeat(80))).toBe(`${'x'.repeat(49)}…`);
    expect(cellSummary('')).toBe('');
  });

  it('durations', () => {
    expect(formatDuration(420)).toBe('0.4 s');
    expect(formatDuration(61_000)).toBe('1m01s');
    expect(formatDuration(3_723_000)).toBe('1h02m03s');
  });

  it('lines', () => {
    expect(startedLine(event)).toBe('[3/7] cell 6 started: print("hello")');
    expect(finishedLine({ ...event, status: 'ok', elapsedMs: 400 }, 2100)).toBe('[3/7] cell 6 ok in 0.4 s (2.1 s elapsed)');
  });
});

describe('createProgress', () => {
  it('plain lines when not a terminal', () => {
    let t = 1000;
    const out = sink(false);
    const p = createProgress({ stream: out.stream, now: () => t });
    p.runStarted({ notebook: 'a.ipynb', kernel: 'python3', total: 7 });
    p.cellStarted(event);
    t += 1500;
    p.cellFinished({ ...event, status: 'error', elapsedMs: 1500 });
    p.stop();
    expect(out.text()).toBe(
      'sparkgate run: running a.ipynb on kernel python3: 7 code cells\n' +
        'sparkgate run: [3/7] cell 6 started: print("hello")\n' +
        'sparkgate run: [3/7] cell 6 error in 1.5 s (1.5 s elapsed)\n',
    );
  });

  it('a bar with cells done/total and the running cell on a terminal', () => {
    const out = sink(true);
    const p = createProgress({ stream: out.stream });
    p.runStarted({ notebook: 'a.ipynb', kernel: 'python3', total: 7 });
    p.cellStarted(event);
    p.cellFinished({ ...event, status: 'ok', elapsedMs: 10 });
    p.stop();
    p.stop();
    expect(out.text()).toContain('running a.ipynb on kernel python3');
    expect(out.text()).toMatch(/3\/7 cells \| \d+s \| done/);
  });
});
