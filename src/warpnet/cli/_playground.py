"""``warpnet playground``: the local web page for training a net on 2-D points."""

from __future__ import annotations

import argparse
from typing import Any

from . import _args, _extras

NAME = "playground"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(NAME, help="start the web playground (blocks; Ctrl-C stops it)",
                       description="Serve the playground page and print its URL.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_args.port, default=8000, help="default: 8000")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    _extras.require("playground", "warpnet playground")
    from ..playground import serve

    serve(host=args.host, port=args.port, open_browser=args.open)
    return 0
