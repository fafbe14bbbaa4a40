"""REST proxies: sparkgate's terminals API, a session's executors and the executors it has logs of.

Thin handlers: Jupyter authentication and authorization (``auth_resource`` + ``@authorized``, as
jupyter_server_terminals does for its own terminals), then one request to the gateway. The
gateway's answer (status and ``{message, reason}`` body) is passed through unchanged, so
@jupyterlab/services' ResponseError shows sparkgate's own message.
"""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .gateway import gateway_client, gateway_request, remember_cookies, scrub


class GatewayProxyHandler(APIHandler):
    """Sends one request to the gateway and answers with its status and JSON body."""

    async def forward(self, request: HTTPRequest) -> None:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 599:
            # No HTTP answer at all: connection refused, TLS failure, timeout.
            reason = scrub(str(response.error)) if response.error else "no response"
            raise web.HTTPError(503, f"sparkgate at {gateway_client().url} did not answer: {reason}")
        remember_cookies(response.headers)
        if response.code == 401:
            # The server's GatewayClient credentials, not the browser's: say which setting to fix.
            raise web.HTTPError(502, "sparkgate refused this server's GatewayClient credentials (check GatewayClient.auth_token / auth_scheme)")
        self.set_status(response.code)
        if response.code == 204 or not response.body:
            self.finish()
            return
        self.set_header("Content-Type", "application/json")
        self.finish(response.body)


class InfoHandler(APIHandler):
    """Whether this server proxies a gateway; the lab extension asks before it shows anything."""

    auth_resource = "terminals"

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.finish(json.dumps({"gateway_mode": gateway_client().gateway_enabled}))


class TerminalRootHandler(GatewayProxyHandler):
    auth_resource = "terminals"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.forward(gateway_request("api/terminals"))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.get_json_body() or {}
        if not isinstance(body, dict):
            raise web.HTTPError(400, "The body of POST /sparkgate/api/terminals must be a JSON object, e.g. {\"kernel_id\": \"...\"}")
        # JupyterLab sends the file browser's directory: a path on this server, not on the gateway.
        body.pop("cwd", None)
        await self.forward(gateway_request("api/terminals", method="POST", body=json.dumps(body).encode()))


class TerminalHandler(GatewayProxyHandler):
    auth_resource = "terminals"

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.forward(gateway_request(f"api/terminals/{name}"))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.forward(gateway_request(f"api/terminals/{name}", method="DELETE"))


class ExecutorsHandler(GatewayProxyHandler):
    """A session's executors (a kernel id is a session id on sparkgate): reading a kernel's state."""

    auth_resource = "kernels"

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        await self.forward(gateway_request(f"api/sparkgate/sessions/{session_id}/executors"))


class ExecutorLogsHandler(GatewayProxyHandler):
    """The executors a session has logs of (the log itself streams through logs_handler.py)."""

    auth_resource = "kernels"

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        await self.forward(gateway_request(f"api/sparkgate/sessions/{session_id}/logs/executors"))
