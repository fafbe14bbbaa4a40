"""A Jupyter client for the launcher tests: jupyter_client.BlockingKernelClient behind a tiny
line protocol, so a vitest test can drive a real kernel over ZeroMQ.

stdin:  one JSON request per line  {"id": 1, "op": "...", ...}
stdout: one JSON response per line {"id": 1, "ok": true, "result": ...} | {"id": 1, "ok": false, "error": "..."}

ops:
  connect     {connection_file, timeout}       wait for the file, connect, wait for kernel_info
  kernel_info {timeout}                         kernel_info_reply content
  execute     {code, timeout, silent?, stop_on_error?, signal?: {pid, name, after_s}}
              -> {reply, iopub: [{msg_type, content, t}]} (iopub messages of this request, up to idle)
  is_complete {code}
  shutdown    {restart?, timeout}               shutdown_reply content (control channel)
  exit
Run with /usr/bin/python3 (Debian's jupyter_client).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from queue import Empty
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient

client: BlockingKernelClient | None = None
T0 = time.monotonic()


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def wait_for_connection_file(path: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path, encoding="utf-8") as f:
                info = json.load(f)
            if info.get("shell_port"):
                return info
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no connection file at {path} after {timeout}s")
        time.sleep(0.02)


def op_connect(req: dict[str, Any]) -> Any:
    global client
    timeout = float(req.get("timeout", 20))
    wait_for_connection_file(req["connection_file"], timeout)
    client = BlockingKernelClient()
    client.load_connection_file(req["connection_file"])
    client.start_channels()
    client.wait_for_ready(timeout=timeout)
    return op_kernel_info({"timeout": timeout})


def op_kernel_info(req: dict[str, Any]) -> Any:
    assert client is not None
    msg = client.kernel_info(reply=True, timeout=float(req.get("timeout", 10)))
    return jsonable(msg["content"])


def op_execute(req: dict[str, Any]) -> Any:
    assert client is not None
    timeout = float(req.get("timeout", 20))
    sig = req.get("signal")
    # stop_on_error=False: each cell stands alone (else ipykernel aborts a request that arrives
    # right after an error, as "run all" wants).
    msg_id = client.execute(
        req["code"],
        silent=bool(req.get("silent", False)),
        store_history=True,
        stop_on_error=bool(req.get("stop_on_error", False)),
    )
    # The signal goes `after_s` after the cell's execute_input: ipykernel ignores SIGINT until it
    # is about to run the handler (iopub `busy` comes before that), and then publishes
    # execute_input. A signal timed from the request alone is lost under load.
    running = threading.Event()
    if sig:
        def send() -> None:
            running.wait(timeout)
            time.sleep(float(sig.get("after_s", 0.5)))
            os.kill(int(sig["pid"]), getattr(signal, sig.get("name", "SIGINT")))

        threading.Thread(target=send, daemon=True).start()
    deadline = time.monotonic() + timeout
    iopub: list[dict[str, Any]] = []
    reply = None
    idle = False
    while not (idle and reply is not None):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"execute timed out after {timeout}s; iopub so far: {[m['msg_type'] for m in iopub]}")
        if not idle:
            try:
                msg = client.get_iopub_msg(timeout=min(remaining, 0.2))
            except Empty:
                msg = None
            if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
                iopub.append(
                    {"msg_type": msg["msg_type"], "content": jsonable(msg["content"]), "t": time.monotonic() - T0}
                )
                if msg["msg_type"] == "execute_input":
                    running.set()
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
        if reply is None:
            try:
                shell_msg = client.get_shell_msg(timeout=0.01 if not idle else min(remaining, 0.5))
            except Empty:
                shell_msg = None
            if shell_msg is not None and shell_msg["parent_header"].get("msg_id") == msg_id:
                reply = jsonable(shell_msg["content"])
    return {"reply": reply, "iopub": iopub}


def op_is_complete(req: dict[str, Any]) -> Any:
    assert client is not None
    msg_id = client.is_complete(req["code"])
    return jsonable(client._recv_reply(msg_id, timeout=float(req.get("timeout", 10)))["content"])  # noqa: SLF001


def op_shutdown(req: dict[str, Any]) -> Any:
    assert client is not None
    msg = client.shutdown(restart=bool(req.get("restart", False)), reply=True, timeout=float(req.get("timeout", 20)))
    return jsonable(msg["content"])


OPS = {
    "connect": op_connect,
    "kernel_info": op_kernel_info,
    "execute": op_execute,
    "is_complete": op_is_complete,
    "shutdown": op_shutdown,
}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("op") == "exit":
            break
        try:
            result = OPS[req["op"]](req)
            out = {"id": req.get("id"), "ok": True, "result": result}
        except Exception as e:  # noqa: BLE001 - reported to the test
            out = {"id": req.get("id"), "ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    if client is not None:
        client.stop_channels()


if __name__ == "__main__":
    main()
