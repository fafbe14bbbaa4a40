/**
 * The Scala kernel's input history, answering history_request as ipykernel does (in memory, one
 * session per kernel process: a restart starts a fresh adapter and so a fresh history).
 * Spec: https://jupyter-client.readthedocs.io/en/latest/messaging.html#history
 *
 *   tail   the last n cells
 *   range  cells start <= line < stop of a session (0 or the kernel's own number: this kernel;
 *          negative counts back from it: earlier sessions, which this kernel never has)
 *   search cells whose whole source matches a glob (`*`, `?`, `[...]`, as SQLite's GLOB that
 *          IPython uses), the last n of them, each source once with `unique`
 *
 * Entries are [session, line, input] or, with `output`, [session, line, [input, output|null]].
 * Pure: no I/O; the kernel records every cell it counts (store_history, not silent).
 */
import { z } from 'zod';

/** The number this kernel reports as its session (IPython numbers sessions from 1). */
export const HISTORY_SESSION = 1;
/** Cells kept; older ones are forgotten (a long-lived kernel must not grow without bound). */
export const MAX_HISTORY_CELLS = 10_000;

const historyRequestSchema = z
  .object({
    output: z.boolean().default(false),
    raw: z.boolean().default(true),
    hist_access_type: z.enum(['range', 'tail', 'search']),
    session: z.number().int().default(0),
    start: z.number().int().default(0),
    stop: z.number().int().optional(),
    n: z.number().int().min(0).optional(),
    pattern: z.string().default('*'),
    unique: z.boolean().default(false),
  })
  .loose();

export type HistoryEntry = [number, number, string] | [number, number, [string, string | null]];

interface Cell {
  line: number;
  input: string;
  output: string | null;
}

export class CellHistory {
  private cells: Cell[] = [];

  constructor(private readonly maxCells = MAX_HISTORY_CELLS) {}

  /** A cell counted with execution count `line`; `output` is its result's text/plain, if any. */
  record(line: number, input: string, output?: string): void {
    this.cells.push({ line, input, output: output ?? null });
    if (this.cells.length > this.maxCells) this.cells.splice(0, this.cells.length - this.maxCells);
  }

  /** The `history` list of a history_reply for a history_request's content; [] when it is malformed. */
  query(content: unknown): HistoryEntry[] {
    const parsed = historyRequestSchema.safeParse(content);
    if (!parsed.success) return [];
    const req = parsed.data;
    let cells: Cell[];
    switch (req.hist_access_type) {
      case 'tail':
        cells = last(this.cells, req.n ?? 10);
        break;
      case 'range': {
        const session = req.session <= 0 ? req.session + HISTORY_SESSION : req.session;
        if (session !== HISTORY_SESSION) return [];
        const stop = req.stop ?? Number.POSITIVE_INFINITY;
        cells = this.cells.filter((c) => c.line >= req.start && c.line < stop);
        break;
      }
      case 'search': {
        const re = globToRegExp(req.pattern);
        let matches = this.cells.filter((c) => re.test(c.input));
        if (req.unique) matches = lastOfEachInput(matches);
        cells = req.n === undefined ? matches : last(matches, req.n);
        break;
      }
      default: {
        const never: never = req.hist_access_type;
        throw new Error(`unknown hist_access_type ${String(never)}`);
      }
    }
    return cells.map((c) => (req.output ? [HISTORY_SESSION, c.line, [c.input, c.output]] : [HISTORY_SESSION, c.line, c.input]));
  }
}

function last<T>(items: T[], n: number): T[] {
  return n <= 0 ? [] : items.slice(-n);
}

/** Each input once, at the place of its latest run (IPython's `unique` keeps the latest too). */
function lastOfEachInput(cells: Cell[]): Cell[] {
  const latest = new Map<string, Cell>();
  for (const c of cells) latest.set(c.input, c);
  return cells.filter((c) => latest.get(c.input) === c);
}

/** SQLite GLOB as a whole-string RegExp: `*` any run, `?` one character, `[...]`/`[^...]` a class. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') out += '[\\s\\S]*';
    else if (ch === '?') out += '[\\s\\S]';
    else if (ch === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 'u');
}
