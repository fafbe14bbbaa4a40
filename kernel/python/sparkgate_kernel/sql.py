"""The spark-sql kind: a cell is one or more ``;``-separated Spark SQL statements.

Statements run in order through ``spark.sql``; the last one's result is fetched (bounded) inside
the cell, so Spark's runtime errors fail the cell, and shown as a table. Spark's errors keep their
class name and message and lose the launcher's frames.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from .display import Table
from .errors import with_clean_traceback

# The last statement's DataFrame, for a following %%python cell (the name Databricks uses).
RESULT_NAME = "_sqldf"

# https://jupyter-client.readthedocs.io/en/latest/messaging.html#kernel-info
SQL_LANGUAGE_INFO = {
    "name": "sql",
    "version": "",
    "mimetype": "text/x-sql",
    "codemirror_mode": "sql",
    "pygments_lexer": "sql",
    "file_extension": ".sql",
}


def split_statements(text: str) -> list[str]:
    """Split on ``;`` outside string literals, quoted identifiers and comments (``--``, nested
    ``/* */``, as Spark's parser reads them); drop statements that are only blanks/comments."""
    statements: list[str] = []
    start = 0
    meaningful = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"`":
            i = _end_of_quoted(text, i)
            meaningful = True
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            i = _end_of_block_comment(text, i)
        elif c == ";":
            if meaningful:
                statements.append(text[start:i].strip())
            start, meaningful = i + 1, False
            i += 1
        else:
            meaningful = meaningful or not c.isspace()
            i += 1
    if meaningful:
        statements.append(text[start:].strip())
    return statements


def _end_of_quoted(text: str, i: int) -> int:
    quote = text[i]
    j = i + 1
    while j < len(text):
        if text[j] == "\\" and quote != "`":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    return len(text)


def _end_of_block_comment(text: str, i: int) -> int:
    depth, j = 0, i
    while j < len(text):
        if text.startswith("/*", j):
            depth, j = depth + 1, j + 2
        elif text.startswith("*/", j):
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    return len(text)


class SqlRunner:
    """Called by the rewritten cell with the cell's text; returns the table to show, or None."""

    def __init__(
        self,
        session: Callable[[], Any],
        user_ns: MutableMapping[str, Any],
        max_rows: Callable[[], int],
    ) -> None:
        self._session = session
        self._user_ns = user_ns
        self._max_rows = max_rows

    def __call__(self, text: str) -> Table | None:
        statements = split_statements(text)
        if not statements:
            return None
        spark = self._session()
        df: Any = None
        for index, statement in enumerate(statements, 1):
            with _clean_errors(_where(index, statements)):
                df = spark.sql(statement)
        self._user_ns[RESULT_NAME] = df
        with _clean_errors(_where(len(statements), statements)):
            table = Table.from_dataframe(df, self._max_rows())
        return table if table.columns else None


def _where(index: int, statements: list[str]) -> list[str]:
    if len(statements) < 2:
        return []
    first_line = statements[index - 1].splitlines()[0]
    if len(first_line) > 80:
        first_line = first_line[:79] + "\u2026"
    return [f"(statement {index} of {len(statements)}: {first_line})"]


class _clean_errors:
    """Re-raise Spark's exceptions (and interrupts) with only their class name and message."""

    def __init__(self, where: list[str]) -> None:
        self._where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, etype: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            return False
        if isinstance(exc, KeyboardInterrupt):
            interrupted = KeyboardInterrupt("the query was interrupted")
            raise with_clean_traceback(interrupted, self._where) from None
        if isinstance(exc, Exception):
            raise with_clean_traceback(exc, self._where) from None
        return False


def is_complete(code: str) -> dict[str, str]:
    """is_complete_reply for SQL: any text is a complete cell (statements end at the cell's end)."""
    return {"status": "complete"}
