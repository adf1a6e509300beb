"""``warpnet figures [NAME ...] --out DIR``: the lecture's pictures, drawn from real runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import _args

NAME = "figures"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(NAME, help="draw the lecture's figures as PNG files",
                       description="Write each named figure (all when none is named) as "
                       "DIR/NAME.png; deterministic for a seed.")
    p.add_argument("names", nargs="*", metavar="NAME", help="figures to draw (default: all)")
    p.add_argument("--out", type=Path, default=Path("figures"), help="output folder (default: figures)")
    p.add_argument("--data", help="cifar10:PATH for the templates figure (default: digits)")
    p.add_argument("--run", type=Path, help="a run folder of 'warpnet train' for the training figure")
    p.add_argument("--seed", type=_args.non_negative_int, default=0, help="default: 0")
    p.add_argument("--animate", action="store_true", help="also write the space-warp animation")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..viz import make_figures

    make_figures(args.names or None, args.out, data=args.data, run_dir=args.run, seed=args.seed,
                 animate=args.animate, log=print)
    return 0
