/**
 * `sparkgate run` behaviour as a process: errors stop the run (or not, with --allow-errors),
 * per-cell and total timeouts, SIGINT/SIGTERM leave no kernel behind, bad notebook files get a
 * one-line message and exit 2, a remote gateway through --url/--token.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateNotebook } from '../../../src/runner/notebook-schema.js';
import { api, startGateway, type TestGateway } from '../../helpers/gateway.js';
import { alive, waitFor } from '../../helpers/kernel-client.js';
import { processesMentioning, readJson, runCli, startCli, stripAnsi, validateWithPythonNbformat, writeNotebook } from './run-cli.js';

interface Output {
  output_type: string;
  text?: string[];
  ename?: string;
  evalue?: string;
}
interface Cell {
  execution_count: number | null;
  outputs: Output[];
}
interface Nb {
  cells: Cell[];
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-runner-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = (o: Output | undefined): string => (o?.text ?? []).join('');
const noStackTrace = (stderr: string): void => expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('errors', () => {
  const failing = (): string => writeNotebook(dir, 'failing.ipynb', ['print("before")', '1/0', 'print("after")']);

  it('stops at the first error with exit 1; the saved notebook holds the error', async () => {
    const output = path.join(dir, 'failing.out.ipynb');
    const result = await runCli([failing(), '-o', output]);
    expect(result.code).toBe(1);
    expect(stripAnsi(result.stderr)).toContain('cell 2 failed: ZeroDivisionError: division by zero');
    noStackTrace(result.stderr);
    const nb = readJson<Nb>(output);
    expect(text(nb.cells[0]!.outputs[0])).toBe('before\n');
    expect(nb.cells[1]!.execution_count).toBe(2);
    expect(nb.cells[1]!.outputs[0]).toMatchObject({ output_type: 'error', ename: 'ZeroDivisionError', evalue: 'division by zero' });
    expect(nb.cells[2]).toMatchObject({ execution_count: null, outputs: [] });
    expect(validateNotebook(nb)).toEqual([]);
    expect(await validateWithPythonNbformat(output)).toBe('valid');
  });

  it('--allow-errors runs every cell and exits 0', async () => {
    const output = path.join(dir, 'failing-allowed.out.ipynb');
    const result = await runCli([failing(), '-o', output, '--allow-errors']);
    expect(result.code).toBe(0);
    const nb = readJson<Nb>(output);
    expect(nb.cells[1]!.outputs[0]!.ename).toBe('ZeroDivisionError');
    expect(text(nb.cells[2]!.outputs[0])).toBe('after\n');
    expect(nb.cells[2]!.execution_count).toBe(3);
  });
});

describe('a kernel that dies', () => {
  it('exit 3, the notice saved in the cell, the rest not run', async () => {
    const file = writeNotebook(dir, 'dies.ipynb', ['print("alive")', 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)', 'print("never")']);
    const output = path.join(dir, 'dies.out.ipynb');
    const result = await runCli([file, '-o', output]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('KernelDiedError: The kernel died while cell 2 was running');
    const nb = readJson<Nb>(output);
    expect(nb.cells[1]!.outputs.map((o) => o.ename)).toEqual(['KernelDiedError']);
    expect(nb.cells[2]!.execution_count).toBeNull();
    expect(validateNotebook(nb)).toEqual([]);
  });
});

describe('timeouts', () => {
  it('--cell-timeout interrupts a cell that runs too long: exit 124, the notice saved, no kernel left', async () => {
    const file = writeNotebook(dir, 'slow-cell.ipynb', ['print("quick")', 'import time\ntime.sleep(60)', 'print("never")']);
    const output = path.join(dir, 'slow-cell.out.ipynb');
    const running = startCli([file, '-o', output, '--cell-timeout', '2']);
    await waitFor(() => processesMentioning(running.runtimeDir).length > 0, 30_000, 'kernel process');
    const kernels = processesMentioning(running.runtimeDir);
    const started = Date.now();
    const code = await running.exited;
    expect(code).toBe(124);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(kernels.some(alive)).toBe(false);
    const nb = readJson<Nb>(output);
    const names = nb.cells[1]!.outputs.map((o) => o.ename);
    expect(names).toContain('CellTimeoutError');
    expect(names).toContain('KeyboardInterrupt');
    expect(nb.cells[2]).toMatchObject({ execution_count: null, outputs: [] });
    expect(stripAnsi(running.stderr())).toContain('cell 2 timed out: CellTimeoutError: Cell 2 did not finish within 2 s');
    expect(validateNotebook(nb)).toEqual([]);
    rmSync(running.runtimeDir, { recursive: true, force: true });
  });

  it('--timeout stops the whole run: exit 124 and the cells that ran are saved', async () => {
    const file = writeNotebook(dir, 'slow-run.ipynb', ['print("one")', 'import time\ntime.sleep(60)', 'print("never")']);
    const output = path.join(dir, 'slow-run.out.ipynb');
    // Generous: --timeout counts from the start, kernel start included, on a busy CI machine.
    const result = await runCli([file, '-o', output, '--timeout', '10']);
    expect(result.code).toBe(124);
    expect(result.stderr).toContain('reached --timeout during cell 2');
    const nb = readJson<Nb>(output);
    expect(text(nb.cells[0]!.outputs[0])).toBe('one\n');
    expect(nb.cells[1]!.outputs.map((o) => o.ename)).toContain('RunTimeoutError');
    expect(nb.cells[2]!.execution_count).toBeNull();
  });
});

describe('signals', () => {
  // Cell 2 says when it is really sleeping (--log-output echoes it): a SIGINT that reaches
  // ipykernel before it starts executing the cell is ignored, and the test would race it.
  const sleeper = (): string => writeNotebook(dir, 'sleeper.ipynb', ['print("started")', 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)', 'print("never")']);
  const sleeping = (running: { stderr: () => string }): Promise<void> =>
    waitFor(() => running.stderr().includes('sleeping'), 30_000, 'second cell sleeping');

  it('SIGINT during time.sleep(60) (embedded gateway): kernel process gone, exit 130, what ran is saved', async () => {
    const output = path.join(dir, 'sleeper.out.ipynb');
    const running = startCli([sleeper(), '-o', output, '--log-output']);
    await sleeping(running);
    const kernels = processesMentioning(running.runtimeDir);
    expect(kernels.length).toBeGreaterThan(0);
    const sent = Date.now();
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(130);
    expect(Date.now() - sent).toBeLessThan(15_000);
    expect(kernels.some(alive)).toBe(false);
    expect(processesMentioning(running.runtimeDir)).toEqual([]);
    const nb = readJson<Nb>(output);
    expect(text(nb.cells[0]!.outputs[0])).toBe('started\n');
    expect(nb.cells[1]!.outputs.filter((o) => o.ename).map((o) => o.ename)).toEqual(['KeyboardInterrupt', 'RunInterrupted']);
    expect(nb.cells[2]!.execution_count).toBeNull();
    expect(running.stderr()).toContain('stopped by SIGINT during cell 2');
    rmSync(running.runtimeDir, { recursive: true, force: true });
  });

  describe('with a remote gateway (--url/--token)', () => {
    let tg: TestGateway;
    beforeAll(async () => {
      tg = await startGateway();
    });
    afterAll(async () => {
      await tg?.stop();
    });

    it('runs through it and leaves no kernel there', async () => {
      const file = writeNotebook(dir, 'remote.ipynb', ['import os\nprint(os.getpid() != 0)']);
      const output = path.join(dir, 'remote.out.ipynb');
      const result = await runCli([file, '-o', output], { env: { SPARKGATE_URL: tg.url, SPARKGATE_TOKEN: tg.token } });
      expect(result.code).toBe(0);
      expect(text(readJson<Nb>(output).cells[0]!.outputs[0])).toBe('True\n');
      expect(await (await api(tg, '/api/kernels')).json()).toEqual([]);
    });

    it('SIGINT: the gateway\'s kernel list is empty afterwards, exit 130', async () => {
      const output = path.join(dir, 'sleeper-remote.out.ipynb');
      const running = startCli([sleeper(), '-o', output, '--log-output', '--url', tg.url, '--token', tg.token]);
      await sleeping(running);
      const [model] = (await (await api(tg, '/api/kernels')).json()) as { id: string; execution_state: string }[];
      expect(model).toBeDefined();
      const pid = tg.gateway.kernels.get(model!.id).pid;
      running.child.kill('SIGINT');
      expect(await running.exited).toBe(130);
      expect(await (await api(tg, '/api/kernels')).json()).toEqual([]);
      expect(alive(pid)).toBe(false);
      rmSync(running.runtimeDir, { recursive: true, force: true });
    });

    it('SIGTERM (what Airflow sends): exit 143, kernel shut down', async () => {
      const output = path.join(dir, 'sleeper-term.out.ipynb');
      const running = startCli([sleeper(), '-o', output, '--log-output', '--url', tg.url, '--token', tg.token]);
      await sleeping(running);
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(143);
      expect(await (await api(tg, '/api/kernels')).json()).toEqual([]);
      expect(readJson<Nb>(output).cells[1]!.outputs.map((o) => o.ename)).toContain('RunInterrupted');
      rmSync(running.runtimeDir, { recursive: true, force: true });
    });

    it('a wrong token: exit 3 with a message naming the token', async () => {
      const file = writeNotebook(dir, 'remote-bad-token.ipynb', ['1']);
      const result = await runCli([file, '--url', tg.url, '--token', 'wrong']);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/refused the request \(40[13]\).*--token/);
      noStackTrace(result.stderr);
    });
  });
});

describe('invalid input: one line, exit 2, nothing run or written', () => {
  const cases: [string, string, RegExp][] = [
    ['bad-json.ipynb', '{"cells": [', /bad-json\.ipynb is not valid JSON \(.+\); a notebook is a \.ipynb JSON file/],
    ['v3.ipynb', JSON.stringify({ nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [] }), /v3\.ipynb is nbformat 3; sparkgate run needs nbformat 4: convert it with "jupyter nbconvert/],
    ['no-cells.ipynb', JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {} }), /no-cells\.ipynb has no "cells" list/],
  ];
  for (const [name, content, message] of cases) {
    it(name, async () => {
      const file = path.join(dir, name);
      (await import('node:fs')).writeFileSync(file, content);
      const result = await runCli([file]);
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]!.startsWith('sparkgate run: ')).toBe(true);
      expect(existsSync(file.replace('.ipynb', '.out.ipynb'))).toBe(false);
    });
  }

  it('an unknown kernel names the ones there are', async () => {
    const file = writeNotebook(dir, 'unknown-kernel.ipynb', ['1'], 'no-such-kernel');
    const result = await runCli([file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/kernel "no-such-kernel" is not on the embedded gateway; kernels there: .*plain-python.*python3/);
  });

  it('-p without a value', async () => {
    const file = writeNotebook(dir, 'param.ipynb', ['1']);
    const result = await runCli([file, '-p', 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('sparkgate run: -p needs a name and a value, e.g. -p region West (got: x)');
  });

  it('--help documents the exit codes', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const code of ['124', '130', '143']) expect(result.stdout).toContain(code);
  });
});
