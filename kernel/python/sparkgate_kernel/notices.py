"""Notices about the Spark driver that only its log says, shown in the cell that waits on them.

The driver JVM's log goes to the gateway, not into cells (session.py). The gateway reads it and
writes what a notebook user must see to ``SPARKGATE_SPARK_NOTICE_FILE`` (src/spark/spark-notice-file.ts):
today, a namespace's ResourceQuota refusing the session's executor pods, which Spark would
otherwise retry silently while the cell shows no progress. The file is JSON,
``{"time": <epoch seconds>, "text": "<one line>"}``, replaced atomically and rewritten while the
condition lasts.

The progress thread (progress.py) calls ``NoticeWatch.poll()`` each tick while a cell runs; a notice
written since the cell started is printed once, on the cell's stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

ENV_NOTICE_FILE = "SPARKGATE_SPARK_NOTICE_FILE"


@dataclass(frozen=True)
class Notice:
    time: float
    text: str


def read_notice(path: str) -> Notice | None:
    """The file's notice, or None when there is none (yet) or it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    when, text = data.get("time"), data.get("text")
    if not isinstance(when, (int, float)) or not isinstance(text, str) or not text.strip():
        return None
    return Notice(float(when), " ".join(text.split()))


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class NoticeWatch:
    """One cell's view of the notice file: prints the first notice written after ``since``."""

    def __init__(self, path: str | None, since: float, *, emit: Callable[[str], None] = _stderr) -> None:
        self._path = path
        self._since = since
        self._emit = emit
        self._mtime_ns: int | None = None
        self._shown = False

    def poll(self) -> None:
        if self._shown or not self._path:
            return
        try:
            mtime_ns = os.stat(self._path).st_mtime_ns
        except OSError:
            return
        if mtime_ns == self._mtime_ns:
            return
        self._mtime_ns = mtime_ns
        notice = read_notice(self._path)
        if notice is None or notice.time < self._since:
            return
        self._shown = True
        self._emit(notice.text)
