"""A session's logs, streamed through: ``{base_url}sparkgate/api/sessions/{id}/logs`` -> sparkgate's
``/api/sparkgate/sessions/{id}/logs`` (plain text; with ``follow=true`` it lasts as long as the
session runs).

Two things differ from the other proxies. The request has no timeout (a followed log is quiet for
minutes at a time), and when the browser goes away the request to the gateway is ended at once,
not at the gateway's next chunk: tornado's simple HTTP client has no public way to cancel a
fetch, so its connection class is subclassed to keep a handle on the connection
(``_CancellableClient``). Without that, every closed log view would hold a connection and a
subscription on the gateway until the session ends.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import httputil, web
from tornado.httputil import url_concat
from tornado.iostream import StreamClosedError
from tornado.simple_httpclient import SimpleAsyncHTTPClient, _HTTPConnection

from .gateway import gateway_client, gateway_request, remember_cookies, scrub

# The gateway's query parameters (src/http/routes/session-logs.ts); anything else (Jupyter's own
# ?token=) is not passed on.
_PARAMS = ("source", "executor", "tail", "follow")
# No limit on a followed log's total size (tornado's default would end it at 100 MB).
_MAX_BODY_BYTES = 1 << 62


class _CancellableConnection(_HTTPConnection):
    """Registers itself with the request's ``sparkgate_connections`` list, so it can be cancelled."""

    def __init__(self, client, request, *args, **kwargs) -> None:
        super().__init__(client, request, *args, **kwargs)
        holder = getattr(request, "sparkgate_connections", None)
        if isinstance(holder, list):
            holder.append(self)


class _CancellableClient(SimpleAsyncHTTPClient):
    def _connection_class(self) -> type:
        return _CancellableConnection


def _cancel(connection: _HTTPConnection) -> None:
    # Ends the fetch with a 599 and closes its socket (what tornado does on a request timeout).
    connection._on_timeout("the browser went away")


class SessionLogsHandler(APIHandler):
    """Reading a session's logs is reading a kernel's state, as for its executors."""

    auth_resource = "kernels"

    _connections: list[_HTTPConnection] | None = None
    _closed = False

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        client = gateway_client()
        relay = _TextRelay(self)
        request = gateway_request(
            f"api/sparkgate/sessions/{session_id}/logs",
            header_callback=relay.on_header_line,
            streaming_callback=relay.on_chunk,
        )
        query = [(k, v) for k, v in parse_qsl(self.request.query, keep_blank_values=True) if k in _PARAMS]
        if query:
            request.url = url_concat(request.url, query)
        request.request_timeout = 0  # none: a followed log lasts as long as the session
        self._connections = []
        request.sparkgate_connections = self._connections
        http = _CancellableClient(force_instance=True, max_body_size=_MAX_BODY_BYTES)
        try:
            response = await http.fetch(request, raise_error=False)
        finally:
            http.close()
            self._connections = None
        if self._closed:
            return
        if response.code == 599 and relay.started:
            # The gateway broke the stream off mid-body: the browser sees a cut response.
            self.request.connection.close()
            return
        if response.code == 599:
            reason = scrub(str(response.error)) if response.error else "no response"
            raise web.HTTPError(503, f"sparkgate at {client.url} did not answer: {reason}")
        remember_cookies(response.headers)
        if response.code == 401:
            raise web.HTTPError(502, "sparkgate refused this server's GatewayClient credentials (check GatewayClient.auth_token / auth_scheme)")
        relay.finish()

    def on_connection_close(self) -> None:
        self._closed = True
        for connection in self._connections or []:
            _cancel(connection)


class _TextRelay:
    """Copies the gateway's answer (status, content type, body chunks) to the browser as it arrives."""

    def __init__(self, handler: SessionLogsHandler) -> None:
        self.handler = handler
        self.status: int | None = None
        self.headers = httputil.HTTPHeaders()
        self.started = False

    def on_header_line(self, line: str) -> None:
        if line.startswith("HTTP/"):
            self.status = httputil.parse_response_start_line(line.strip()).code
            self.headers = httputil.HTTPHeaders()
        elif line.strip():
            self.headers.parse_line(line)
        elif self.status is not None and self.status >= 200 and self.status != 401:
            self._start()
            # The headers now, not with the first line: a quiet followed log has none for a while.
            self._flush()

    def _start(self) -> None:
        if self.started:
            return
        self.started = True
        h = self.handler
        h.set_status(self.status or 502)
        h.set_header("Content-Type", self.content_type)
        h.set_header("Cache-Control", "no-store")
        h.set_header("X-Content-Type-Options", "nosniff")
        # A reverse proxy in front of Jupyter (nginx) must not hold the stream back.
        h.set_header("X-Accel-Buffering", "no")

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "text/plain; charset=utf-8")

    def on_chunk(self, chunk: bytes) -> None:
        if self.handler._closed:
            raise StreamClosedError()
        if self.status == 401:
            return  # answered with a 502 of ours (the server's credentials, not the browser's)
        self._start()
        self.handler.write(chunk)
        self._flush()

    def _flush(self) -> None:
        self.handler.flush().add_done_callback(_ignore_closed)

    def finish(self) -> None:
        self._start()
        self.handler.finish(set_content_type=self.content_type)


def _ignore_closed(future) -> None:
    """A flush to a browser that left fails; on_connection_close has cancelled the fetch."""
    future.exception()
