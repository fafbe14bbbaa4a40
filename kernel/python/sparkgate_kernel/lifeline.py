"""End the kernel when the gateway is gone, however it went (SIGKILL included).

The gateway starts every kernel with ``KERNEL_LIFELINE_FD`` (fd 3): the read end of a pipe whose
write end only the gateway holds and never closes while it runs. A daemon thread blocks reading
it; end-of-file means the gateway's process is gone. ipykernel's own parent poller only notices
a parent pid of 1, which never happens under a subreaper (the orphan is adopted by it instead),
so this is the signal that always works. Gateway side: ``src/kernels/kernel-lifeline.ts``.

On end-of-file the kernel's process group (this process, the Spark driver JVM, whatever a cell
started) gets SIGTERM, so ``app.py``'s handler can stop Spark within its timeout, then SIGKILL
after ``grace_s``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import MutableMapping

ENV_LIFELINE_FD = "KERNEL_LIFELINE_FD"


def watch(env: MutableMapping[str, str], grace_s: float) -> threading.Thread | None:
    """Start the watch; None when there is no lifeline (not started by a gateway).

    The variable is removed from ``env`` so that processes the kernel starts do not take fd 3 for
    a lifeline, and the descriptor is not inherited by them."""
    raw = env.pop(ENV_LIFELINE_FD, None)
    if raw is None or not raw.isdigit():
        return None
    fd = int(raw)
    try:
        os.set_inheritable(fd, False)
    except OSError:
        return None  # no such descriptor
    thread = threading.Thread(target=_wait_then_end, args=(fd, grace_s), name="sparkgate-lifeline", daemon=True)
    thread.start()
    return thread


def _wait_then_end(fd: int, grace_s: float) -> None:
    try:
        while os.read(fd, 4096):
            pass  # nothing is ever sent; only the end matters
    except OSError:
        pass  # a reset connection is the same news
    _say("the gateway is gone (lifeline closed); ending the kernel")
    leads_group = os.getpgrp() == os.getpid()
    _signal(signal.SIGTERM, leads_group)
    time.sleep(grace_s)
    _signal(signal.SIGKILL, leads_group)
    os._exit(1)


def _signal(sig: signal.Signals, group: bool) -> None:
    try:
        if group:
            os.killpg(os.getpgrp(), sig)
        else:
            os.kill(os.getpid(), sig)
    except OSError:
        pass


def _say(message: str) -> None:
    try:
        print(f"sparkgate_kernel: {message}", file=sys.__stderr__, flush=True)
    except (OSError, ValueError):
        pass  # the gateway read our stderr; it is gone
