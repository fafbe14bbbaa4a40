"""The extension's routes, all under ``{base_url}sparkgate/`` (never Jupyter Server's own /api/terminals,
which jupyter_server_terminals serves for local terminals)."""

from __future__ import annotations

from jupyter_server.utils import url_path_join

from .gateway import SESSION_ID, TERMINAL_NAME
from .logs_handler import SessionLogsHandler
from .rest_handlers import ExecutorLogsHandler, ExecutorsHandler, InfoHandler, TerminalHandler, TerminalRootHandler
from .spark_ui_handler import SparkUiHandler
from .terminal_socket import TerminalSocketProxy

PREFIX = "sparkgate"


def setup_routes(web_app) -> None:
    base = url_path_join(web_app.settings["base_url"], PREFIX)
    handlers = [
        (url_path_join(base, "api/info"), InfoHandler),
        (url_path_join(base, "api/terminals"), TerminalRootHandler),
        (url_path_join(base, rf"api/terminals/({TERMINAL_NAME})"), TerminalHandler),
        (url_path_join(base, rf"terminals/websocket/({TERMINAL_NAME})"), TerminalSocketProxy),
        (url_path_join(base, rf"api/sessions/({SESSION_ID})/executors"), ExecutorsHandler),
        (url_path_join(base, rf"api/sessions/({SESSION_ID})/logs"), SessionLogsHandler),
        (url_path_join(base, rf"api/sessions/({SESSION_ID})/logs/executors"), ExecutorLogsHandler),
        (url_path_join(base, rf"sessions/({SESSION_ID})/ui(/.*)?"), SparkUiHandler),
    ]
    web_app.add_handlers(".*$", handlers)
