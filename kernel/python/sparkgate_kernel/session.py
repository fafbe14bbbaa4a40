"""The kernel's one SparkSession: import pyspark, build the session from the rendered conf, stop it.

States (one SparkContext per JVM, so one session per kernel, created at most once):

    pending --create()--> ready --stop()--> stopped
       |         \\
       |          `-----> failed        (SparkSessionError: creation raised)
       `-- load() ------> unavailable   (SparkNotInstalledError: pyspark not importable)

The Spark side is only touched through the public pyspark API (SparkSession.builder.config/appName/
getOrCreate, spark.sparkContext, sc.cancelAllJobs, spark.stop), so a stand-in module can record it.
"""

from __future__ import annotations

import glob
import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Literal

from .errors import SparkgateError, SparkNotInstalledError, SparkSessionError, describe
from .settings import Settings

State = Literal["pending", "ready", "unavailable", "failed", "stopped"]

# pyspark reads these when it launches the driver JVM (pyspark/java_gateway.py, Spark's SecurityManager).
PYSPARK_SUBMIT_ARGS = "PYSPARK_SUBMIT_ARGS"
JVM_AUTH_SECRET_ENV = "_SPARK_AUTH_SECRET"

log = logging.getLogger("sparkgate_kernel")

ARROW_PYTHON_UDF = "spark.sql.execution.pythonUDF.arrow.enabled"


def _arrow_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None and importlib.util.find_spec("pandas") is not None


class SparkRuntime:
    def __init__(self, settings: Settings, *, environ: MutableMapping[str, str] | None = None) -> None:
        self._settings = settings
        self._environ = os.environ if environ is None else environ
        self._state: State = "pending"
        self._error: SparkgateError | None = None
        self._session: Any = None
        self._sql_module: ModuleType | None = None
        self._create_lock = threading.RLock()
        self._stop_lock = threading.Lock()
        self._stopper: threading.Thread | None = None
        self._stop_deadline = 0.0
        self._on_created: list[Callable[[Any], None]] = []

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def error(self) -> SparkgateError | None:
        """Why there is no session (unavailable or failed), else None."""
        return self._error

    @property
    def sql_module(self) -> ModuleType | None:
        """``pyspark.sql`` once imported."""
        return self._sql_module

    def on_created(self, callback: Callable[[Any], None]) -> None:
        self._on_created.append(callback)

    def session_if_ready(self) -> Any:
        return self._session if self._state == "ready" else None

    def context_if_ready(self) -> Any:
        session = self.session_if_ready()
        return None if session is None else session.sparkContext

    def session(self) -> Any:
        """The SparkSession, created now if it is still pending (lazy mode); else the clean error."""
        if self._state == "pending":
            self.create()
        if self._state == "ready":
            return self._session
        raise self._fresh_error()

    def _fresh_error(self) -> SparkgateError:
        error = self._error or SparkSessionError("The Spark session has been stopped; restart the kernel.")
        return type(error)(*error.args)

    # -- import --------------------------------------------------------------------------------

    def load(self) -> bool:
        """Import pyspark.sql (adding $SPARK_HOME/python to sys.path if needed). False: unavailable."""
        try:
            self._sql_module = _import_pyspark_sql(self._environ.get("SPARK_HOME") or None)
            return True
        except Exception as e:  # noqa: BLE001 - any import failure means "no usable Spark"
            self._state = "unavailable"
            self._error = SparkNotInstalledError(_not_installed_message(e, self._environ.get("SPARK_HOME")))
            log.warning("pyspark is not importable: %s", describe(e))
            return False

    # -- create --------------------------------------------------------------------------------

    def create(self) -> None:
        """Build the session (main thread). Never raises except KeyboardInterrupt; records failures."""
        with self._create_lock:
            if self._state != "pending":
                return
            started = time.monotonic()
            try:
                session = self._build()
            except Exception as e:  # noqa: BLE001 - shown to the user as SparkSessionError
                self._state = "failed"
                self._error = SparkSessionError(
                    "The Spark session could not be created: "
                    f"{describe(e)}\n"
                    "Restart the kernel to try again. If it keeps failing, the gateway's log has the "
                    "Spark driver's output."
                )
                log.error("SparkSession creation failed: %s", describe(e))
                return
            self._session = session
            self._state = "ready"
            log.info("SparkSession created in %.1f s", time.monotonic() - started)
        for callback in self._on_created:
            try:
                callback(session)
            except Exception:  # noqa: BLE001 - a wiring problem must not take the session down
                log.exception("SparkSession callback failed")

    def _build(self) -> Any:
        assert self._sql_module is not None, "load() first"
        settings = self._settings
        builder = self._sql_module.SparkSession.builder
        for key, value in settings.spark_conf.items():
            builder = builder.config(key, value)
        if "spark.app.name" not in settings.spark_conf:
            builder = builder.appName(default_app_name(settings))
        if ARROW_PYTHON_UDF not in settings.spark_conf and not _arrow_installed():
            # Spark 4 runs Python UDFs through Arrow by default; without pyarrow and pandas in the
            # kernel's environment every UDF cell would print "Arrow optimization failed to enable"
            # and fall back anyway. Ask for the plain path directly.
            builder = builder.config(ARROW_PYTHON_UDF, "false")
        with self._jvm_environment(), _jvm_output_to_process_streams(), _keep_sigint_handler():
            return builder.getOrCreate()

    @contextmanager
    def _jvm_environment(self) -> Iterator[None]:
        """Environment the driver JVM is launched with; the secret is only there during the launch."""
        env = self._environ
        if self._settings.submit_args:
            # pyspark requires the primary resource "pyspark-shell" last (pyspark/java_gateway.py).
            env[PYSPARK_SUBMIT_ARGS] = f"{self._settings.submit_args} pyspark-shell"
        secret = self._settings.auth_secret
        previous = env.get(JVM_AUTH_SECRET_ENV)
        if secret:
            env[JVM_AUTH_SECRET_ENV] = secret
        try:
            yield
        finally:
            if secret:
                if previous is None:
                    env.pop(JVM_AUTH_SECRET_ENV, None)
                else:
                    env[JVM_AUTH_SECRET_ENV] = previous

    # -- jobs and stop -------------------------------------------------------------------------

    def cancel_all_jobs(self, wait_s: float | None = None) -> None:
        """Ask Spark to cancel running jobs, off the calling thread (a signal handler must not
        block on the JVM). ``wait_s`` waits that long for Spark to take the request."""
        context = self.context_if_ready()
        if context is None:
            return

        def cancel() -> None:
            try:
                context.cancelAllJobs()
                log.info("asked Spark to cancel all jobs")
            except Exception as e:  # noqa: BLE001
                log.warning("cancelAllJobs failed: %s", describe(e))

        thread = threading.Thread(target=cancel, name="sparkgate-cancel-jobs", daemon=True)
        thread.start()
        if wait_s is not None:
            thread.join(wait_s)

    def stop(self, timeout_s: float | None = None) -> bool:
        """spark.stop() in a thread, waiting at most ``timeout_s``. Safe to call many times, from
        any thread; later calls wait for the same stop. True when Spark stopped (or never ran)."""
        with self._stop_lock:
            if self._stopper is None:
                session = self._session
                if self._state in ("pending", "ready"):
                    self._state = "stopped"  # no session is created after shutdown began
                if session is None:
                    return True
                timeout = self._settings.stop_timeout_s if timeout_s is None else timeout_s
                self._stop_deadline = time.monotonic() + timeout
                self._stopper = threading.Thread(
                    target=_stop_session, args=(session,), name="sparkgate-spark-stop", daemon=True
                )
                self._stopper.start()
            stopper = self._stopper
        stopper.join(max(0.0, self._stop_deadline - time.monotonic()))
        if stopper.is_alive():
            log.warning("spark.stop() did not finish within %.1f s; not waiting any longer", self._settings.stop_timeout_s)
            return False
        return True


