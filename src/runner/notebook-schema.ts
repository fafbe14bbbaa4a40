/**
 * Reading and validating nbformat 4 notebooks (pure: text in, notebook or one-line error out).
 *
 * The schema is nbformat's own JSON schema (v4.5, vendored next to this file with its origin in
 * its `$comment`), checked with ajv's draft-04 validator, as `nbformat.validate` does in Python.
 * Notebooks of an older 4.x minor are upgraded the way nbformat upgrades them: every cell gets an
 * `id` (https://jupyter.org/enhancement-proposals/62-cell-id/cell-id.html) and the minor becomes 5.
 */
import { randomUUID } from 'node:crypto';
import type * as nbformat from '@jupyterlab/nbformat';
import AjvDraft04Module from 'ajv-draft-04';
import type { ErrorObject, ValidateFunction } from 'ajv';
import schema from './nbformat.v4.5.schema.json' with { type: 'json' };

export type Notebook = nbformat.INotebookContent;

/** A notebook file that cannot be run: the message is one line, fit for a terminal. */
export class NotebookFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookFormatError';
  }
}

export const NBFORMAT_MAJOR = 4;
export const NBFORMAT_MINOR = 5;

// ajv-draft-04 is CommonJS with `exports.default`; Node's ESM loader gives the class either way.
type AjvConstructor = new (options: Record<string, unknown>) => {
  compile(s: object): ValidateFunction;
  addSchema(s: object, key: string): unknown;
};
const Ajv = ((AjvDraft04Module as unknown as { default?: AjvConstructor }).default ??
  AjvDraft04Module) as unknown as AjvConstructor;

interface Validators {
  notebook: ValidateFunction;
  /** One validator per definition (code_cell, stream, ...), for messages about the right branch. */
  definition(name: string): ValidateFunction;
}

let validators: Validators | undefined;
function getValidators(): Validators {
  if (validators) return validators;
  // strict: false because the official schema carries a few keywords in odd places
  // ("item", "source_hidden") that ajv's strict mode would reject.
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema(schema, 'nbformat');
  const byName = new Map<string, ValidateFunction>();
  validators = {
    notebook: ajv.compile({ $ref: 'nbformat#' }),
    definition(name) {
      let fn = byName.get(name);
      if (!fn) {
        fn = ajv.compile({ $ref: `nbformat#/definitions/${name}` });
        byName.set(name, fn);
      }
      return fn;
    },
  };
  return validators;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** `/cells/3/outputs/0` -> `cells[3].outputs[0]`. */
export function describePath(pointer: string): string {
  if (!pointer) return '(notebook)';
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

function describeError(error: ErrorObject, prefix: string): string {
  const where = describePath(prefix + error.instancePath);
  if (error.keyword === 'additionalProperties') {
    return `${where}: unexpected property "${String(error.params['additionalProperty'])}"`;
  }
  if (error.keyword === 'enum') return `${where}: must be one of ${JSON.stringify(error.params['allowedValues'])}`;
  return `${where}: ${error.message ?? error.keyword}`;
}

function check(definition: string, value: unknown, prefix: string, skip?: RegExp): string[] {
  const validate = getValidators().definition(definition);
  if (validate(value)) return [];
  return (validate.errors ?? []).filter((e) => !skip?.test(e.instancePath)).map((e) => describeError(e, prefix));
}

const CELL_DEFINITIONS: Record<string, string> = { code: 'code_cell', markdown: 'markdown_cell', raw: 'raw_cell' };
const OUTPUT_TYPES = ['execute_result', 'display_data', 'stream', 'error'];

/**
 * The schema's `oneOf` over cell and output kinds makes raw validator errors list every branch;
 * like nbformat's `better_validation_error`, check each cell (and output) against the branch its
 * `cell_type` (`output_type`) names, so messages are about what the notebook meant.
 */
function explain(nb: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const cells = Array.isArray(nb['cells']) ? (nb['cells'] as unknown[]) : [];
  const validate = getValidators().notebook;
  if (!validate({ ...nb, cells: [] })) problems.push(...(validate.errors ?? []).map((e) => describeError(e, '')));
  cells.forEach((cell, i) => {
    const at = `/cells/${i}`;
    const type = isObject(cell) ? cell['cell_type'] : undefined;
    const definition = typeof type === 'string' ? CELL_DEFINITIONS[type] : undefined;
    if (!definition) {
      problems.push(`${describePath(at)}: cell_type must be one of "code", "markdown", "raw" (found ${JSON.stringify(type)})`);
      return;
    }
    problems.push(...check(definition, cell, at, /^\/outputs\/\d+/));
    const outputs = isObject(cell) && Array.isArray(cell['outputs']) ? (cell['outputs'] as unknown[]) : [];
    outputs.forEach((output, j) => {
      const outAt = `${at}/outputs/${j}`;
      const outputType = isObject(output) ? output['output_type'] : undefined;
      if (typeof outputType !== 'string' || !OUTPUT_TYPES.includes(outputType)) {
        problems.push(`${describePath(outAt)}: output_type must be one of ${OUTPUT_TYPES.map((t) => `"${t}"`).join(', ')} (found ${JSON.stringify(outputType)})`);
        return;
      }
      problems.push(...check(outputType, output, outAt));
    });
  });
  return problems;
}

/** Schema problems of a notebook (empty when valid), one line each. */
export function validateNotebook(nb: unknown): string[] {
  const problems: string[] = [];
  if (!getValidators().notebook(nb)) {
    const explained = isObject(nb) ? explain(nb) : [];
    const raw = (getValidators().notebook.errors ?? []).map((e) => describeError(e, ''));
    for (const message of explained.length > 0 ? explained : raw) if (!problems.includes(message)) problems.push(message);
  }
  if (isObject(nb) && Array.isArray(nb['cells'])) {
    const seen = new Set<string>();
    (nb['cells'] as unknown[]).forEach((cell, index) => {
      const id = isObject(cell) ? cell['id'] : undefined;
      if (typeof id !== 'string') return;
      if (seen.has(id)) problems.push(`cells[${index}].id: "${id}" is used by an earlier cell; cell ids must be unique`);
      seen.add(id);
    });
  }
  return problems;
}

/** A new cell id: 8 hex characters, like nbformat's `random_cell_id()`. */
export function newCellId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 8);
}

