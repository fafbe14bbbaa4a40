"""Spark's errors in a cell: the error class and its message, not pyspark's and py4j's frames.

An exception raised by Spark (``pyspark.errors.PySparkException``: AnalysisException,
ParseException, ...; or a raw ``py4j.protocol.Py4JError`` such as Py4JJavaError) is shown as
``AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] ...`` plus the cell line that called Spark. The
error message keeps ``ename`` (Spark's class name) and gets ``evalue`` without a JVM stack trace.
Other exceptions keep IPython's full traceback.

pyspark 4 also logs every failed query's context as JSON on stderr (PySparkLogger
"SQLQueryContextLogger"/"DataFrameQueryContextLogger"): the cell's error already says it, so
those two loggers are disabled.
"""

from __future__ import annotations

import builtins
import logging
import os
import re
import traceback
from types import TracebackType
from typing import Any

from .errors import render_lines, short_text

QUERY_CONTEXT_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def spark_exception_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = []
    try:
        from pyspark.errors import PySparkException

        types.append(PySparkException)
    except ImportError:
        pass
    try:
        from py4j.protocol import Py4JError

        types.append(Py4JError)
    except ImportError:
        pass
    return tuple(types)


def _library_dirs() -> tuple[str, ...]:
    """pyspark's, py4j's and this package's directories: frames there are not the user's."""
    dirs: list[str] = [os.path.dirname(os.path.abspath(__file__)) + os.sep]
    for name in ("pyspark", "py4j"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        dirs.append(os.path.dirname(os.path.abspath(module.__file__ or "")) + os.sep)
    return tuple(dirs)


def _is_cell(filename: str) -> bool:
    # ipykernel compiles cells as /tmp/ipykernel_<pid>/<hash>.py; plain IPython as <ipython-input-...>.
    return "/ipykernel_" in filename or filename.startswith("<")


def cell_line(tb: TracebackType | None, library_dirs: tuple[str, ...]) -> str | None:
    """``Cell line N: <code>`` of the innermost cell frame, else ``file, line N: <code>`` of the
    innermost frame outside pyspark, py4j, this package and the standard library."""
    frames = traceback.extract_tb(tb)
    stdlib = os.path.dirname(os.__file__) + os.sep
    cells = [f for f in frames if _is_cell(f.filename)]
    others = [f for f in frames if not os.path.abspath(f.filename).startswith((*library_dirs, stdlib))]
    last = cells[-1] if cells else (others[-1] if others else None)
    if last is None or last.lineno is None:
        return None
    code = (last.line or "").strip()
    where = "Cell line" if _is_cell(last.filename) else f"{last.filename}, line"
    return f"{where} {last.lineno}: {code}" if code else f"{where} {last.lineno}"


_PYSPARK_FRAME = re.compile(r'^\s*File "[^"]*(?:pyspark\.zip|/pyspark/|/py4j/)[^"]*", line \d+')


def without_library_frames(text: str) -> str:
    """A Python worker's traceback inside a PythonException, minus pyspark's own frames (each is a
    ``File ...`` line and the code line under it), so the user's frame and error stay in view."""
    lines = text.split("\n")
    out: list[str] = []
    skip_code = False
    for line in lines:
        if _PYSPARK_FRAME.match(line):
            skip_code = True
            continue
        if skip_code and line.startswith("    ") and not line.lstrip().startswith("File "):
            skip_code = False
            continue
        skip_code = False
        out.append(line)
    return "\n".join(out)


def spark_message(value: BaseException) -> str:
    return short_text(without_library_frames(str(value)))


def _in_library(tb: TracebackType | None, library_dirs: tuple[str, ...]) -> bool:
    return any(os.path.abspath(f.filename).startswith(library_dirs) for f in traceback.extract_tb(tb))


class KeyboardInterrupt(builtins.KeyboardInterrupt):  # noqa: A001 - clients see the ename "KeyboardInterrupt"
    """What the Spark kernels' SIGINT handler raises. Interrupted inside pyspark (waiting on a
    job), it renders as one line and the cell line instead of py4j's socket frames; elsewhere as
    IPython's usual traceback."""

    def _render_traceback_(self) -> list[str]:
        tb = self.__traceback__
        library_dirs = _library_dirs()
        if len(library_dirs) > 1 and _in_library(tb, library_dirs[1:]):
            where = cell_line(tb, library_dirs)
            message = "the cell was interrupted; its running Spark jobs were cancelled"
            return render_lines("KeyboardInterrupt", message, [where] if where else None)
        from IPython.core.getipython import get_ipython

        shell = get_ipython()
        if shell is None:
            return traceback.format_exception(type(self), self, tb)
        return shell.InteractiveTB.structured_traceback(builtins.KeyboardInterrupt, self, tb)


# What py4j logs on the root logger (so into the cell's stderr) when an interrupt lands in a JVM
# call: the interrupt itself, and, when the interrupt closed the connection under another call
# (the progress poller's, a retried command), the network error of that call, which py4j retries.
_PY4J_INTERRUPT_NOISE = frozenset({"KeyboardInterrupt while sending command.", "Exception while sending command."})


def _drop_py4j_interrupt_log(record: logging.LogRecord) -> bool:
    if record.getMessage() not in _PY4J_INTERRUPT_NOISE or "py4j" not in record.pathname:
        return True
    # Not the user's business, but kept: into the kernel's log (py4j's logger), not the cell.
    py4j_log = logging.getLogger("py4j")
    if py4j_log.handlers:
        py4j_log.handle(record)
    return False


def _interrupted(value: BaseException) -> bool:
    """Was this error raised while a KeyboardInterrupt was on its way out (its cause or context)?"""
    seen: set[int] = set()
    e: BaseException | None = value
    while e is not None and id(e) not in seen:
        if isinstance(e, builtins.KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def install(shell: Any) -> None:
    """Register the short rendering on an IPython shell (no-op without pyspark)."""
    types = spark_exception_types()
    if not types:
        return
    library_dirs = _library_dirs()

    def handler(
        shell_: Any, etype: type[BaseException], value: BaseException, tb: TracebackType | None, tb_offset: Any = None
    ) -> list[str]:
        # IPython calls a custom handler instead of showing anything: publish the error here
        # (ipykernel's _showtraceback sends the iopub `error` and keeps it for the reply).
        render = getattr(value, "_render_traceback_", None)
        if _interrupted(value):
            # An interrupt landed in a JVM call; py4j closed that connection, and pyspark's
            # cleanup on the way out (e.g. resetting the call site) failed on it, replacing the
            # KeyboardInterrupt with a Py4JNetworkError. The user interrupted: say so.
            where = cell_line(tb, library_dirs)
            message = "the cell was interrupted; its running Spark jobs were cancelled"
            stb = render_lines("KeyboardInterrupt", message, [where] if where else None)
            shell_._showtraceback(builtins.KeyboardInterrupt, message, stb)
            return stb
        if callable(render):  # already made brief where it was raised (the SQL runner)
            stb = render()
        else:
            where = cell_line(tb, library_dirs)
            stb = render_lines(etype.__name__, spark_message(value), [where] if where else None)
        shell_._showtraceback(etype, spark_message(value), stb)
        return stb

    shell.set_custom_exc(types, handler)
    logging.getLogger().addFilter(_drop_py4j_interrupt_log)
    # py4j's own loggers (e.g. "Exception occurred while shutting down connection" after an
    # interrupt) go to the kernel's log, the gateway's, not through the root logger into a cell.
    py4j_log = logging.getLogger("py4j")
    py4j_log.propagate = False
    for h in logging.getLogger("sparkgate_kernel").handlers:
        py4j_log.addHandler(h)
    quiet_query_context_loggers()


def quiet_query_context_loggers() -> None:
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:
        return
    for name in QUERY_CONTEXT_LOGGERS:
        PySparkLogger.getLogger(name).disabled = True
