/**
 * runNotebook() in-process against a test gateway: outputs stored exactly as Jupyter stores them
 * (merged streams, carriage returns, display updates across cells, clear_output(wait=True),
 * execute_result counts), typed parameters, and the kernel shut down at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../src/runner/exit-codes.js';
import { validateNotebook } from '../../../src/runner/notebook-schema.js';
import { createProgress } from '../../../src/runner/progress.js';
import { runNotebook, type RunNotebookOptions } from '../../../src/runner/run-notebook.js';
import { api, startGateway, type TestGateway } from '../../helpers/gateway.js';
import { writeNotebook, type CellSpec } from './run-cli.js';

let tg: TestGateway;
const dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-runner-inproc-'));

beforeAll(async () => {
  tg = await startGateway();
});
afterAll(async () => {
  await tg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

async function run(name: string, cells: (string | CellSpec)[], extra: Partial<RunNotebookOptions> = {}) {
  const input = writeNotebook(dir, name, cells, extra.kernelName ?? 'python3');
  const log = sink();
  const result = await runNotebook({
    input,
    env: {},
    remote: { url: tg.url, token: tg.token },
    progress: createProgress({ stream: log.stream, tty: false }),
    stderr: log.stream,
    ...extra,
  });
  return { result, log: log.text(), cells: result.notebook?.cells as { outputs: Record<string, unknown>[]; execution_count: number | null; source: string }[] };
}

describe('outputs as Jupyter stores them', () => {
  it('merges consecutive streams of the same name and applies carriage returns', async () => {
    const { result, cells } = await run('streams.ipynb', [
      'import sys\nfor i in range(3):\n    print(i)\nsys.stdout.flush()\nprint("oops", file=sys.stderr)\nsys.stderr.flush()\nprint("back")',
      'import sys, time\nfor p in (10, 50, 100):\n    print(f"{p}%", end="\\r", flush=True)\n    time.sleep(0.05)\nprint("done")',
    ]);
    expect(result.exitCode).toBe(EXIT.ok);
    expect(cells[0]!.outputs).toEqual([
      { output_type: 'stream', name: 'stdout', text: '0\n1\n2\n' },
      { output_type: 'stream', name: 'stderr', text: 'oops\n' },
      { output_type: 'stream', name: 'stdout', text: 'back\n' },
    ]);
    expect(cells[1]!.outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'done\n' }]);
  });

  it('update_display_data updates the display in place, also in an earlier cell; execute_result keeps its count', async () => {
    const { cells } = await run('displays.ipynb', [
      'from IPython.display import display\nh = display("first", display_id=True)\n_ = display("other", display_id="fixed")',
      'h.update("second")\ndisplay("again", display_id="fixed")\n6 * 7',
    ]);
    expect(cells[0]!.outputs).toEqual([
      { output_type: 'display_data', data: { 'text/plain': "'second'" }, metadata: {} },
      { output_type: 'display_data', data: { 'text/plain': "'again'" }, metadata: {} },
    ]);
    expect(cells[1]!.outputs).toEqual([
      { output_type: 'display_data', data: { 'text/plain': "'again'" }, metadata: {} },
      { output_type: 'execute_result', data: { 'text/plain': '42' }, metadata: {}, execution_count: 2 },
    ]);
    expect(cells.map((c) => c.execution_count)).toEqual([1, 2]);
  });

  it('clear_output clears now, or with wait=True just before the next output', async () => {
    const { cells } = await run('clear.ipynb', [
      'from IPython.display import clear_output\nprint("gone")\nclear_output()\nprint("kept")',
      'from IPython.display import clear_output, display\nfor i in range(3):\n    clear_output(wait=True)\n    display(f"step {i}")',
    ]);
    expect(cells[0]!.outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'kept\n' }]);
    expect(cells[1]!.outputs).toEqual([{ output_type: 'display_data', data: { 'text/plain': "'step 2'" }, metadata: {} }]);
  });

  it('skips blank code cells and keeps markdown; the result validates; no kernel is left on the gateway', async () => {
    const { result, cells } = await run('mixed.ipynb', [{ type: 'markdown', source: '# Title' }, '   \n', '1 + 1']);
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.outcome).toMatchObject({ status: 'completed', executed: 1, total: 1 });
    expect(cells[1]).toMatchObject({ execution_count: null, outputs: [] });
    expect(cells[2]!.execution_count).toBe(1);
    expect(validateNotebook(result.notebook)).toEqual([]);
    expect(await (await api(tg, '/api/kernels')).json()).toEqual([]);
  });
});

describe('parameters', () => {
  it('keeps JSON types and Python-quotes strings; injected at the top when no cell is tagged parameters', async () => {
    const { result, cells } = await run(
      'typed.ipynb',
      ['print(repr(n), repr(big), repr(ratio), repr(on), repr(nothing), repr(xs), repr(cfg), repr(word), repr(quoted))'],
      {
        parameters: [
          ['n', '3'],
          ['big', '12345678901234567890'],
          ['ratio', '0.25'],
          ['on', 'true'],
          ['nothing', 'null'],
          ['xs', '[1, "two", false]'],
          ['cfg', '{"k": {"nested": null}}'],
          ['word', 'West'],
          ['quoted', 'say "hi"\\n'],
        ],
      },
    );
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.notebook!.cells[0]!.metadata['tags']).toEqual(['injected-parameters']);
    expect(cells[1]!.outputs[0]!['text']).toBe(
      `3 12345678901234567890 0.25 True None [1, 'two', False] {'k': {'nested': None}} 'West' 'say "hi"\\\\n'\n`,
    );
  });

  it('a later -p for the same name wins; a bad name is a usage error before anything runs', async () => {
    const ok = await run('twice.ipynb', [{ source: 'x = 0', tags: ['parameters'] }, 'print(x)'], {
      parameters: [
        ['x', '1'],
        ['x', '2'],
      ],
    });
    expect(ok.cells[2]!.outputs[0]!['text']).toBe('2\n');

    const bad = await run('badname.ipynb', ['1'], { parameters: [['class', '1']] });
    expect(bad.result.exitCode).toBe(EXIT.usage);
    expect(bad.result.message).toContain('parameter name "class" is not a Python variable name');
    expect(bad.result.outputPath).toBeUndefined();
    expect(await (await api(tg, '/api/kernels')).json()).toEqual([]);
  });

  it('the plain-python fixture kernel works through -k too', async () => {
    const { result, cells } = await run('fixture.ipynb', ['import sys\nprint(sys.version_info[0])'], { kernelName: 'plain-python' });
    expect(result.exitCode).toBe(EXIT.ok);
    expect(cells[0]!.outputs[0]!['text']).toBe('3\n');
    expect((result.notebook!.metadata.kernelspec as { name: string }).name).toBe('plain-python');
  });
});

describe('progress lines (not a terminal)', () => {
  it('one line per cell start and end', async () => {
    const { log } = await run('progress.ipynb', ['1', '2']);
    expect(log).toMatch(/running .*progress\.ipynb on kernel python3: 2 code cells/);
    expect(log).toMatch(/\[1\/2\] cell 1 started: 1\n/);
    expect(log).toMatch(/\[2\/2\] cell 2 ok in \d+\.\d s \(\d+\.\d s elapsed\)/);
  });
});
