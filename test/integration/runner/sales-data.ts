/**
 * The example notebooks' data (notebooks/data/*.csv) read and aggregated here, in TypeScript,
 * so the notebooks' results (Python, PySpark, Spark SQL) are checked against numbers that did
 * not come from the code under test. Money is kept in integer cents: every price has two
 * decimals and every quantity is whole, so each order's revenue is an exact number of cents and
 * sums have no rounding questions.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../src/config.js';

const DATA = path.join(REPO_ROOT, 'notebooks', 'data');

export interface Sale {
  orderId: number;
  /** yyyy-mm-dd */
  date: string;
  region: string;
  product: string;
  quantity: number;
  unitPriceCents: number;
  revenueCents: number;
}

export interface Region {
  region: string;
  manager: string;
  revenueTarget: number;
}

function readCsv(file: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path.join(DATA, file), 'utf8').trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [columns[i], value])));
}

export function sales(): Sale[] {
  return readCsv('sales.csv').map((row) => {
    const quantity = Number(row['quantity']);
    const unitPriceCents = Math.round(Number(row['unit_price']) * 100);
    return {
      orderId: Number(row['order_id']),
      date: row['order_date']!,
      region: row['region']!,
      product: row['product']!,
      quantity,
      unitPriceCents,
      revenueCents: quantity * unitPriceCents,
    };
  });
}

export function regions(): Region[] {
  return readCsv('regions.csv').map((row) => ({
    region: row['region']!,
    manager: row['manager']!,
    revenueTarget: Number(row['revenue_target']),
  }));
}

export interface Group {
  key: string;
  orders: number;
  units: number;
  revenueCents: number;
  unitPriceCentsSum: number;
}

/** Orders grouped by `key`, in first-seen order. */
export function groupBy(rows: readonly Sale[], key: (s: Sale) => string): Group[] {
  const groups = new Map<string, Group>();
  for (const s of rows) {
    const k = key(s);
    const g = groups.get(k) ?? { key: k, orders: 0, units: 0, revenueCents: 0, unitPriceCentsSum: 0 };
    g.orders += 1;
    g.units += s.quantity;
    g.revenueCents += s.revenueCents;
    g.unitPriceCentsSum += s.unitPriceCents;
    groups.set(k, g);
  }
  return [...groups.values()];
}

/** `ORDER BY order_date, order_id`. */
export function byDateThenId(rows: readonly Sale[]): Sale[] {
  return [...rows].sort((a, b) => a.date.localeCompare(b.date) || a.orderId - b.orderId);
}
