"""TCP_NODELAY on the kernel websockets of Jupyter Server, so replies are not held back by Nagle.

Tornado turns Nagle's algorithm back on when it finishes the websocket upgrade response
(``HTTP1Connection._finish_request``: ``self.stream.set_nodelay(False)``) and Jupyter Server never
calls ``WebSocketHandler.set_nodelay(True)``. A cell's reply is several small websocket frames
(status busy, execute_input, execute_result, execute_reply, status idle); with Nagle on, the tail
waits for the browser's delayed ACK (40 ms on Linux) before it leaves: ~40 ms per cell for every
JupyterLab user, in gateway mode and without it.

The change is as narrow as it can be:
- the kernel websocket handler Jupyter Server serves to the browser
  (``jupyter_server.services.kernels.websocket.KernelWebsocketHandler.open``, used in gateway mode
  and without it) sets ``TCP_NODELAY`` on its own connection when it opens;
- in gateway mode, Jupyter Server's websocket to the gateway
  (``jupyter_server.gateway.connections.GatewayWebSocketConnection``) does the same once connected.
Nothing else of the process changes: other websockets and HTTP connections keep tornado's default.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

_MARK = "_sparkgate_nodelay"


def _nodelay_on_client(ws: Any) -> None:
    """TCP_NODELAY on a tornado WebSocketClientConnection (its protocol owns the stream)."""
    protocol = getattr(ws, "protocol", None)
    if protocol is not None:
        protocol.set_nodelay(True)


def keep_nodelay_on_kernel_websockets(log: logging.Logger) -> list[str]:
    """Patch the kernel websocket classes once (safe to call again); returns what was patched."""
    patched: list[str] = []
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

    if not getattr(KernelWebsocketHandler.open, _MARK, False):
        original_open = KernelWebsocketHandler.open

        @functools.wraps(original_open)
        async def open(self: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A001 - tornado's name
            self.set_nodelay(True)
            return await original_open(self, *args, **kwargs)

        setattr(open, _MARK, True)
        KernelWebsocketHandler.open = open  # type: ignore[method-assign]
    patched.append("KernelWebsocketHandler.open")

    try:
        from jupyter_server.gateway.connections import GatewayWebSocketConnection
    except ImportError:  # a Jupyter Server without the gateway websocket connection class
        log.debug("sparkgate: no GatewayWebSocketConnection in this Jupyter Server")
    else:
        if not getattr(GatewayWebSocketConnection._connection_done, _MARK, False):
            original_done = GatewayWebSocketConnection._connection_done

            @functools.wraps(original_done)
            def _connection_done(self: Any, fut: Any) -> Any:
                result = original_done(self, fut)
                if self.ws is not None:
                    _nodelay_on_client(self.ws)
                return result

            setattr(_connection_done, _MARK, True)
            GatewayWebSocketConnection._connection_done = _connection_done  # type: ignore[method-assign]
        patched.append("GatewayWebSocketConnection._connection_done")
    return patched
