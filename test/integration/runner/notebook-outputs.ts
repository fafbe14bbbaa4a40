/**
 * Reading an executed notebook's outputs in tests: cells by id, their stdout, the Spark kernels'
 * HTML tables (`<table class="sparkgate-table">`) and job progress displays
 * (`<div class="sparkgate-progress">`, kernel/python/sparkgate_kernel/progress.py).
 */

export interface Output {
  output_type: string;
  name?: string;
  text?: string[] | string;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  execution_count?: number | null;
}
export interface Cell {
  id: string;
  cell_type: string;
  source: string[] | string;
  metadata: { tags?: string[] };
  outputs?: Output[];
  execution_count?: number | null;
}
export interface Nb {
  cells: Cell[];
  metadata: Record<string, unknown>;
}

export const join = (t: unknown): string => (Array.isArray(t) ? t.join('') : typeof t === 'string' ? t : '');
export const codeCells = (nb: Nb): Cell[] => nb.cells.filter((c) => c.cell_type === 'code');

export function cellById(nb: Nb, id: string): Cell {
  const cell = nb.cells.find((c) => c.id === id);
  if (!cell) throw new Error(`no cell ${id} in the notebook`);
  return cell;
}

export const errorsOf = (nb: Nb): Output[] => codeCells(nb).flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'error'));

export function stdout(cell: Cell): string {
  return (cell.outputs ?? [])
    .filter((o) => o.output_type === 'stream' && o.name === 'stdout')
    .map((o) => join(o.text))
    .join('');
}

export interface Table {
  columns: string[];
  rows: string[][];
}

const unescape = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&amp;/g, '&');

function cellsOf(row: string, tag: 'th' | 'td'): string[] {
  return [...row.matchAll(new RegExp(`<${tag}>(.*?)</${tag}>`, 'g'))].map((m) => unescape(m[1]!));
}

/** Every `sparkgate-table` the cell shows, in order. */
export function tables(cell: Cell): Table[] {
  return (cell.outputs ?? [])
    .map((o) => join(o.data?.['text/html']))
    .filter((html) => html.includes('class="sparkgate-table"'))
    .map((html) => {
      const [head, body = ''] = html.split('<tbody>');
      return {
        columns: cellsOf(head!, 'th'),
        rows: [...body.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => cellsOf(m[1]!, 'td')),
      };
    });
}

/** The cell's one table (fails when it shows none or several). */
export function tableOf(cell: Cell): Table {
  const all = tables(cell);
  if (all.length !== 1) throw new Error(`cell ${cell.id} shows ${all.length} tables, expected 1`);
  return all[0]!;
}

/** text/plain of the cell's Spark job progress displays (their saved, final state). */
export function progressDisplays(cell: Cell): string[] {
  return (cell.outputs ?? [])
    .filter((o) => o.output_type === 'display_data' && join(o.data?.['text/html']).includes('class="sparkgate-progress"'))
    .map((o) => join(o.data?.['text/plain']));
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(base64: string): { width: number; height: number } {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.subarray(1, 4).toString() !== 'PNG') throw new Error('not a PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
