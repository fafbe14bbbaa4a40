"""Spark job progress in the notebook while a cell runs.

A thread polls ``sc.statusTracker()`` (getActiveJobsIds / getJobInfo / getStageInfo) every interval.
The first time it sees a job it shows a display with a ``display_id`` (iopub ``display_data`` with
``transient.display_id``), then changes it in place (``update_display_data``) whenever the numbers
change; when the cell ends it stops, polls once more and writes the final state into the same
display. Cells whose jobs finish within one interval get no display at all.

The same thread shows the gateway's notices about the driver (notices.py: a ResourceQuota refusing
executors) once per cell, on the cell's stderr.
https://jupyter-client.readthedocs.io/en/latest/messaging.html#update-display-data
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import describe
from .notices import NoticeWatch

log = logging.getLogger("sparkgate_kernel")

TERMINAL = frozenset({"SUCCEEDED", "FAILED"})
MAX_JOBS_SHOWN = 8
BAR_WIDTH = 20
# How long the final update waits for Spark's status tracker to report the cell's jobs ended.
FINAL_SETTLE_S = 2.0


@dataclass(frozen=True)
class StageProgress:
    stage_id: int
    num_tasks: int
    active: int
    completed: int
    failed: int

    @property
    def done(self) -> bool:
        return self.num_tasks > 0 and self.completed >= self.num_tasks


@dataclass(frozen=True)
class JobProgress:
    job_id: int
    status: str
    stage_ids: tuple[int, ...]
    stages: tuple[StageProgress, ...]  # only stages Spark has submitted

    @property
    def tasks_total(self) -> int:
        return sum(s.num_tasks for s in self.stages)

    @property
    def tasks_done(self) -> int:
        return sum(min(s.completed, s.num_tasks) for s in self.stages)

    @property
    def tasks_failed(self) -> int:
        return sum(s.failed for s in self.stages)

    @property
    def stages_done(self) -> int:
        return sum(1 for s in self.stages if s.done)

    def summary(self) -> str:
        parts = [f"Spark job {self.job_id}: {self.status}", f"stages {self.stages_done}/{len(self.stage_ids)}"]
        skipped = len(self.stage_ids) - len(self.stages)
        if self.status == "SUCCEEDED" and skipped:
            parts[-1] += f" ({skipped} skipped)"
        parts.append(f"tasks {self.tasks_done}/{self.tasks_total}")
        if self.tasks_failed:
            parts.append(f"{self.tasks_failed} failed")
        return ", ".join(parts)

    @property
    def fraction(self) -> float:
        if self.status == "SUCCEEDED":
            return 1.0
        return self.tasks_done / self.tasks_total if self.tasks_total else 0.0


def poll_jobs(tracker: Any, jobs: dict[int, JobProgress]) -> None:
    """Add active jobs to ``jobs`` and refresh every job not yet finished (in place)."""
    for job_id in tracker.getActiveJobsIds() or []:
        jobs.setdefault(int(job_id), JobProgress(int(job_id), "RUNNING", (), ()))
    for job_id, known in list(jobs.items()):
        if known.status in TERMINAL:
            continue
        info = tracker.getJobInfo(job_id)
        if info is None:
            continue  # Spark no longer retains it: keep the last known state
        stage_ids = tuple(int(s) for s in info.stageIds)
        stages = []
        for stage_id in stage_ids:
            stage = tracker.getStageInfo(stage_id)
            if stage is not None:
                stages.append(
                    StageProgress(
                        stage_id,
                        int(stage.numTasks),
                        int(stage.numActiveTasks),
                        int(stage.numCompletedTasks),
                        int(stage.numFailedTasks),
                    )
                )
        status = str(info.status)
        if status == "SUCCEEDED":
            # Spark's status tracker also reports the stages a job skipped (their output was
            # already there, e.g. a reused shuffle) with no task run: not part of this job's work.
            stages = [s for s in stages if s.done or s.completed > 0 or s.active > 0]
        jobs[job_id] = JobProgress(job_id, status, stage_ids, tuple(stages))


def render(jobs: Iterable[JobProgress]) -> dict[str, str]:
    """text/plain and text/html for the jobs, newest last, at most MAX_JOBS_SHOWN."""
    ordered = sorted(jobs, key=lambda j: j.job_id)
    hidden = len(ordered) - MAX_JOBS_SHOWN
    shown = ordered[-MAX_JOBS_SHOWN:]
    text_lines = [f"({hidden} earlier Spark job{'s' if hidden != 1 else ''} not shown)"] if hidden > 0 else []
    html_rows = [f"<div>{html.escape(text_lines[0])}</div>"] if text_lines else []
    for job in shown:
        filled = round(job.fraction * BAR_WIDTH)
        bar = "\u2588" * filled + "\u2591" * (BAR_WIDTH - filled)
        text_lines.append(f"{job.summary()} [{bar}] {round(job.fraction * 100)}%")
        color = {"SUCCEEDED": "#4caf50", "FAILED": "#e53935"}.get(job.status, "#1e88e5")
        html_rows.append(
            '<div style="margin:2px 0">'
            f"<span>{html.escape(job.summary())}</span>"
            '<div style="width:240px;height:6px;background:#e0e0e0;border-radius:3px">'
            f'<div style="width:{round(job.fraction * 100)}%;height:6px;background:{color};border-radius:3px"></div>'
            "</div></div>"
        )
    return {
        "text/plain": "\n".join(text_lines),
        "text/html": f'<div class="sparkgate-progress" style="font-family:monospace;font-size:12px">{"".join(html_rows)}</div>',
    }


class DisplayHandle(Protocol):
    def update(self, obj: Any, **kwargs: Any) -> None: ...


def ipython_show(bundle: dict[str, str]) -> DisplayHandle:
    from IPython.display import display

    handle = display(bundle, raw=True, display_id=True)
    assert handle is not None
    return handle


class _CellProgress:
    """Progress of one cell: a polling thread and at most one display."""

    def __init__(
        self,
        context_source: Callable[[], Any],
        interval_s: float,
        show: Callable[[dict[str, str]], DisplayHandle],
        notices: NoticeWatch | None = None,
    ) -> None:
        self._context_source = context_source
        self._interval_s = interval_s
        self._show = show
        self._notices = notices
        self._tracker: Any = None
        self._jobs: dict[int, JobProgress] = {}
        self._handle: DisplayHandle | None = None
        self._last: dict[str, str] | None = None
        self._closed = False
        self._failed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sparkgate-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        polling = True
        while not self._stop.wait(self._interval_s):
            self._check_notices()
            if polling:
                polling = self._poll()
                if polling:
                    self._publish()
            elif self._notices is None:
                return

    def _check_notices(self) -> None:
        if self._notices is None:
            return
        try:
            self._notices.poll()
        except Exception as e:  # noqa: BLE001 - like progress: best effort
            self._notices = None
            log.warning("Spark notices stopped: %s", describe(e))

    def _poll(self) -> bool:
        if self._failed:
            return False
        try:
            if self._tracker is None:
                context = self._context_source()  # the session may be created during the cell
                if context is None:
                    return True
                self._tracker = context.statusTracker()
            poll_jobs(self._tracker, self._jobs)
            return True
        except Exception as e:  # noqa: BLE001 - progress is best effort, never the cell's problem
            self._failed = True
            log.warning("Spark progress polling stopped: %s", describe(e))
            return False

    def _publish(self, final: bool = False) -> None:
        with self._lock:
            if self._closed or not self._jobs:
                return
            bundle = render(self._jobs.values())
            try:
                if self._handle is None:
                    if final:
                        return  # jobs that came and went within one interval: no display
                    self._handle = self._show(bundle)
                elif bundle != self._last:
                    self._handle.update(bundle, raw=True)
                self._last = bundle
            except Exception as e:  # noqa: BLE001
                log.warning("Spark progress display failed: %s", describe(e))
            finally:
                if final:
                    self._closed = True

    def _unsettled(self) -> bool:
        return not self._failed and any(job.status not in TERMINAL for job in self._jobs.values())

    def finish(self) -> None:
        self._stop.set()
        self._thread.join(timeout=max(2.0, 4 * self._interval_s))
        if not self._thread.is_alive():
            self._check_notices()  # a cell that failed within a tick of the notice still shows it
        if not self._thread.is_alive() and self._handle is not None:
            self._poll()  # the final state of the jobs on show
            # The status tracker is fed by Spark's listener bus, which can lag a job's end by a
            # moment under load (a finished job still RUNNING with all its tasks done). The cell's
            # actions have returned: give the tracker that moment, bounded.
            deadline = time.monotonic() + FINAL_SETTLE_S
            while self._unsettled() and time.monotonic() < deadline:
                time.sleep(0.05)
                self._poll()
        self._publish(final=True)
        with self._lock:
            self._closed = True


class ProgressReporter:
    """Hooks for IPython's ``pre_execute`` / ``post_execute`` events."""

    def __init__(
        self,
        context_source: Callable[[], Any],
        *,
        interval_s: float,
        show: Callable[[dict[str, str]], DisplayHandle] = ipython_show,
        notice_file: str | None = None,
    ) -> None:
        self._context_source = context_source
        self._interval_s = interval_s
        self._show = show
        self._notice_file = notice_file
        self._current: _CellProgress | None = None

    def cell_started(self) -> None:
        self.cell_finished()  # defensive: never two pollers
        if self._interval_s <= 0:
            return
        notices = NoticeWatch(self._notice_file, time.time()) if self._notice_file else None
        self._current = _CellProgress(self._context_source, self._interval_s, self._show, notices)
        self._current.start()

    def cell_finished(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            current.finish()

    def register(self, shell: Any) -> None:
        shell.events.register("pre_execute", self.cell_started)
        shell.events.register("post_execute", self.cell_finished)
