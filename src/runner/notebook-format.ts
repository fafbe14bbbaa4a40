/**
 * Notebook text conventions (pure): multiline strings, tags, and writing a notebook the way
 * Jupyter does (nbformat's `writes`: `json.dumps(nb, sort_keys=True, indent=1,
 * ensure_ascii=False)` after `split_lines`, plus a final newline), so saved notebooks diff
 * cleanly against ones Jupyter saved.
 */
import type * as nbformat from '@jupyterlab/nbformat';
import type { Notebook } from './notebook-schema.js';

/** A multiline string as one string. */
export function joinText(text: nbformat.MultilineString | undefined): string {
  if (text === undefined) return '';
  return Array.isArray(text) ? text.join('') : text;
}

/** Lines keeping their line endings (Python's `str.splitlines(True)` for \n and \r\n). */
export function splitLines(text: string): string[] {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g);
  return lines ?? [];
}

export function tagsOf(cell: nbformat.ICell): string[] {
  const tags = (cell.metadata as { tags?: unknown }).tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

export function hasTag(cell: nbformat.ICell, tag: string): boolean {
  return tagsOf(cell).includes(tag);
}

// nbformat's rwbase: mimetypes whose text is stored split in lines.
const SPLIT_NON_TEXT_MIMES = new Set(['application/javascript', 'image/svg+xml']);

function splitBundle(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  const out: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(data)) {
    out[mime] = typeof value === 'string' && (mime.startsWith('text/') || SPLIT_NON_TEXT_MIMES.has(mime)) ? splitLines(value) : value;
  }
  return out;
}

function splitAttachments(attachments: unknown): unknown {
  if (typeof attachments !== 'object' || attachments === null) return attachments;
  return Object.fromEntries(Object.entries(attachments).map(([name, bundle]) => [name, splitBundle(bundle)]));
}

function splitOutput(output: Record<string, unknown>): Record<string, unknown> {
  const out = { ...output };
  if (out['output_type'] === 'stream' && typeof out['text'] === 'string') out['text'] = splitLines(out['text']);
  if ('data' in out) out['data'] = splitBundle(out['data']);
  return out;
}

/** nbformat's `split_lines`: sources, stream text and textual mime data as lists of lines. */
function splitCell(cell: Record<string, unknown>): Record<string, unknown> {
  const out = { ...cell };
  if (typeof out['source'] === 'string') out['source'] = splitLines(out['source']);
  if (Array.isArray(out['outputs'])) out['outputs'] = (out['outputs'] as Record<string, unknown>[]).map(splitOutput);
  if ('attachments' in out) out['attachments'] = splitAttachments(out['attachments']);
  return out;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

/** The file text Jupyter would write for this notebook. */
export function serializeNotebook(nb: Notebook): string {
  const split = { ...nb, cells: nb.cells.map((c) => splitCell(c as Record<string, unknown>)) };
  return `${JSON.stringify(sortKeys(split), null, 1)}\n`;
}

/** Default output file: `dir/name.ipynb` -> `dir/name.out.ipynb`. */
export function defaultOutputPath(input: string): string {
  return input.toLowerCase().endsWith('.ipynb') ? `${input.slice(0, -'.ipynb'.length)}.out.ipynb` : `${input}.out.ipynb`;
}
