"""Jupyter Server 2 with TCP_NODELAY on kernel websockets: the bench's experiment, nothing else.

Tornado turns Nagle's algorithm back on when the websocket upgrade response is finished
(tornado/http1connection.py, `_finish_request`: `self.stream.set_nodelay(False)`), and Jupyter
Server (1.x and 2.x alike) never calls `WebSocketHandler.set_nodelay(True)`. A reply made of
several small websocket frames (status busy, execute_input, execute_result, execute_reply,
status idle) then waits for the client's delayed ACK (40 ms on Linux) before the tail goes out.
This wrapper only adds `self.set_nodelay(True)` when a kernel websocket opens
(`KernelWebsocketHandler.open`, jupyter_server/services/kernels/websocket.py), then runs
jupyter_server.
"""
import sys

from jupyter_server.serverapp import main
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

_open = KernelWebsocketHandler.open


def open_with_nodelay(self, *args, **kwargs):
    self.set_nodelay(True)
    return _open(self, *args, **kwargs)


KernelWebsocketHandler.open = open_with_nodelay

if __name__ == "__main__":
    sys.exit(main())
