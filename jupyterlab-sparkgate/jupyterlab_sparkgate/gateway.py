"""Where the gateway is and how to talk to it: always Jupyter Server's own GatewayClient settings.

``GatewayClient.instance().load_connection_args()`` is what jupyter_server's gateway code uses for
every kernel request and the kernel websocket: the auth header (``auth_header_key``:
``auth_scheme auth_token``, renewed by the configured token renewer), extra ``headers``,
``validate_cert``, ``client_cert``/``client_key``/``ca_certs``, HTTP basic auth, the timeouts and
the gateway's cookies. Nothing here comes from the browser.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import HTTPRequest
from tornado.httputil import url_concat

# What sparkgate accepts in URLs (src/terminals/terminal-models.ts, kernel ids are UUIDs); the
# routes only match these, so nothing else reaches the gateway's URL space.
TERMINAL_NAME = r"[A-Za-z0-9_-]{1,64}"
SESSION_ID = r"[A-Za-z0-9_-]{1,64}"

NOT_GATEWAY_MODE = (
    "jupyterlab_sparkgate proxies a sparkgate gateway, and this Jupyter Server is not in gateway "
    "mode: start it with --gateway-url (e.g. jupyter lab --gateway-url=http://sparkgate:8888 "
    "--GatewayClient.auth_token=...)"
)


def gateway_client() -> GatewayClient:
    return GatewayClient.instance()


def require_gateway() -> GatewayClient:
    """The GatewayClient, or a 404 with a message saying how to turn gateway mode on."""
    client = gateway_client()
    if not client.gateway_enabled:
        raise web.HTTPError(404, NOT_GATEWAY_MODE)
    return client


def gateway_request(
    path: str,
    *,
    method: str = "GET",
    query: dict[str, str] | None = None,
    body: bytes | None = None,
    **kwargs: Any,
) -> HTTPRequest:
    """An HTTP request to ``{GatewayClient.url}/{path}`` with the GatewayClient's connection args."""
    client = require_gateway()
    url = url_path_join(client.url, path)
    if query:
        url = url_concat(url, query)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    args = client.load_connection_args(headers=headers, **kwargs)
    return HTTPRequest(url, method=method, body=body, follow_redirects=False, **args)


def gateway_ws_request(path: str) -> HTTPRequest:
    """The websocket request to ``{GatewayClient.ws_url}/{path}``, as GatewayWebSocketConnection builds it."""
    client = require_gateway()
    url = url_path_join(client.ws_url or "", path)
    return HTTPRequest(url, **client.load_connection_args())


def remember_cookies(headers: Any) -> None:
    """Keeps the gateway's cookies when GatewayClient.accept_cookies is on (as gateway_request does)."""
    gateway_client().update_cookies(headers)


def error_body(message: str, reason: str | None = None) -> str:
    """Jupyter's error body, ``{message, reason}`` (what ServerConnection.ResponseError reads)."""
    return json.dumps({"message": message, "reason": reason})


_SECRETS = re.compile(r"(token|authorization)=[^&\s]+", re.IGNORECASE)


def scrub(text: str) -> str:
    """An error text without query-string credentials, for messages and logs."""
    return _SECRETS.sub(r"\1=[secret]", text)
