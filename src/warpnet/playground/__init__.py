"""The playground: a local web page that trains a warpnet MLP on 2-D points and shows it warp space.

``serve(host="127.0.0.1", port=8000, open_browser=False)`` runs it (blocking) and prints the URL;
``create_app()`` returns the ASGI app itself.  Needs the ``playground`` extra (starlette, uvicorn,
websockets), which is imported only when the server is created.
"""

from __future__ import annotations

from typing import Any


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> None:
    """Run the playground web server until interrupted; see :func:`warpnet.playground.server.serve`."""
    from .server import serve as _serve

    _serve(host=host, port=port, open_browser=open_browser)


def create_app(**kwargs: Any) -> Any:
    """The playground's Starlette app; see :func:`warpnet.playground.server.create_app`."""
    from .server import create_app as _create_app

    return _create_app(**kwargs)


__all__ = ["create_app", "serve"]
