import { describe, expect, it } from 'vitest';
import { describePath, NotebookFormatError, parseNotebook, upgradeMinor, validateNotebook } from '../../../src/runner/notebook-schema.js';

const cell = (over: Record<string, unknown> = {}) => ({
  id: 'a1',
  cell_type: 'code',
  metadata: {},
  source: 'print(1)',
  outputs: [],
  execution_count: null,
  ...over,
});
const nb = (over: Record<string, unknown> = {}) => ({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [cell()], ...over });
const parse = (value: unknown, label = 'x.ipynb') => parseNotebook(typeof value === 'string' ? value : JSON.stringify(value), label);
const message = (value: unknown): string => {
  try {
    parse(value);
  } catch (err) {
    expect(err).toBeInstanceOf(NotebookFormatError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected a NotebookFormatError');
};

describe('parseNotebook', () => {
  it('accepts a valid nbformat 4.5 notebook unchanged', () => {
    expect(parse(nb())).toEqual(nb());
  });

  it('bad JSON: says so with the parser position', () => {
    expect(message('{"cells": [')).toMatch(/^x\.ipynb is not valid JSON \(.*\); a notebook is a \.ipynb JSON file$/);
  });

  it('JSON that is not an object', () => {
    expect(message('[1,2]')).toBe('x.ipynb is not a notebook: its JSON is an array, not an object');
  });

  it('no nbformat field / not a number', () => {
    expect(message({ cells: [] })).toBe('x.ipynb is not a notebook: it has no "nbformat" version field');
    expect(message({ nbformat: '4', cells: [] })).toContain('"nbformat" must be a whole number, found "4"');
  });

  it('nbformat 3 says how to convert; 5 is refused', () => {
    expect(message({ nbformat: 3, nbformat_minor: 0, worksheets: [] })).toBe(
      'x.ipynb is nbformat 3; sparkgate run needs nbformat 4: convert it with "jupyter nbconvert --to notebook --nbformat 4 --output converted.ipynb x.ipynb"',
    );
    expect(message({ nbformat: 5, cells: [] })).toBe('x.ipynb is nbformat 5; sparkgate run reads nbformat 4 notebooks only');
  });

  it('missing or non-list cells', () => {
    expect(message({ nbformat: 4, nbformat_minor: 5, metadata: {} })).toContain('x.ipynb has no "cells" list');
    expect(message({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: {} })).toBe('x.ipynb: "cells" must be a list, found an object');
  });

  it('schema problems name the place, for the branch the cell/output claims to be', () => {
    expect(message(nb({ cells: [cell({ outputs: [{ output_type: 'stream', text: 'x' }] })] }))).toBe(
      "x.ipynb is not a valid nbformat 4 notebook: cells[0].outputs[0]: must have required property 'name'",
    );
    expect(message(nb({ cells: [cell({ cell_type: 'python' })] }))).toContain('cells[0]: cell_type must be one of "code", "markdown", "raw" (found "python")');
    expect(message(nb({ cells: [cell({ outputs: [{ output_type: 'bogus' }] })] }))).toContain('cells[0].outputs[0]: output_type must be one of');
    expect(message(nb({ cells: [cell({ execution_count: 'one' })] }))).toContain('cells[0].execution_count: must be integer,null');
    expect(message(nb({ extra: 1 }))).toContain('(notebook): unexpected property "extra"');
  });

  it('upgrades 4.0-4.4 to 4.5 by giving cells ids', () => {
    const old = { nbformat: 4, nbformat_minor: 2, metadata: {}, cells: [{ cell_type: 'markdown', metadata: {}, source: '# x' }] };
    const parsed = parseNotebook(JSON.stringify(old), 'old.ipynb', () => 'fixed-id');
    expect(parsed.nbformat_minor).toBe(5);
    expect(parsed.cells[0]).toEqual({ id: 'fixed-id', cell_type: 'markdown', metadata: {}, source: '# x' });
    const random = upgradeMinor(old);
    expect((random['cells'] as { id: string }[])[0]!.id).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('validateNotebook', () => {
  it('finds duplicate cell ids', () => {
    expect(validateNotebook(nb({ cells: [cell(), cell()] }))).toEqual(['cells[1].id: "a1" is used by an earlier cell; cell ids must be unique']);
  });

  it('accepts every output kind Jupyter writes', () => {
    const outputs = [
      { output_type: 'stream', name: 'stdout', text: 'hi\n' },
      { output_type: 'display_data', data: { 'text/plain': 'x', 'application/json': { a: 1 } }, metadata: {} },
      { output_type: 'execute_result', data: { 'text/plain': '2' }, metadata: {}, execution_count: 1 },
      { output_type: 'error', ename: 'E', evalue: 'v', traceback: ['t'] },
    ];
    expect(validateNotebook(nb({ cells: [cell({ outputs, execution_count: 1 })] }))).toEqual([]);
  });
});

describe('describePath', () => {
  it('turns JSON pointers into readable paths', () => {
    expect(describePath('')).toBe('(notebook)');
    expect(describePath('/cells/3/outputs/0/data/text~1plain')).toBe('cells[3].outputs[0].data.text/plain');
  });
});
