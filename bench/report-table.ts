/** The markdown table of a bench run: one row per figure, ratios to Jupyter Server and the floor. */

export interface FigureRow {
  readonly figure: string;
  readonly unit: string;
  readonly js?: number | undefined;
  readonly sparkgate?: number | undefined;
  readonly floor?: number | undefined;
  /** Shown in place of a missing sparkgate value (e.g. why it was not measured). */
  readonly sparkgateNote?: string;
  readonly target?: string;
  readonly met?: boolean | undefined;
}

function fmt(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0) return 'n/a';
  return `${(a / b).toFixed(2)}x`;
}

export function renderTable(rows: readonly FigureRow[]): string {
  const lines = [
    '| figure | Jupyter Server | sparkgate | floor | sparkgate/JS | sparkgate/floor | target | met? |',
    '|---|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const r of rows) {
    const sg = r.sparkgate === undefined && r.sparkgateNote ? r.sparkgateNote : fmt(r.sparkgate, r.unit);
    const met = r.target === undefined ? '' : r.met === undefined ? 'n/a' : r.met ? 'yes' : '**no**';
    lines.push(
      `| ${r.figure} | ${fmt(r.js, r.unit)} | ${sg} | ${fmt(r.floor, r.unit)} | ${ratio(r.sparkgate, r.js)} | ${ratio(r.sparkgate, r.floor)} | ${r.target ?? ''} | ${met} |`,
    );
  }
  return lines.join('\n');
}
