"""DataFrames as bounded tables: text/plain (like ``df.show()``) and text/html, from one fetch.

One IPython mime-bundle formatter computes both representations, so showing a DataFrame runs one
Spark job (``df.take(n + 1)``), not one per mime type.
https://ipython.readthedocs.io/en/stable/config/integrating.html#formatters-for-third-party-types
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import with_clean_traceback

MAX_ROWS_KEY = "spark.sql.repl.eagerEval.maxNumRows"
DEFAULT_MAX_ROWS = 20
MAX_ROWS_LIMIT = 10_000
MAX_CELL_CHARS = 1000


@dataclass(frozen=True)
class Table:
    """Rows already fetched from Spark, rendered without touching Spark again."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    truncated: bool

    @classmethod
    def from_dataframe(cls, df: Any, max_rows: int) -> Table:
        columns = tuple(str(c) for c in df.columns)
        fetched = list(df.take(max_rows + 1)) if columns else []
        rows = tuple(tuple(format_value(v) for v in row) for row in fetched[:max_rows])
        return cls(columns=columns, rows=rows, truncated=len(fetched) > max_rows)

    @property
    def footer(self) -> str | None:
        if self.truncated:
            return f"only showing top {len(self.rows)} row{'s' if len(self.rows) != 1 else ''}"
        return None

    def to_text(self) -> str:
        if not self.columns:
            return "DataFrame[]"
        widths = [max(3, len(c), *(len(r[i]) for r in self.rows)) for i, c in enumerate(self.columns)]
        rule = "+" + "+".join("-" * w for w in widths) + "+"

        def line(cells: Sequence[str]) -> str:
            return "|" + "|".join(cell.rjust(w) for cell, w in zip(cells, widths)) + "|"

        out = [rule, line(self.columns), rule, *(line(r) for r in self.rows), rule]
        if self.footer:
            out.append(self.footer)
        return "\n".join(out)

    def to_html(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in self.rows)
        footer = f"<p>{esc(self.footer)}</p>" if self.footer else ""
        return f'<table class="sparkgate-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{footer}'

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        if not self.columns:
            return {"text/plain": self.to_text()}
        return {"text/plain": self.to_text(), "text/html": self.to_html()}

    def __repr__(self) -> str:
        return self.to_text()


def format_value(value: Any) -> str:
    """A cell as Spark's ``show()`` prints it (null, true/false), bounded in length."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (bytes, bytearray)):
        text = "[" + " ".join(f"{b:02X}" for b in value) + "]"
    else:
        text = str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "\u2026"
    return text


def max_rows_from(session: Any) -> int:
    """``spark.sql.repl.eagerEval.maxNumRows`` (Spark's own notebook setting), default 20."""
    if session is None:
        return DEFAULT_MAX_ROWS
    try:
        value = int(session.conf.get(MAX_ROWS_KEY, str(DEFAULT_MAX_ROWS)))
    except Exception:  # noqa: BLE001 - a bad value or a JVM hiccup must not break display
        return DEFAULT_MAX_ROWS
    return min(max(value, 1), MAX_ROWS_LIMIT)


def dataframe_formatter(max_rows: Callable[[], int]) -> Callable[[Any], dict[str, str]]:
    """The mime-bundle formatter for pyspark DataFrames; Spark errors render as their message only."""

    def format_dataframe(df: Any) -> dict[str, str]:
        try:
            return Table.from_dataframe(df, max_rows())._repr_mimebundle_()
        except Exception as e:  # noqa: BLE001
            raise with_clean_traceback(e) from None

    return format_dataframe


def register_dataframe_formatter(shell: Any, dataframe_types: Sequence[type], max_rows: Callable[[], int]) -> None:
    formatter = shell.display_formatter.mimebundle_formatter
    fn = dataframe_formatter(max_rows)
    for cls in dataframe_types:
        formatter.for_type(cls, fn)
    # Spark Connect's DataFrame, if this pyspark has it, without importing it.
    formatter.for_type_by_name("pyspark.sql.connect.dataframe", "DataFrame", fn)
