"""The launcher's inputs, read once from argv and the environment, validated, then frozen.

Environment (set by the gateway unless noted):
  SPARKGATE_KERNEL_ID              the session's UUID (used in the default Spark app name)
  SPARKGATE_SPARK_CONF_FILE        JSON object of string -> string Spark conf (Spark kinds)
  SPARKGATE_SPARK_SUBMIT_ARGS      extra spark-submit options for the driver JVM, e.g. "--driver-memory 2g"
  SPARK_AUTHENTICATE_SECRET        shared secret for spark.authenticate; handed to the JVM only
  SPARKGATE_SPARK_EAGER            "1" (default): create the SparkSession at startup; "0": on first use
  SPARKGATE_SPARK_STOP_TIMEOUT_S   how long shutdown waits for spark.stop() (default 10)
  SPARKGATE_SPARK_PROGRESS_INTERVAL_S  job progress poll interval (default 0.5; 0 turns it off, notices too)
  SPARKGATE_SPARK_NOTICE_FILE      where the gateway writes notices from the driver's log (notices.py)
  SPARKGATE_DEBUG                  "1": Python tracebacks for launcher failures, debug logs
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Literal, cast

from .errors import LauncherError

Kind = Literal["python", "pyspark", "spark-sql"]
KINDS: tuple[Kind, ...] = ("python", "pyspark", "spark-sql")

ENV_KERNEL_ID = "SPARKGATE_KERNEL_ID"
ENV_CONF_FILE = "SPARKGATE_SPARK_CONF_FILE"
ENV_SUBMIT_ARGS = "SPARKGATE_SPARK_SUBMIT_ARGS"
ENV_AUTH_SECRET = "SPARK_AUTHENTICATE_SECRET"
ENV_EAGER = "SPARKGATE_SPARK_EAGER"
ENV_STOP_TIMEOUT = "SPARKGATE_SPARK_STOP_TIMEOUT_S"
ENV_PROGRESS_INTERVAL = "SPARKGATE_SPARK_PROGRESS_INTERVAL_S"
ENV_DEBUG = "SPARKGATE_DEBUG"
ENV_NOTICE_FILE = "SPARKGATE_SPARK_NOTICE_FILE"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    kind: Kind
    kernel_id: str = ""
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    submit_args: str = ""
    auth_secret: str | None = field(default=None, repr=False)
    eager: bool = True
    stop_timeout_s: float = 10.0
    progress_interval_s: float = 0.5
    notice_file: str | None = None
    debug: bool = False

    @property
    def spark(self) -> bool:
        return self.kind != "python"

    @classmethod
    def from_env(cls, kind: str, env: MutableMapping[str, str]) -> Settings:
        """Read the settings; removes SPARK_AUTHENTICATE_SECRET from ``env`` so user code never sees it."""
        if kind not in KINDS:
            raise LauncherError(f"--kind must be one of {', '.join(KINDS)} (got {kind!r})")
        debug = parse_bool(env, ENV_DEBUG, default=False)
        secret = env.pop(ENV_AUTH_SECRET, None) or None
        if kind == "python":
            return cls(kind="python", kernel_id=env.get(ENV_KERNEL_ID, ""), debug=debug)
        return cls(
            kind=cast(Kind, kind),
            kernel_id=env.get(ENV_KERNEL_ID, ""),
            spark_conf=read_conf_file(env.get(ENV_CONF_FILE) or None),
            submit_args=env.get(ENV_SUBMIT_ARGS, "").strip(),
            auth_secret=secret,
            eager=parse_bool(env, ENV_EAGER, default=True),
            stop_timeout_s=parse_seconds(env, ENV_STOP_TIMEOUT, default=10.0),
            progress_interval_s=parse_seconds(env, ENV_PROGRESS_INTERVAL, default=0.5),
            notice_file=env.get(ENV_NOTICE_FILE) or None,
            debug=debug,
        )


def parse_bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise LauncherError(f"{name} must be 1 or 0, e.g. {name}=0 (got {raw!r})")


def parse_seconds(env: Mapping[str, str], name: str, *, default: float) -> float:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (0 <= value <= 3600):
        raise LauncherError(f"{name} must be a number of seconds between 0 and 3600, e.g. {name}=10 (got {raw!r})")
    return value


def read_conf_file(path: str | None) -> dict[str, str]:
    """The rendered Spark conf: a JSON object of string keys to string values (Spark conf is text)."""
    if path is None:
        return {}
    example = '{"spark.master": "local[*]"}'
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise LauncherError(f"{ENV_CONF_FILE}={path}: cannot read it ({e.strerror or e})") from None
    except ValueError as e:
        raise LauncherError(f"{ENV_CONF_FILE}={path}: not valid JSON ({e}); expected an object like {example}") from None
    if not isinstance(data, dict):
        raise LauncherError(f"{ENV_CONF_FILE}={path}: expected a JSON object like {example}")
    for key, value in data.items():
        if not key or not isinstance(value, str):
            raise LauncherError(
                f"{ENV_CONF_FILE}={path}: key {key!r} must map to a string value, like {example}"
            )
    return dict(data)
