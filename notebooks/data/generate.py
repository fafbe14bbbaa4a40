#!/usr/bin/env python3
"""Generate the example notebooks' sample data (deterministic, standard library only).

    python3 notebooks/data/generate.py          # rewrites sales.csv and regions.csv next to this file
    python3 notebooks/data/generate.py --check  # exit 1 if the committed files differ from a fresh run

sales.csv   one row per order: order_id, order_date, region, product, quantity, unit_price
regions.csv one row per region: region, manager, revenue_target

The same seed always gives byte-identical files: only ``random.Random(seed).random()`` is used
(its sequence is stable across Python versions) and numbers are formatted explicitly.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import sys
from pathlib import Path

SEED = 20240101
ORDERS = 1500
START = dt.date(2024, 1, 1)
DAYS = 366  # 2024 is a leap year

REGIONS = [
    # region, manager, yearly revenue target, share of orders
    ("North", "Ada Lovelace", 80000, 0.30),
    ("South", "Alan Turing", 75000, 0.25),
    ("East", "Grace Hopper", 70000, 0.25),
    ("West", "Edsger Dijkstra", 60000, 0.20),
]

PRODUCTS = [
    # product, list price, share of orders
    ("Notebook", 4.50, 0.30),
    ("Pencil", 0.80, 0.25),
    ("Backpack", 39.90, 0.15),
    ("Calculator", 24.00, 0.15),
    ("Desk Lamp", 54.00, 0.15),
]

HERE = Path(__file__).resolve().parent


def pick(rng: random.Random, items: list[tuple], share_index: int) -> tuple:
    """One item, with probability given by its share."""
    x = rng.random()
    for item in items:
        x -= item[share_index]
        if x < 0:
            return item
    return items[-1]


def sales_rows(rng: random.Random) -> list[list[str]]:
    rows = []
    for n in range(1, ORDERS + 1):
        day = START + dt.timedelta(days=int(rng.random() * DAYS))
        region = pick(rng, REGIONS, 3)[0]
        product, list_price, _ = pick(rng, PRODUCTS, 2)
        quantity = 1 + int(rng.random() * 20)
        discount = (0, 5, 10, 15)[int(rng.random() * 4)]  # percent
        unit_price = round(list_price * (100 - discount) / 100, 2)
        rows.append([f"{n:05d}", day.isoformat(), region, product, str(quantity), f"{unit_price:.2f}"])
    rows.sort(key=lambda r: (r[1], r[0]))
    return rows


def to_csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def render() -> dict[str, str]:
    rng = random.Random(SEED)
    sales = to_csv(["order_id", "order_date", "region", "product", "quantity", "unit_price"], sales_rows(rng))
    regions = to_csv(["region", "manager", "revenue_target"], [[r, m, str(t)] for r, m, t, _ in REGIONS])
    return {"sales.csv": sales, "regions.csv": regions}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({len(text.encode())} bytes)")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python3 notebooks/data/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
