"""``warpnet bench``: run the benchmark scripts under ``benchmarks/`` one after another."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError

NAME = "bench"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(NAME, help="run the benchmark scripts",
                       description="Run benchmarks/NAME.py for each NAME (all scripts when none is "
                       "named); each prints its own table.")
    p.add_argument("names", nargs="*", metavar="NAME", help="e.g. cifar10 engine (default: all)")
    p.add_argument("--dir", type=Path, default=Path("benchmarks"),
                   help="folder of the scripts (default: benchmarks)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    folder: Path = args.dir
    if not folder.is_dir():
        raise DataError(f"benchmark folder {str(folder)!r} does not exist (run from the repository "
                        "root or pass --dir)")
    available = {p.stem: p for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")}
    unknown = [n for n in args.names if n not in available]
    if unknown:
        raise UsageError(f"unknown benchmark {', '.join(unknown)}; expected one of: "
                         f"{', '.join(available) or '(none found)'}")
    failed = []
    for name in args.names or list(available):
        print(f"== {name}", flush=True)
        if subprocess.run([sys.executable, str(available[name])], check=False).returncode != 0:
            failed.append(name)
    if failed:
        raise DataError(f"benchmark(s) failed: {', '.join(failed)}")
    return 0
