import type * as nbformat from '@jupyterlab/nbformat';
import { describe, expect, it } from 'vitest';
import { applyControlChars, CellOutputCollector } from '../../../src/runner/cell-outputs.js';

const newCell = (): nbformat.ICodeCell => ({ cell_type: 'code', metadata: {}, source: '', outputs: [{ output_type: 'stream', name: 'stdout', text: 'stale' }], execution_count: 9 });
const shown = (id: string | undefined, text: string) => ({ data: { 'text/plain': text }, metadata: {}, ...(id ? { transient: { display_id: id } } : {}) });

describe('applyControlChars', () => {
  it('carriage return overwrites the line, backspace deletes', () => {
    expect(applyControlChars('10%\r50%\r100%\n')).toBe('100%\n');
    expect(applyControlChars('a\r\nb')).toBe('a\r\nb');
    expect(applyControlChars('pending\r')).toBe('pending\r');
    expect(applyControlChars('abc\b\bd')).toBe('ad');
  });
});

describe('CellOutputCollector', () => {
  it('begin() clears what a cell had', () => {
    const c = new CellOutputCollector();
    const cell = newCell();
    c.begin(cell);
    expect(cell).toMatchObject({ outputs: [], execution_count: null });
  });

  it('merges consecutive streams of one name, not across names', () => {
    const c = new CellOutputCollector();
    const cell = newCell();
    c.begin(cell);
    c.handle(cell, 'stream', { name: 'stdout', text: 'a\n' });
    c.handle(cell, 'stream', { name: 'stdout', text: 'b\n' });
    c.handle(cell, 'stream', { name: 'stderr', text: 'e\n' });
    c.handle(cell, 'stream', { name: 'stdout', text: '1%\r' });
    c.handle(cell, 'stream', { name: 'stdout', text: '2%\n' });
    c.handle(cell, 'status', { execution_state: 'idle' });
    expect(cell.outputs).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'a\nb\n' },
      { output_type: 'stream', name: 'stderr', text: 'e\n' },
      { output_type: 'stream', name: 'stdout', text: '2%\n' },
    ]);
  });

  it('execute_result keeps execution_count; error keeps its traceback', () => {
    const c = new CellOutputCollector();
    const cell = newCell();
    c.begin(cell);
    c.handle(cell, 'execute_result', { ...shown(undefined, '42'), execution_count: 3 });
    c.handle(cell, 'error', { ename: 'E', evalue: 'v', traceback: ['l1', 'l2'] });
    expect(cell.outputs).toEqual([
      { output_type: 'execute_result', data: { 'text/plain': '42' }, metadata: {}, execution_count: 3 },
      { output_type: 'error', ename: 'E', evalue: 'v', traceback: ['l1', 'l2'] },
    ]);
  });

  it('display ids: updates reach outputs in earlier cells; a new display with the id updates them too', () => {
    const c = new CellOutputCollector();
    const first = newCell();
    const second = newCell();
    c.begin(first);
    c.begin(second);
    c.handle(first, 'display_data', shown('d1', 'v1'));
    c.handle(first, 'display_data', shown(undefined, 'plain'));
    c.updateDisplay(shown('d1', 'v2'));
    expect(first.outputs[0]).toEqual({ output_type: 'display_data', data: { 'text/plain': 'v2' }, metadata: {} });
    c.handle(second, 'display_data', shown('d1', 'v3'));
    c.handle(second, 'update_display_data', shown('unknown', 'ignored'));
    expect(first.outputs.map((o) => (o as nbformat.IDisplayData).data['text/plain'])).toEqual(['v3', 'plain']);
    expect(second.outputs).toEqual([{ output_type: 'display_data', data: { 'text/plain': 'v3' }, metadata: {} }]);
  });

  it('clear_output: now, or with wait just before the next output (not before an update)', () => {
    const c = new CellOutputCollector();
    const cell = newCell();
    c.begin(cell);
    c.handle(cell, 'stream', { name: 'stdout', text: 'gone\n' });
    c.handle(cell, 'clear_output', { wait: false });
    expect(cell.outputs).toEqual([]);
    c.handle(cell, 'display_data', shown('d', 'step 1'));
    c.handle(cell, 'clear_output', { wait: true });
    c.updateDisplay(shown('d', 'step 1b'));
    expect(cell.outputs).toHaveLength(1);
    c.handle(cell, 'stream', { name: 'stdout', text: 'after\n' });
    expect(cell.outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'after\n' }]);
  });

  it('appendError adds the runner\'s own notices', () => {
    const c = new CellOutputCollector();
    const cell = newCell();
    c.begin(cell);
    c.appendError(cell, { ename: 'CellTimeoutError', evalue: 'late', traceback: ['CellTimeoutError: late'] });
    expect(cell.outputs).toEqual([{ output_type: 'error', ename: 'CellTimeoutError', evalue: 'late', traceback: ['CellTimeoutError: late'] }]);
  });
});
