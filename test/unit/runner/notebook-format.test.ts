import { describe, expect, it } from 'vitest';
import { defaultOutputPath, hasTag, joinText, serializeNotebook, splitLines } from '../../../src/runner/notebook-format.js';
import type { Notebook } from '../../../src/runner/notebook-schema.js';

describe('multiline strings', () => {
  it('split like Python splitlines(True) and join back', () => {
    expect(splitLines('a\nb')).toEqual(['a\n', 'b']);
    expect(splitLines('a\r\nb\n')).toEqual(['a\r\n', 'b\n']);
    expect(splitLines('')).toEqual([]);
    expect(joinText(['a\n', 'b'])).toBe('a\nb');
    expect(joinText(undefined)).toBe('');
  });
});

describe('serializeNotebook', () => {
  it('writes as nbformat does: sorted keys, indent 1, split text, JSON and images kept whole, final newline', () => {
    const nb: Notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'P' } },
      cells: [
        {
          id: 'x',
          cell_type: 'code',
          metadata: {},
          execution_count: 1,
          source: 'a = 1\nb = 2',
          outputs: [
            { output_type: 'stream', name: 'stdout', text: 'one\ntwo\n' },
            {
              output_type: 'display_data',
              metadata: {},
              data: { 'text/html': '<b>\n</b>', 'image/png': 'iVBOR\nw==\n', 'image/svg+xml': '<svg>\n</svg>', 'application/json': { z: 1, a: 2 } },
            },
          ],
        },
      ],
    };
    const text = serializeNotebook(nb);
    expect(text.endsWith('}\n')).toBe(true);
    const back = JSON.parse(text);
    expect(Object.keys(back)).toEqual(['cells', 'metadata', 'nbformat', 'nbformat_minor']);
    expect(back.cells[0].source).toEqual(['a = 1\n', 'b = 2']);
    expect(back.cells[0].outputs[0].text).toEqual(['one\n', 'two\n']);
    expect(back.cells[0].outputs[1].data).toEqual({
      'application/json': { a: 2, z: 1 },
      'image/png': 'iVBOR\nw==\n',
      'image/svg+xml': ['<svg>\n', '</svg>'],
      'text/html': ['<b>\n', '</b>'],
    });
    expect(text).toContain('\n "cells": [\n  {\n   "cell_type": "code",');
    // The in-memory notebook is not changed.
    expect(nb.cells[0]!.source).toBe('a = 1\nb = 2');
  });
});

describe('helpers', () => {
  it('default output path and tags', () => {
    expect(defaultOutputPath('dir/report.ipynb')).toBe('dir/report.out.ipynb');
    expect(defaultOutputPath('report')).toBe('report.out.ipynb');
    expect(hasTag({ cell_type: 'code', metadata: { tags: ['parameters'] }, source: '' }, 'parameters')).toBe(true);
    expect(hasTag({ cell_type: 'code', metadata: {}, source: '' }, 'parameters')).toBe(false);
  });
});
