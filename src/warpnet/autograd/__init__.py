"""Array-level automatic differentiation: write a loss as one NumPy-like expression of
``Tensor``s, call ``backward()``, read every ``.grad``, and ``draw`` the graph that was recorded.

Public names: ``Tensor`` (``.value``, ``.grad``, ``backward()``), the functions ``maximum``,
``exp``, ``log``, ``tanh``, ``sigmoid``; ``draw`` and ``to_dot`` (the recorded graph as a picture
or as Graphviz source); ``Function``, a layer defined by its forward alone that behaves as an
``nn.Module``.
"""

from __future__ import annotations

from .draw import draw, to_dot
from .function import Function
from .tensor import Tensor, exp, log, maximum, sigmoid, tanh

__all__ = ["Tensor", "maximum", "exp", "log", "tanh", "sigmoid", "draw", "to_dot", "Function"]
