"""``python -m sparkgate_kernel --kind {python|pyspark|spark-sql} -f CONNECTION_FILE``

Everything after ``--kind`` is passed to ipykernel's IPKernelApp unchanged. A failure before the
kernel starts prints one line on stderr and exits non-zero (a traceback only with SPARKGATE_DEBUG=1).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from . import lifeline
from .errors import LauncherError
from .settings import ENV_DEBUG, KINDS, Settings

USAGE = "python -m sparkgate_kernel --kind {python|pyspark|spark-sql} -f CONNECTION_FILE"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise LauncherError(f"{message} (usage: {USAGE})")


def parse_args(argv: list[str]) -> tuple[str, list[str]]:
    parser = _Parser(prog="sparkgate_kernel", add_help=False)
    parser.add_argument("--kind", required=True, choices=KINDS)
    options, rest = parser.parse_known_args(argv)
    if not any(a == "-f" or a.startswith(("-f=", "--IPKernelApp.connection_file=")) for a in rest):
        raise LauncherError(f"missing -f CONNECTION_FILE (usage: {USAGE})")
    return options.kind, rest


def main(argv: list[str] | None = None) -> int:
    debug = os.environ.get(ENV_DEBUG, "").strip() == "1"
    try:
        kind, kernel_argv = parse_args(sys.argv[1:] if argv is None else argv)
        settings = Settings.from_env(kind, os.environ)
        # Before anything slow (ipykernel's import, the Spark driver): a gateway that dies meanwhile ends us.
        lifeline.watch(os.environ, grace_s=settings.stop_timeout_s + 2.0)
        try:
            from .app import run
        except ImportError as e:
            raise LauncherError(
                f"{sys.executable} cannot import ipykernel ({e}); run the launcher with a Python that has it "
                "(Debian: apt-get install -y python3-ipykernel)"
            ) from None
        return run(settings, kernel_argv)
    except LauncherError as e:
        if debug:
            traceback.print_exc(file=sys.__stderr__)
        print(f"sparkgate_kernel: {e}", file=sys.__stderr__, flush=True)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - the one place that turns any failure into one line
        if debug:
            traceback.print_exc(file=sys.__stderr__)
        message = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"sparkgate_kernel: the kernel failed: {type(e).__name__}: {message}", file=sys.__stderr__, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
