/**
 * The markdown table of a bench run: one row per figure, ratios of sparkgate to Jupyter Server 2,
 * Enterprise Gateway and the floor; the jupyterlab phase's rows also fill the two JupyterLab path
 * columns (Jupyter Server 2 in gateway mode in front of sparkgate, extension off and on) and the
 * ratio of the extension-on path to sparkgate direct (blank on the other rows).
 */

export interface FigureRow {
  readonly figure: string;
  readonly unit: string;
  readonly js?: number | undefined;
  /** Jupyter Enterprise Gateway 3.3. */
  readonly eg?: number | undefined;
  readonly sparkgate?: number | undefined;
  readonly floor?: number | undefined;
  /** Shown in place of a missing value: why it was not measured, or how its phase failed. */
  readonly jsNote?: string;
  readonly egNote?: string;
  readonly sparkgateNote?: string;
  readonly floorNote?: string;
  /** The JupyterLab path: Jupyter Server 2 in gateway mode, sparkgate extension off / on. */
  readonly jlOff?: number | undefined;
  readonly jlOn?: number | undefined;
  readonly jlOffNote?: string;
  readonly jlOnNote?: string;
  readonly target?: string;
  readonly met?: boolean | undefined;
}

function fmt(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** A value, or the note standing in for a missing one (one line, no column breaks). */
function cell(value: number | undefined, unit: string, note: string | undefined): string {
  return value === undefined && note ? note.replace(/\s*\n\s*/g, ' ').replaceAll('|', '\\|') : fmt(value, unit);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0) return 'n/a';
  return `${(a / b).toFixed(2)}x`;
}

export function renderTable(rows: readonly FigureRow[]): string {
  const lines = [
    '| figure | Jupyter Server 2 | Enterprise Gateway | sparkgate | floor | JupyterLab path, ext off | JupyterLab path, ext on | sparkgate/JS2 | sparkgate/EG | sparkgate/floor | JL on/sparkgate | target | met? |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const r of rows) {
    const met = r.target === undefined ? '' : r.met === undefined ? 'n/a' : r.met ? 'yes' : '**no**';
    const jl = r.jlOff !== undefined || r.jlOn !== undefined || r.jlOffNote !== undefined || r.jlOnNote !== undefined;
    lines.push(
      `| ${r.figure} | ${cell(r.js, r.unit, r.jsNote)} | ${cell(r.eg, r.unit, r.egNote)} | ${cell(r.sparkgate, r.unit, r.sparkgateNote)} | ${cell(r.floor, r.unit, r.floorNote)} | ` +
        `${jl ? cell(r.jlOff, r.unit, r.jlOffNote) : ''} | ${jl ? cell(r.jlOn, r.unit, r.jlOnNote) : ''} | ` +
        `${ratio(r.sparkgate, r.js)} | ${ratio(r.sparkgate, r.eg)} | ${ratio(r.sparkgate, r.floor)} | ${jl ? ratio(r.jlOn, r.sparkgate) : ''} | ${r.target ?? ''} | ${met} |`,
    );
  }
  return lines.join('\n');
}
