"""A session's Spark UI, streamed through: ``{base_url}sparkgate/sessions/{id}/ui/...`` ->
sparkgate's ``/api/sparkgate/sessions/{id}/ui/...`` (which proxies the driver's UI port).

Spark renders every link with ``spark.ui.proxyBase``, which sparkgate sets to its own prefix
(``/api/sparkgate/sessions/{id}/ui``). The browser sees this server, so that prefix is rewritten to
ours in redirects and in HTML (links and the ``uiRoot`` the UI's scripts build REST URLs from);
everything else (CSS, scripts, images, the UI's JSON API) streams through chunk by chunk.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import httputil, web
from tornado.httpclient import AsyncHTTPClient
from tornado.iostream import StreamClosedError

from .gateway import gateway_request, remember_cookies, require_gateway, scrub

# Passed on from the UI's answer; the rest are hop-by-hop or describe the encoded body
# (the client decompresses, and a rewritten page has a new length).
_KEPT_HEADERS = ("Content-Type", "Cache-Control", "Expires", "Last-Modified", "ETag", "Content-Disposition", "Location")
_REWRITTEN_TYPES = ("text/html",)


class SparkUiHandler(JupyterHandler):
    """Browser navigation, so a plain JupyterHandler: an anonymous visitor is sent to the login page."""

    auth_resource = "kernels"

    @web.authenticated
    @authorized
    async def get(self, session_id: str, path: str | None) -> None:
        client = require_gateway()
        ours = url_path_join(self.base_url, "sparkgate/sessions", session_id, "ui")
        if not path:
            self.redirect(ours + "/" + (f"?{self.request.query}" if self.request.query else ""))
            return
        theirs = f"/api/sparkgate/sessions/{session_id}/ui"
        relay = _Relay(self, theirs=theirs, ours=ours)
        request = gateway_request(
            f"api/sparkgate/sessions/{session_id}/ui{path}",
            header_callback=relay.on_header_line,
            streaming_callback=relay.on_chunk,
            decompress_response=True,
        )
        # Jupyter's own token (a browser that signed in with ?token=) is not the gateway's business.
        query = [(k, v) for k, v in parse_qsl(self.request.query, keep_blank_values=True) if k != "token"]
        if query:
            request.url = httputil.url_concat(request.url, query)
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 599 and relay.started:
            # The browser went away mid-body (on_chunk stopped the fetch) or the UI broke it off.
            self.request.connection.close()
            return
        if response.code == 599:
            reason = scrub(str(response.error)) if response.error else "no response"
            raise web.HTTPError(503, f"sparkgate at {client.url} did not answer: {reason}")
        remember_cookies(response.headers)
        relay.finish()


class _Relay:
    """Copies the gateway's answer to the browser as it arrives."""

    def __init__(self, handler: JupyterHandler, *, theirs: str, ours: str) -> None:
        self.handler = handler
        self.theirs = theirs
        self.ours = ours
        self.headers = httputil.HTTPHeaders()
        self.status: int | None = None
        self.started = False
        self.rewrite = False
        self.buffered: list[bytes] = []

    def on_header_line(self, line: str) -> None:
        if line.startswith("HTTP/"):
            # A new response (the first, or the final one after a 100 Continue).
            self.status = httputil.parse_response_start_line(line.strip()).code
            self.headers = httputil.HTTPHeaders()
        elif line.strip():
            self.headers.parse_line(line)
        elif self.status is not None and self.status >= 200:
            self._start()

    def _start(self) -> None:
        if self.started:
            return
        self.started = True
        h = self.handler
        h.set_status(self.status or 502)
        h.clear_header("Content-Type")
        for name in _KEPT_HEADERS:
            value = self.headers.get(name)
            if value is None:
                continue
            if name == "Location":
                value = value.replace(self.theirs, self.ours, 1) if value.startswith(self.theirs) else value
            h.set_header(name, value)
        content_type = self.headers.get("Content-Type", "")
        self.rewrite = any(content_type.startswith(t) for t in _REWRITTEN_TYPES)
        h.set_header("X-Content-Type-Options", "nosniff")

    def on_chunk(self, chunk: bytes) -> None:
        self._start()
        if self.rewrite:
            self.buffered.append(chunk)
            return
        stream = getattr(self.handler.request.connection, "stream", None)
        if stream is not None and stream.closed():
            # Raising here ends the upstream fetch: nothing keeps reading for a browser that left.
            raise StreamClosedError()
        self.handler.write(chunk)
        self.handler.flush().add_done_callback(_ignore_closed)

    def finish(self) -> None:
        self._start()
        if self.rewrite:
            body = b"".join(self.buffered).replace(self.theirs.encode(), self.ours.encode())
            self.handler.finish(body)
        else:
            self.handler.finish()




def _ignore_closed(future) -> None:
    """A flush to a browser that left fails; the next chunk notices and stops the fetch."""
    future.exception()
