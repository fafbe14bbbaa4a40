"""jupyterlab_sparkgate: a Jupyter Server extension plus a prebuilt JupyterLab extension for sparkgate.

Jupyter Server's gateway mode (``--gateway-url``) swaps in gateway-backed kernel, kernelspec and
session managers and proxies the kernel websocket, but it does not proxy terminals. This server
extension proxies sparkgate's terminals API, terminal websocket, per-session executors and Spark UI
under ``{base_url}sparkgate/``, with the credentials of the server's ``GatewayClient``; the lab
extension opens Spark shells through it and shows the notebook's Spark session in the status bar.
"""

try:
    from ._version import __version__
except ImportError:  # running from a source tree without a build
    __version__ = "dev"

from .routes import setup_routes


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlab-sparkgate"}]


def _jupyter_server_extension_points():
    return [{"module": "jupyterlab_sparkgate"}]


def _load_jupyter_server_extension(server_app):
    """Registers the proxy routes; they answer 404 until the server runs with --gateway-url."""
    setup_routes(server_app.web_app)
    from .gateway import gateway_client

    mode = "gateway mode: proxying sparkgate" if gateway_client().gateway_enabled else "not in gateway mode: routes answer 404"
    server_app.log.info("jupyterlab_sparkgate %s loaded (%s)", __version__, mode)
    # Replies of the kernel websockets without the ~40 ms Nagle / delayed-ACK stall (nodelay.py).
    from .nodelay import keep_nodelay_on_kernel_websockets

    patched = keep_nodelay_on_kernel_websockets(server_app.log)
    server_app.log.info("sparkgate: TCP_NODELAY on kernel websockets (%s)", ", ".join(patched))