/** nbformat 4.0-4.4 -> 4.5: give every cell an id. Returns a new object. */
export function upgradeMinor(nb: Record<string, unknown>, makeId: () => string = newCellId): Record<string, unknown> {
  const minor = nb['nbformat_minor'];
  if (typeof minor !== 'number' || minor >= NBFORMAT_MINOR) return nb;
  const cells = (nb['cells'] as unknown[]).map((cell) => (isObject(cell) && cell['id'] === undefined ? { id: makeId(), ...cell } : cell));
  return { ...nb, nbformat_minor: NBFORMAT_MINOR, cells };
}

/**
 * Parse a notebook file's text. `label` names the file in messages. Throws NotebookFormatError
 * with one line saying what is wrong and, where there is one, how to fix it.
 */
export function parseNotebook(text: string, label: string, makeId: () => string = newCellId): Notebook {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new NotebookFormatError(`${label} is not valid JSON (${(err as Error).message}); a notebook is a .ipynb JSON file`);
  }
  if (!isObject(value)) throw new NotebookFormatError(`${label} is not a notebook: its JSON is ${kindOf(value)}, not an object`);
  const major = value['nbformat'];
  if (major === undefined) {
    throw new NotebookFormatError(`${label} is not a notebook: it has no "nbformat" version field`);
  }
  if (typeof major !== 'number' || !Number.isInteger(major)) {
    throw new NotebookFormatError(`${label} is not a notebook: "nbformat" must be a whole number, found ${JSON.stringify(major)}`);
  }
  if (major < NBFORMAT_MAJOR) {
    throw new NotebookFormatError(
      `${label} is nbformat ${major}; sparkgate run needs nbformat 4: convert it with ` +
        `"jupyter nbconvert --to notebook --nbformat 4 --output converted.ipynb ${label}"`,
    );
  }
  if (major > NBFORMAT_MAJOR) {
    throw new NotebookFormatError(`${label} is nbformat ${major}; sparkgate run reads nbformat 4 notebooks only`);
  }
  if (!('cells' in value)) {
    throw new NotebookFormatError(`${label} has no "cells" list: an nbformat 4 notebook keeps its cells in a top-level "cells" array`);
  }
  if (!Array.isArray(value['cells'])) {
    throw new NotebookFormatError(`${label}: "cells" must be a list, found ${kindOf(value['cells'])}`);
  }
  const upgraded = upgradeMinor(value, makeId);
  const problems = validateNotebook(upgraded);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    throw new NotebookFormatError(`${label} is not a valid nbformat 4 notebook: ${problems[0]}${more}`);
  }
  return upgraded as Notebook;
}
