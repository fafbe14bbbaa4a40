"""Errors the notebook user sees as plain readable lines, never as a traceback of the launcher.

IPython asks an exception for ``_render_traceback_()`` before formatting its frames
(IPython.core.interactiveshell.InteractiveShell.showtraceback); ipykernel then sends
``ename = type(exc).__name__``, ``evalue = str(exc)`` and those lines as the error's traceback
(https://jupyter-client.readthedocs.io/en/latest/messaging.html#execution-errors).
"""

from __future__ import annotations

RED = "\x1b[0;31m"
RESET = "\x1b[0m"

# A Spark error's text can carry a whole JVM stack trace (Py4JJavaError); keep the readable head.
MAX_MESSAGE_LINES = 20
MAX_MESSAGE_CHARS = 2000


class LauncherError(Exception):
    """A failure before the kernel starts: one line on stderr and a non-zero exit."""


class SparkgateError(Exception):
    """A user-facing error whose traceback is just its message."""

    def _render_traceback_(self) -> list[str]:
        return render_lines(type(self).__name__, str(self))


class SparkNotInstalledError(SparkgateError):
    """pyspark cannot be imported by the kernel's Python."""


class SparkSessionError(SparkgateError):
    """pyspark is importable but the SparkSession could not be created."""


def render_lines(class_name: str, message: str, extra: list[str] | None = None) -> list[str]:
    """IPython-style lines: a red class name, then the message, then any notes."""
    first, *rest = (message or "").split("\n") or [""]
    return [f"{RED}{class_name}{RESET}: {first}", *rest, *(extra or [])]


def short_message(exc: BaseException) -> str:
    """The exception's message without a JVM stack trace, bounded in size."""
    return short_text(str(exc))


def short_text(text: str) -> str:
    """``text`` up to the first JVM stack frame line, at most 20 lines and 2000 characters."""
    text = text.strip()
    lines: list[str] = []
    for line in text.split("\n"):
        if line.startswith(("\tat ", "    at ", "\t... ")):
            break
        lines.append(line.rstrip())
        if len(lines) >= MAX_MESSAGE_LINES:
            break
    short = "\n".join(lines)
    if len(short) > MAX_MESSAGE_CHARS:
        short = short[: MAX_MESSAGE_CHARS - 1] + "\u2026"
    return short


def describe(exc: BaseException) -> str:
    """``ClassName: message`` for a foreign (Spark, py4j) exception."""
    return f"{type(exc).__name__}: {short_message(exc)}"


def with_clean_traceback(exc: BaseException, extra: list[str] | None = None) -> BaseException:
    """Make ``exc`` render as its class name and message only (for Spark's own errors).

    The class stays the Spark one, so the error reply's ``ename`` is e.g. ``AnalysisException``.
    """
    lines = render_lines(type(exc).__name__, short_message(exc), extra)
    try:
        exc._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
        return exc
    except (AttributeError, TypeError):
        # An exception type with __slots__: carry the same name on a plain stand-in.
        stand_in = type(type(exc).__name__, (SparkgateError,), {})(short_message(exc))
        stand_in._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
        return stand_in
