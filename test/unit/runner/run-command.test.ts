import { describe, expect, it } from 'vitest';
import { pairParameters, resultLines } from '../../../src/commands/run.js';
import { EXIT } from '../../../src/runner/exit-codes.js';
import type { RunOutcome } from '../../../src/runner/notebook-executor.js';
import { judge } from '../../../src/runner/run-notebook.js';

const outcome = (over: Partial<RunOutcome>): RunOutcome => ({ status: 'completed', executed: 3, total: 3, failures: [], ...over });
const failure = { cellIndex: 1, status: 'error' as const, ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: ['\x1b[0;31mZeroDivisionError\x1b[0m: division by zero'] };

describe('pairParameters', () => {
  it('pairs -p words; a trailing notebook path is recovered', () => {
    expect(pairParameters(['a', '1', 'b', 'two words'], 'nb.ipynb')).toEqual({ pairs: [['a', '1'], ['b', 'two words']], notebook: 'nb.ipynb' });
    expect(pairParameters(['a', '1', 'nb.ipynb'], undefined)).toEqual({ pairs: [['a', '1']], notebook: 'nb.ipynb' });
    expect(pairParameters([], undefined)).toEqual({ pairs: [] });
    expect(() => pairParameters(['a'], 'nb.ipynb')).toThrow('-p needs a name and a value');
  });
});

describe('judge: outcome -> exit code', () => {
  it('maps every status', () => {
    expect(judge(outcome({}))).toEqual({ exitCode: EXIT.ok, message: '3 cells ran' });
    expect(judge(outcome({ failures: [failure] })).exitCode).toBe(EXIT.ok);
    expect(judge(outcome({ status: 'failed', failures: [failure] }))).toEqual({
      exitCode: EXIT.cellError,
      message: 'cell 2 failed: ZeroDivisionError: division by zero',
    });
    expect(judge(outcome({ status: 'cell-timeout', failures: [{ ...failure, status: 'timeout' }] })).exitCode).toBe(EXIT.timeout);
    expect(judge(outcome({ status: 'kernel-died', failures: [failure] })).exitCode).toBe(EXIT.gateway);
    expect(judge(outcome({ status: 'stopped', stopReason: 'timeout', executed: 1 }))).toEqual({
      exitCode: EXIT.timeout,
      message: 'reached --timeout between cells (1 of 3 cells ran)',
    });
    expect(judge(outcome({ status: 'stopped', stopReason: 'SIGINT' })).exitCode).toBe(130);
    expect(judge(outcome({ status: 'stopped', stopReason: 'SIGTERM' })).exitCode).toBe(143);
  });
});

describe('resultLines', () => {
  const base = { warnings: [], durationMs: 2345 };
  it('a failure shows the message and the traceback without colour codes off a terminal', () => {
    const lines = resultLines(
      { ...base, exitCode: EXIT.cellError, message: 'cell 2 failed: ZeroDivisionError: division by zero', outputPath: 'o.ipynb', outcome: outcome({ status: 'failed', failures: [failure] }) },
      { color: false },
    );
    expect(lines).toEqual([
      'sparkgate run: cell 2 failed: ZeroDivisionError: division by zero',
      '  ZeroDivisionError: division by zero',
      'sparkgate run: wrote o.ipynb (exit 1, 2.3 s)',
    ]);
  });

  it('success and usage errors', () => {
    expect(resultLines({ ...base, exitCode: EXIT.ok, message: '3 cells ran', outputPath: 'o.ipynb' }, { color: false })).toEqual([
      'sparkgate run: wrote o.ipynb (3 cells ran, 2.3 s)',
    ]);
    expect(resultLines({ ...base, exitCode: EXIT.usage, message: 'cannot read x: no such file' }, { color: false })).toEqual([
      'sparkgate run: cannot read x: no such file',
    ]);
  });
});
