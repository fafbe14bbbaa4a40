import { describe, expect, it } from 'vitest';
import type { Notebook } from '../../../src/runner/notebook-schema.js';
import {
  injectParameters,
  parameterLanguage,
  ParameterError,
  parseParameter,
  parseParameterValue,
  renderParameters,
  toPythonLiteral,
} from '../../../src/runner/parameters.js';

describe('values', () => {
  it('JSON when valid JSON, the string otherwise', () => {
    expect(parseParameterValue('3')).toBe(3);
    expect(parseParameterValue('true')).toBe(true);
    expect(parseParameterValue('null')).toBeNull();
    expect(parseParameterValue('[1,"a"]')).toEqual([1, 'a']);
    expect(parseParameterValue('"quoted"')).toBe('quoted');
    expect(parseParameterValue('West')).toBe('West');
    expect(parseParameterValue('007')).toBe('007');
    expect(parseParameterValue('')).toBe('');
  });

  it('Python literals of the same value', () => {
    expect(toPythonLiteral(null)).toBe('None');
    expect(toPythonLiteral(false)).toBe('False');
    expect(toPythonLiteral(1.5)).toBe('1.5');
    expect(toPythonLiteral(Infinity)).toBe("float('inf')");
    expect(toPythonLiteral('a "b"\n\\ é 😀')).toBe('"a \\"b\\"\\n\\\\ é 😀"');
    expect(toPythonLiteral([1, [true, null]])).toBe('[1, [True, None]]');
    expect(toPythonLiteral({ 'k"': { n: 1 } })).toBe('{"k\\"": {"n": 1}}');
  });
});

describe('renderParameters', () => {
  it('python: assignments under a "# Parameters" header; big integers keep their digits', () => {
    const params = [parseParameter('region', 'West'), parseParameter('n', '12345678901234567890'), parseParameter('xs', '[1, 2]')];
    expect(renderParameters(params, 'python')).toBe('# Parameters\nregion = "West"\nn = 12345678901234567890\nxs = [1, 2]');
  });

  it('python: refuses names that are not variables', () => {
    for (const name of ['1x', 'a-b', 'class', 'None', '']) {
      expect(() => renderParameters([parseParameter(name, '1')], 'python')).toThrow(ParameterError);
    }
  });

  it('sql: SET statements read back as ${name}', () => {
    const params = [parseParameter('region', 'West'), parseParameter('min_quantity', '10'), parseParameter('on', 'true'), parseParameter('none', 'null')];
    expect(renderParameters(params, 'sql')).toBe(
      '-- Parameters: later statements read them as ${name}\nSET region = West;\nSET min_quantity = 10;\nSET on = true;\nSET none = ;',
    );
    expect(renderParameters([parseParameter('spark.sql.shuffle.partitions', '4')], 'sql')).toContain('SET spark.sql.shuffle.partitions = 4;');
  });

  it('sql: refuses values that would change how the cell splits into statements', () => {
    for (const raw of ["O'Brien", 'a;b', 'x -- y', 'a\nb', '["a"]', '/* c */']) {
      expect(() => renderParameters([parseParameter('v', raw)], 'sql')).toThrow(/cannot contain/);
    }
    expect(() => renderParameters([parseParameter('bad name', '1')], 'sql')).toThrow(/not a Spark SQL variable name/);
  });

  it('language from kernel_info', () => {
    expect(parameterLanguage('python')).toBe('python');
    expect(parameterLanguage('sql')).toBe('sql');
    expect(parameterLanguage('scala')).toBeUndefined();
    expect(parameterLanguage(undefined)).toBeUndefined();
  });
});

describe('injectParameters', () => {
  const code = (id: string, tags?: string[]) => ({
    id,
    cell_type: 'code' as const,
    metadata: tags ? { tags } : {},
    source: id,
    outputs: [],
    execution_count: null,
  });
  const nb = (...cells: ReturnType<typeof code>[]): Notebook => ({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells });
  const ids = (n: Notebook) => n.cells.map((c) => c.id);

  it('right after the cell tagged parameters', () => {
    const out = injectParameters(nb(code('a'), code('p', ['parameters']), code('b')), 'x = 1', 'new');
    expect(ids(out)).toEqual(['a', 'p', 'new', 'b']);
    expect(out.cells[2]).toEqual({ id: 'new', cell_type: 'code', execution_count: null, metadata: { tags: ['injected-parameters'] }, outputs: [], source: 'x = 1' });
  });

  it('at the top without one; replacing an earlier injected cell in place', () => {
    expect(ids(injectParameters(nb(code('a'), code('b')), 'x = 1', 'new'))).toEqual(['new', 'a', 'b']);
    const rerun = nb(code('p', ['parameters']), code('old', ['injected-parameters']), code('b'));
    expect(ids(injectParameters(rerun, 'x = 2', 'new'))).toEqual(['p', 'new', 'b']);
  });

  it('leaves the input notebook alone', () => {
    const input = nb(code('a'));
    injectParameters(input, 'x = 1', 'new');
    expect(ids(input)).toEqual(['a']);
  });
});
