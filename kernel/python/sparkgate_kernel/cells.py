"""Rewrites a cell's text before IPython parses it (an IPython cleanup input transformer).

- No usable Spark (not installed, or the session failed): every cell becomes a call that raises
  the clean SparkNotInstalledError / SparkSessionError.
- spark-sql: the cell becomes ``_sparkgate_sql('<cell text>')``; a first line ``%%python`` runs the
  rest of the cell as Python instead.
https://ipython.readthedocs.io/en/stable/config/inputtransforms.html
"""

from __future__ import annotations

from collections.abc import Callable

# Hidden names in the user namespace (InteractiveShell.push(..., interactive=False)).
UNAVAILABLE_FN = "_sparkgate_unavailable"
SQL_FN = "_sparkgate_sql"
PYTHON_ESCAPE = "%%python"


class CellRewriter:
    def __init__(self, *, blocked: Callable[[], bool], sql: bool) -> None:
        self._blocked = blocked
        self._sql = sql

    def __call__(self, lines: list[str]) -> list[str]:
        if self._blocked():
            return [f"{UNAVAILABLE_FN}()\n"]
        if not self._sql:
            return lines
        for index, line in enumerate(lines):
            if not line.strip():
                continue
            if line.strip() == PYTHON_ESCAPE:
                return lines[index + 1 :]
            break
        return [f"{SQL_FN}({''.join(lines)!r})\n"]
