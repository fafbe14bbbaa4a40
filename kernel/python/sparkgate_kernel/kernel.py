"""ipykernel's IPythonKernel with the Spark session's lifecycle attached.

- Interrupt: during a request ipykernel makes SIGINT raise KeyboardInterrupt; here it also asks
  Spark to cancel running jobs (the Python side stops waiting, the cluster stops working).
- Errors: the execute_reply's evalue loses any JVM stack trace (spark_errors.py does the same
  for the iopub error and the traceback lines).
- Shutdown: spark.stop() (bounded) before the reply, so executors are released before ipykernel
  terminates the kernel's child processes (the driver JVM) and the client stops waiting.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ipykernel.ipkernel import IPythonKernel

from .errors import short_text
from .spark_errors import KeyboardInterrupt as SparkKeyboardInterrupt


@dataclass(frozen=True)
class KernelHooks:
    on_interrupt: Callable[[], None]
    on_interrupted: Callable[[], None]
    on_shutdown: Callable[[], object]
    is_complete: Callable[[str], dict[str, str]] | None = None


class SparkgateKernel(IPythonKernel):
    sparkgate_hooks: KernelHooks | None = None

    def pre_handler_hook(self) -> None:
        self.saved_sigint_handler = signal.signal(signal.SIGINT, self._sparkgate_sigint)

    _sparkgate_interrupted = False

    def _sparkgate_sigint(self, signum: int, frame: Any) -> None:
        self._sparkgate_interrupted = True
        hooks = self.sparkgate_hooks
        if hooks is not None:
            hooks.on_interrupt()
        raise SparkKeyboardInterrupt

    async def do_execute(self, *args: Any, **kwargs: Any) -> Any:
        """The execute_reply's evalue without a JVM stack trace (Py4JJavaError carries one)."""
        self._sparkgate_interrupted = False
        reply = await super().do_execute(*args, **kwargs)
        hooks = self.sparkgate_hooks
        if self._sparkgate_interrupted and hooks is not None:
            # The handler's cancel runs while the interrupt unwinds pyspark and py4j (which close
            # the interrupted call's connection); a job can outlive it under load. Ask again, now
            # that the cell is over, before the reply says it is.
            hooks.on_interrupted()
            if isinstance(reply, dict) and reply.get("status") == "error":
                # Shown as the interrupt it is even when py4j's error on the closed connection
                # was what reached the cell (spark_errors renders it so).
                reply["ename"] = "KeyboardInterrupt"
        if isinstance(reply, dict) and reply.get("status") == "error" and isinstance(reply.get("evalue"), str):
            reply["evalue"] = short_text(reply["evalue"])
        return reply

    def do_shutdown(self, restart: bool) -> Any:
        hooks = self.sparkgate_hooks
        if hooks is not None:
            hooks.on_shutdown()
        return super().do_shutdown(restart)

    def do_is_complete(self, code: str) -> Any:
        hooks = self.sparkgate_hooks
        if hooks is not None and hooks.is_complete is not None:
            return hooks.is_complete(code)
        return super().do_is_complete(code)
