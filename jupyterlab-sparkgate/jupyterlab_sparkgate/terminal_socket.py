"""The terminal websocket, proxied: browser <-> this server <-> sparkgate's /terminals/websocket/{name}.

Frames are terminado JSON text (``["stdin", s]``, ``["stdout", s]``, ``["set_size", r, c]``) and pass
through untouched. The upstream socket is opened before the browser's upgrade is accepted, so an
unknown terminal is a plain 404 (what sparkgate answers) and not an upgrade that closes at once.
Either side closing closes the other: the browser leaving closes the gateway socket (the terminal
keeps running on sparkgate, as a closed tab leaves a Jupyter terminal running), and the gateway
closing (the REPL exited, the terminal was shut down) closes the browser's with the same code.
"""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, WebSocketHandler, websocket_connect

from .gateway import gateway_client, gateway_ws_request, scrub

AUTH_RESOURCE = "terminals"


class TerminalSocketProxy(WebSocketMixin, WebSocketHandler, JupyterHandler):
    auth_resource = AUTH_RESOURCE
    upstream: WebSocketClientConnection | None = None
    _closed = False

    async def get(self, name: str, *args: Any, **kwargs: Any) -> None:
        # What jupyter_server_terminals' TermSocket.get checks: a user, then 'execute' on terminals.
        user = self.current_user
        if not user:
            raise web.HTTPError(403)
        if not await ensure_async(self.authorizer.is_authorized(self, user, "execute", self.auth_resource)):
            raise web.HTTPError(403)
        request = gateway_ws_request(f"terminals/websocket/{name}")
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            raise web.HTTPError(400, "Can \"Upgrade\" only to \"WebSocket\".")
        try:
            self.upstream = await websocket_connect(request)
        except HTTPClientError as e:
            if e.code == 404:
                raise web.HTTPError(404, f"Terminal {name} not found on sparkgate") from None
            raise web.HTTPError(502, f"sparkgate refused the terminal websocket: HTTP {e.code}") from None
        except OSError as e:
            raise web.HTTPError(503, f"sparkgate at {gateway_client().url} did not answer: {scrub(str(e))}") from None
        try:
            await ensure_async(super().get(name, *args, **kwargs))
        finally:
            if self.ws_connection is None:
                # The upgrade did not happen: nothing will ever close the upstream socket but us.
                self._close_upstream()

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        IOLoop.current().add_callback(self._pump_from_gateway)

    async def _pump_from_gateway(self) -> None:
        upstream = self.upstream
        while upstream is not None:
            message = await upstream.read_message()
            if message is None:
                # The gateway closed (the REPL ended, the terminal was deleted, or the gateway went away).
                if not self._closed:
                    self.close(_sendable(upstream.close_code), upstream.close_reason or "")
                return
            try:
                await self.write_message(message, binary=isinstance(message, bytes))
            except WebSocketClosedError:
                self._close_upstream()
                return

    async def on_message(self, message: str | bytes) -> None:
        if self.upstream is None:
            return
        try:
            await self.upstream.write_message(message, binary=isinstance(message, bytes))
        except WebSocketClosedError:
            self.close(1011, "sparkgate closed the terminal")

    def on_close(self) -> None:
        self._closed = True
        if self.ping_callback is not None:
            self.ping_callback.stop()
        self._close_upstream()

    def _close_upstream(self) -> None:
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.close()


def _sendable(code: int | None) -> int:
    """A close code a server may send: 1005/1006/1015 only describe a close, they are never sent."""
    if code is None or code in (1005, 1006, 1015) or not (1000 <= code <= 4999):
        return 1000
    return code
