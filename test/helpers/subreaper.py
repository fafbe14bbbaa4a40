"""Run a command under a child subreaper, as tini, Docker's --init or systemd do for a service.

    python3 subreaper.py [--label TEXT] COMMAND [ARGS...]

prctl(PR_SET_CHILD_SUBREAPER) makes this process adopt every orphan among its descendants, so
when COMMAND dies its children's parent becomes this process, never PID 1. Prints, flushed, on
stdout (which COMMAND shares):

    subreaper <own pid> started <COMMAND's pid>
    subreaper reaped <pid>          for COMMAND and for every adopted orphan, as it is reaped

and reaps until its own stdin closes (the test is done), then exits. ``--label`` is only there to
be seen in the command line (the test suite's leak check looks for the test's runtime dir).
"""

import ctypes
import os
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"subreaper: prctl failed: {os.strerror(ctypes.get_errno())}", file=sys.stderr, flush=True)
        return 1
    command = sys.argv[1:]
    if command[:1] == ["--label"]:
        command = command[2:]
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    print(f"subreaper {os.getpid()} started {child.pid}", flush=True)

    def exit_on_eof() -> None:
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_on_eof, daemon=True).start()
    while True:
        try:
            pid, _status = os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(0.05)
            continue
        print(f"subreaper reaped {pid}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
