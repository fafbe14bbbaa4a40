"""
The Jupyter kernel test suite (jupyter_kernel_test, https://github.com/jupyter/jupyter_kernel_test)
attached to a kernel that a real sparkgate gateway started: instead of starting a local kernel
(KernelTests.setUpClass), connect a BlockingKernelClient to the gateway's connection file for
that kernel, named by SPARKGATE_CONFORMANCE_CONNECTION_FILE
(test/integration/conformance/kernel-conformance.test.ts sets it).

The test modules import this module, never KernelTests itself: unittest collects every TestCase
class found in a test module, and KernelTests' own setUpClass would start a local kernel.
"""
from __future__ import annotations

import functools
import os
import time
from queue import Empty
from typing import Any

import jupyter_kernel_test
from jupyter_client.blocking.client import BlockingKernelClient

CONNECTION_FILE_ENV = "SPARKGATE_CONFORMANCE_CONNECTION_FILE"
READY_TIMEOUT_S = float(os.environ.get("SPARKGATE_CONFORMANCE_READY_TIMEOUT_S", "120"))


def connection_file_from_env() -> str:
    connection_file = os.environ.get(CONNECTION_FILE_ENV)
    if not connection_file:
        raise RuntimeError(
            f"{CONNECTION_FILE_ENV} is not set: run through "
            "test/integration/conformance/kernel-conformance.test.ts, or set it to the "
            "connection file of a kernel a sparkgate gateway started "
            "(<runtimeDir>/gateway-*/kernel-<id>.json)"
        )
    return connection_file


def attach(connection_file: str, timeout_s: float = READY_TIMEOUT_S) -> BlockingKernelClient:
    """A client on the kernel's five channels, returned once a kernel_info round trip worked and
    iopub delivers (the PUB/SUB subscription is in place, so no busy/idle pair is missed)."""
    kc = BlockingKernelClient(connection_file=connection_file)
    kc.load_connection_file()
    kc.start_channels()
    deadline = time.monotonic() + timeout_s
    while True:
        msg_id = kc.kernel_info()
        try:
            while True:
                reply = kc.get_shell_msg(timeout=1)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        except Empty:
            reply = None
        if reply is not None:
            try:
                # The kernel publishes status busy/idle around every request: seeing any iopub
                # message means this client's subscription is live.
                kc.get_iopub_msg(timeout=0.5)
            except Empty:
                pass
            else:
                break
        if time.monotonic() > deadline:
            kc.stop_channels()
            raise RuntimeError(f"kernel of {connection_file} did not answer kernel_info with iopub in {timeout_s} s")
    # Drop what is left of the probes.
    for channel in (kc.shell_channel, kc.iopub_channel):
        while True:
            try:
                channel.get_msg(timeout=0.2)
            except Empty:
                break
    return kc


class GatewayKernelTests(jupyter_kernel_test.KernelTests):
    """KernelTests against the gateway's kernel; the gateway (not the test) owns its lifetime."""

    # How long execute_helper waits for an execute_reply. jupyter_kernel_test's default (its
    # TIMEOUT, 15 s, bound when the method is defined) is too short for a first Spark job or a
    # Scala compile on two busy cores.
    execute_timeout_s = 15

    def execute_helper(self, code: str, timeout: int | None = None, **kwargs: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return super().execute_helper(code, timeout=timeout or self.execute_timeout_s, **kwargs)

    @classmethod
    def setUpClass(cls) -> None:
        cls.kc = attach(connection_file_from_env())

    @classmethod
    def tearDownClass(cls) -> None:
        cls.kc.stop_channels()


class GatewayIopubWelcomeTests(jupyter_kernel_test.IopubWelcomeTests):
    """IopubWelcomeTests (protocol 5.4, JEP 65: a new iopub subscriber is greeted with an
    iopub_welcome message) against the gateway's kernel: a client of its own, channels not
    started (the test starts them, then expects the welcome as the first message)."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.kc = BlockingKernelClient(connection_file=connection_file_from_env())
        cls.kc.load_connection_file()
        # The test waits for the welcome without a timeout: fail instead of hanging.
        cls.kc.get_iopub_msg = functools.partial(cls.kc.get_iopub_msg, timeout=jupyter_kernel_test.TIMEOUT)  # type: ignore[method-assign]

    @classmethod
    def tearDownClass(cls) -> None:
        cls.kc.stop_channels()
