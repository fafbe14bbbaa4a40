/**
 * A Dataset result of a Scala cell as a display bundle, pure (no I/O). The init script fetches it
 * once (take(maxRows + 1), maxRows = spark.sql.repl.eagerEval.maxNumRows) with every cell already
 * text; this renders it as the Python kernel does (kernel/python/sparkgate_kernel/display.py):
 * text/plain like show(), and an escaped HTML table.
 */
import type { Table } from './repl-protocol.js';
import { escapeHtml, type MimeBundle } from './spark-progress.js';

/** A Dataset result as text (like show()) and an escaped HTML table, as the Python kernel shows it. */
export function renderTable(table: Table): MimeBundle {
  const { columns, rows, truncated } = table;
  if (columns.length === 0) return { 'text/plain': 'DataFrame[]' };
  const footer = truncated ? `only showing top ${rows.length} row${rows.length !== 1 ? 's' : ''}` : undefined;
  const widths = columns.map((c, i) => Math.max(3, c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w)).join('+')}+`;
  const line = (cells: readonly string[]): string => `|${widths.map((w, i) => (cells[i] ?? '').padStart(w)).join('|')}|`;
  const text = [rule, line(columns), rule, ...rows.map(line), rule, ...(footer ? [footer] : [])].join('\n');
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${columns.map((_, i) => `<td>${escapeHtml(r[i] ?? '')}</td>`).join('')}</tr>`).join('');
  const html = `<table class="sparkgate-table"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${footer ? `<p>${escapeHtml(footer)}</p>` : ''}`;
  return { 'text/plain': text, 'text/html': html };
}
