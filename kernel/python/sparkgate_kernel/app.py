"""Start ipykernel in this process and attach the Spark session (Spark kinds).

Order: IPKernelApp.initialize (connection file, sockets, shell), then the namespace and hooks,
then the SparkSession (eager by default), then IPKernelApp.start(). The kernel *is* this process,
so SIGINT interrupts a running cell exactly as with a plain ipykernel.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from typing import Any

import zmq
from ipykernel.kernelapp import IPKernelApp

from . import namespace, spark_errors
from .cells import SQL_FN, UNAVAILABLE_FN, CellRewriter
from .display import max_rows_from, register_dataframe_formatter
from .kernel import KernelHooks, SparkgateKernel
from .progress import ProgressReporter
from .session import SparkRuntime
from .settings import Settings
from .sql import SQL_LANGUAGE_INFO, SqlRunner, is_complete

log = logging.getLogger("sparkgate_kernel")

# After a spark.stop() that timed out: how long a normal interpreter exit may take.
EXIT_GRACE_S = 3.0


class SparkgateKernelApp(IPKernelApp):
    """IPKernelApp whose iopub socket greets every subscriber.

    ipykernel publishes on an XPUB socket and answers each subscription it is told about with
    an iopub_welcome message (JEP 65, https://jupyter.org/enhancement-proposals/65-jupyter-xpub/
    jupyter-xpub.html). A plain XPUB reports only the first subscription to a topic, and the
    gateway is always the first subscriber: a second client (`jupyter console --existing` in a
    terminal, any client of the connection file) would wait for a welcome that never comes.
    ZMQ_XPUB_VERBOSE reports them all (http://api.zeromq.org/master:zmq-setsockopt)."""

    def _bind_socket(self, s: Any, port: int) -> int:
        if s.socket_type == zmq.XPUB:
            s.setsockopt(zmq.XPUB_VERBOSE, 1)
        return super()._bind_socket(s, port)


def configure_logging(debug: bool) -> None:
    """Our log lines go to the process's real stderr (the gateway's log), never into a cell.

    Call after IPKernelApp.initialize: with capture_fd_output, fd 2 has become a pipe that
    ipykernel forwards to the notebook; the original stderr lives on as a duplicate descriptor
    (as ipykernel does for its own log handler)."""
    original = getattr(sys.stderr, "_original_stdstream_copy", None)
    stream = os.fdopen(os.dup(original), "w", buffering=1) if isinstance(original, int) else sys.__stderr__
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("[sparkgate_kernel %(levelname)s] %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if debug else logging.WARNING)
    log.propagate = False


# Each kernel keeps its input history to itself, in memory. IPython's default is one SQLite file
# in $HOME shared by every kernel of the gateway: a history_request `search` (or `%history -g`)
# in one user's session would return the code of every other session, any user's, and the file
# grows with every session. Given first, so an operator's own argv still wins.
# https://ipython.readthedocs.io/en/stable/config/options/terminal.html#configtrait-HistoryAccessor.hist_file
HISTORY_ARGV = ["--HistoryManager.hist_file=:memory:"]


def run(settings: Settings, kernel_argv: list[str]) -> int:
    kernel_argv = [*HISTORY_ARGV, *kernel_argv]
    if not settings.spark:
        app = SparkgateKernelApp.instance()
        app.initialize(kernel_argv)
        app.start()
        return 0

    app = SparkgateKernelApp.instance(kernel_class=SparkgateKernel)
    app.initialize(kernel_argv)
    configure_logging(settings.debug)
    runtime = SparkRuntime(settings)
    runtime.load()
    attach(app.kernel, app.shell, runtime, settings)
    if runtime.state == "pending" and settings.eager:
        runtime.create()
    atexit.register(runtime.stop)
    _stop_spark_on_sigterm(runtime)
    try:
        app.start()
    finally:
        stopped = runtime.stop()
    if not stopped:
        # spark.stop() is stuck in the JVM. Exit normally (so ZeroMQ still delivers the
        # shutdown_reply), but never let a thread stuck in the JVM hold the process open.
        watchdog = threading.Timer(EXIT_GRACE_S, os._exit, args=(0,))
        watchdog.daemon = True
        watchdog.start()
    return 0


def attach(kernel: Any, shell: Any, runtime: SparkRuntime, settings: Settings) -> None:
    user_ns = shell.user_ns
    sql_kind = settings.kind == "spark-sql"

    def raise_unavailable() -> None:
        runtime.session()  # without a usable Spark this raises the clean, user-facing error

    def max_rows() -> int:
        return max_rows_from(runtime.session_if_ready())

    hidden: dict[str, Any] = {UNAVAILABLE_FN: raise_unavailable}
    if sql_kind:
        hidden[SQL_FN] = SqlRunner(runtime.session, user_ns, max_rows)
    shell.push(hidden, interactive=False)

    rewriter = CellRewriter(blocked=lambda: runtime.state in ("unavailable", "failed"), sql=sql_kind)
    shell.input_transformer_manager.cleanup_transforms.insert(0, rewriter)

    kernel.sparkgate_hooks = KernelHooks(
        on_interrupt=runtime.cancel_all_jobs,
        on_interrupted=lambda: runtime.cancel_all_jobs(wait_s=10.0),
        on_shutdown=runtime.stop,
        is_complete=is_complete if sql_kind else None,
    )
    if sql_kind:
        kernel.language_info = dict(SQL_LANGUAGE_INFO)

    if runtime.sql_module is not None:
        namespace.install(runtime, user_ns)
        spark_errors.install(shell)
        register_dataframe_formatter(shell, [runtime.sql_module.DataFrame], max_rows)
        ProgressReporter(
            runtime.context_if_ready, interval_s=settings.progress_interval_s, notice_file=settings.notice_file
        ).register(shell)
        shell.banner2 = "Spark: the SparkSession is `spark`, the SparkContext is `sc`.\n"


def _stop_spark_on_sigterm(runtime: SparkRuntime) -> None:
    """SIGTERM (the gateway or jupyter_client giving up on a polite shutdown): stop Spark within
    the timeout, then die of SIGTERM as the process would have."""

    def on_sigterm(signum: int, frame: Any) -> None:
        runtime.stop()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
