/**
 * Notebook parameters, papermill style (pure).
 *
 * `-p name value`: the value is parsed as JSON when it is valid JSON (`-p n 3` is a number,
 * `-p on true` a boolean, `-p xs '[1,2]'` a list) and is the string itself otherwise
 * (`-p region West`). The values become a cell tagged `injected-parameters` placed right after
 * the cell tagged `parameters` (so they override its defaults), or at the top when no cell has
 * that tag; an `injected-parameters` cell left by an earlier run is replaced in place.
 * https://papermill.readthedocs.io/en/latest/usage-parameterize.html
 *
 * How the cell is written depends on the kernel's language (its kernel_info `language_info.name`):
 * - python (python3, pyspark): Python assignments, `region = "West"`.
 * - sql (spark-sql): `SET name = value;` statements. Spark SQL substitutes `${name}` in later
 *   statements with the value (spark.sql.variable.substitute, on by default), so a query reads
 *   `WHERE region = '${region}'` or `LIMIT ${top_n}`. Strings are set as their raw text, other
 *   values as JSON text, null as empty. A value cannot hold `;`, quotes, newlines or comment
 *   markers, which would change how the cell is split into statements.
 */
import type * as nbformat from '@jupyterlab/nbformat';
import { hasTag } from './notebook-format.js';
import type { Notebook } from './notebook-schema.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Parameter {
  name: string;
  value: JsonValue;
  /** The text given on the command line. */
  raw: string;
}

export type ParameterLanguage = 'python' | 'sql';

export const PARAMETERS_TAG = 'parameters';
export const INJECTED_TAG = 'injected-parameters';

export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

export function parseParameterValue(raw: string): JsonValue {
  try {
    return JSON.parse(raw) as JsonValue;
  } catch {
    return raw;
  }
}

export function parseParameter(name: string, raw: string): Parameter {
  return { name, value: parseParameterValue(raw), raw };
}

/** The rendering for a kernel language, or undefined when parameters are not supported. */
export function parameterLanguage(languageName: string | undefined): ParameterLanguage | undefined {
  const name = (languageName ?? '').toLowerCase();
  if (name === 'python' || name === 'python3') return 'python';
  if (name === 'sql' || name === 'sparksql' || name === 'spark-sql') return 'sql';
  return undefined;
}

const PYTHON_KEYWORDS = new Set(
  ('False None True and as assert async await break class continue def del elif else except finally for from ' +
    'global if import in is lambda nonlocal not or pass raise return try while with yield').split(' '),
);

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** A JSON value as a Python literal of the same value. */
export function toPythonLiteral(value: JsonValue): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return String(value);
    return value > 0 ? "float('inf')" : "float('-inf')";
  }
  // JSON string syntax is Python string syntax for everything JSON.stringify emits
  // (\" \\ \b \f \n \r \t \uXXXX, astral characters unescaped).
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(toPythonLiteral).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}: ${toPythonLiteral(v)}`)
    .join(', ')}}`;
}

function pythonLine(p: Parameter): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name) || PYTHON_KEYWORDS.has(p.name)) {
    throw new ParameterError(`parameter name "${p.name}" is not a Python variable name (letters, digits and _, not a keyword)`);
  }
  // A top-level number keeps the exact digits given (a JS number would round big integers).
  const literal = typeof p.value === 'number' && JSON_NUMBER.test(p.raw.trim()) ? p.raw.trim() : toPythonLiteral(p.value);
  return `${p.name} = ${literal}`;
}

const SQL_UNSAFE = /[;'"`\n\r]|--|\/\*/;

function sqlLine(p: Parameter): string {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(p.name)) {
    throw new ParameterError(`parameter name "${p.name}" is not a Spark SQL variable name (letters, digits, _ and .)`);
  }
  const text = p.value === null ? '' : typeof p.value === 'string' ? p.value : JSON.stringify(p.value);
  if (SQL_UNSAFE.test(text)) {
    throw new ParameterError(
      `parameter ${p.name}: a Spark SQL parameter value cannot contain ; quotes, newlines, -- or /* (got ${JSON.stringify(p.raw)}); ` +
        `put quotes in the query instead: WHERE x = '\${${p.name}}'`,
    );
  }
  return `SET ${p.name} = ${text.trim()};`;
}

/** The source of the injected cell. Throws ParameterError for a name or value the language cannot take. */
export function renderParameters(params: readonly Parameter[], language: ParameterLanguage): string {
  switch (language) {
    case 'python':
      return ['# Parameters', ...params.map(pythonLine)].join('\n');
    case 'sql':
      return ['-- Parameters: later statements read them as ${name}', ...params.map(sqlLine)].join('\n');
    default: {
      const never: never = language;
      throw new ParameterError(`unsupported language ${String(never)}`);
    }
  }
}

/** Where the injected cell goes, by papermill's rule. */
export function injectionIndex(cells: readonly nbformat.ICell[]): { index: number; replace: boolean } {
  const injected = cells.findIndex((c) => hasTag(c, INJECTED_TAG));
  if (injected >= 0) return { index: injected, replace: true };
  const declared = cells.findIndex((c) => hasTag(c, PARAMETERS_TAG));
  return { index: declared >= 0 ? declared + 1 : 0, replace: false };
}

/** A copy of the notebook with the injected-parameters cell in place. */
export function injectParameters(nb: Notebook, source: string, id: string): Notebook {
  const cell: nbformat.ICodeCell = {
    id,
    cell_type: 'code',
    execution_count: null,
    metadata: { tags: [INJECTED_TAG] },
    outputs: [],
    source,
  };
  const cells = nb.cells.slice();
  const { index, replace } = injectionIndex(cells);
  cells.splice(index, replace ? 1 : 0, cell);
  return { ...nb, cells };
}
