"""warpnet: image classification with neural networks, every step visible.

Sub-packages: ``warpnet.nn`` (layers, losses, penalties, gradcheck), ``warpnet.optim``,
``warpnet.train``, ``warpnet.data``, ``warpnet.features``, ``warpnet.io``, ``warpnet.viz``.
The scikit-learn estimators are importable from the top level; nothing heavy is imported until
it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

# The one place the version is written: pyproject.toml reads it (dynamic version), `warpnet
# --version` prints it, CHANGELOG.md says what each version changed.
__version__ = "0.2.0.dev0"

_LAZY = {
    "LateFusion": "warpnet.estimators",
    "LinearClassifier": "warpnet.estimators",
    "MLPClassifier": "warpnet.estimators",
    "MLPRegressor": "warpnet.estimators",
    "WiredClassifier": "warpnet.estimators",
}
_SUBMODULES = {"nn", "optim", "train", "data", "features", "io", "viz", "backend",
               "estimators", "autograd"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"warpnet.{name}")
    raise AttributeError(f"module 'warpnet' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