def _stop_session(session: Any) -> None:
    try:
        session.stop()
    except Exception as e:  # noqa: BLE001
        log.warning("spark.stop() failed: %s", describe(e))


def default_app_name(settings: Settings) -> str:
    suffix = settings.kernel_id[:8] if settings.kernel_id else str(os.getpid())
    return f"sparkgate-{settings.kind}-{suffix}"


def _import_pyspark_sql(spark_home: str | None) -> ModuleType:
    try:
        return importlib.import_module("pyspark.sql")
    except ImportError:
        if not spark_home or not _add_spark_home_to_path(spark_home):
            raise
    importlib.invalidate_caches()
    return importlib.import_module("pyspark.sql")


def _add_spark_home_to_path(spark_home: str) -> bool:
    """What bin/pyspark does: $SPARK_HOME/python and its bundled py4j zip on the path."""
    python_dir = os.path.join(spark_home, "python")
    if not os.path.isdir(os.path.join(python_dir, "pyspark")):
        return False
    additions = [python_dir, *sorted(glob.glob(os.path.join(python_dir, "lib", "py4j-*-src.zip")))]
    for entry in reversed(additions):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    return True


def _not_installed_message(error: BaseException, spark_home: str | None) -> str:
    if isinstance(error, ModuleNotFoundError) and error.name == "pyspark":
        reason = "the kernel's Python cannot import pyspark"
    else:
        reason = f"pyspark could not be imported ({describe(error)})"
    home = f" (SPARK_HOME={spark_home} has no usable python/pyspark)" if spark_home else ""
    return (
        f"Spark is not installed on this gateway: {reason}{home}, so this kernel has no Spark session.\n"
        "To fix it, install Apache Spark on the gateway and set SPARK_HOME, or run `pip install pyspark` "
        "for the kernel's Python, then restart the kernel.\n"
        'For Python without Spark, use the "Python 3" kernel (python3).'
    )


@contextmanager
def _jvm_output_to_process_streams() -> Iterator[None]:
    """Let the driver JVM inherit the process's real stdout/stderr (the gateway's log), not the
    pipes ipykernel forwards into notebook cells (IPKernelApp.capture_fd_output)."""
    swaps: list[tuple[int, int]] = []
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        original = getattr(stream, "_original_stdstream_copy", None)
        if not isinstance(original, int):
            continue
        try:
            saved = os.dup(fd)
            os.dup2(original, fd)
        except OSError:
            continue
        swaps.append((fd, saved))
    try:
        yield
    finally:
        for fd, saved in swaps:
            os.dup2(saved, fd)
            os.close(saved)


@contextmanager
def _keep_sigint_handler() -> Iterator[None]:
    """pyspark's SparkContext installs its own SIGINT handler on the main thread; keep ipykernel's
    (SIG_IGN while idle, so an interrupt between cells cannot kill the kernel)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
