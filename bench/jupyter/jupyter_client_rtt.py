"""Second reference for the floor: `1+1` round trips with Python jupyter_client, straight to an
ipykernel started from the bench kernelspec (no server). Same definition as the bench: from
sending execute_request until both its execute_reply (shell) and its status idle (iopub)
arrived. Prints one JSON object: {"samples": [...ms]}.

Usage: JUPYTER_PATH=<dir with the rendered kernels/bench-python> .venv-jupyter/bin/python jupyter_client_rtt.py ROUNDTRIPS
(bench/python-reference.ts renders it: the spec's {python} is the project venv's interpreter)
"""
import json
import sys
import time

from jupyter_client.manager import KernelManager


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    km = KernelManager(kernel_name="bench-python")
    km.start_kernel()
    try:
        kc = km.blocking_client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        samples = []
        for i in range(n + 50):
            t0 = time.perf_counter()
            msg_id = kc.execute("1+1", store_history=False)
            reply = idle = False
            while not (reply and idle):
                if not reply:
                    msg = kc.get_shell_msg(timeout=30)
                    reply = msg["parent_header"].get("msg_id") == msg_id
                if not idle:
                    msg = kc.get_iopub_msg(timeout=30)
                    idle = (
                        msg["parent_header"].get("msg_id") == msg_id
                        and msg["msg_type"] == "status"
                        and msg["content"]["execution_state"] == "idle"
                    )
            if i >= 50:
                samples.append((time.perf_counter() - t0) * 1000)
        kc.stop_channels()
        print(json.dumps({"samples": samples}))
    finally:
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
