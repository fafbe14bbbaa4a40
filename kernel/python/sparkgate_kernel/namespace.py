"""``spark`` and ``sc`` in the user namespace: the real objects, or (lazy mode) stand-ins that
create the session on first attribute access and then replace themselves."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from .session import SparkRuntime

NAMES = ("spark", "sc")


class LazySparkName:
    def __init__(self, name: str, resolve: Callable[[], Any]) -> None:
        object.__setattr__(self, "_sparkgate_name", name)
        object.__setattr__(self, "_sparkgate_resolve", resolve)

    def __getattr__(self, attr: str) -> Any:
        # IPython probes display hooks (_repr_*_, _ipython_*): answer without starting Spark.
        if attr.startswith(("_ipython", "_repr_")) or attr in ("__wrapped__", "__length_hint__"):
            raise AttributeError(attr)
        return getattr(self._sparkgate_resolve(), attr)

    def __repr__(self) -> str:
        return f"<{self._sparkgate_name}: the SparkSession is created on first use>"


def real_objects(session: Any) -> dict[str, Any]:
    return {"spark": session, "sc": session.sparkContext}


def install(runtime: SparkRuntime, user_ns: MutableMapping[str, Any]) -> None:
    """Put ``spark`` and ``sc`` into ``user_ns`` now or, in lazy mode, when the session exists."""
    proxies: dict[str, LazySparkName] = {}

    def replace(session: Any) -> None:
        for name, value in real_objects(session).items():
            current = user_ns.get(name)
            if current is None or current is proxies.get(name):
                user_ns[name] = value

    runtime.on_created(replace)
    if runtime.state == "pending":
        proxies["spark"] = LazySparkName("spark", runtime.session)
        proxies["sc"] = LazySparkName("sc", lambda: runtime.session().sparkContext)
        user_ns.update(proxies)
