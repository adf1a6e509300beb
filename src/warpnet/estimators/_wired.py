"""``WiredClassifier``: ``MLPClassifier``'s training and contract on a randomly wired network."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from ..errors import UsageError
from ..nn import Module
from ._base import COMMON_ATTRIBUTES, COMMON_PARAMETERS, BaseNetworkEstimator
from ._classifier import _loss_names, _NetworkClassifier
from ._params import Interval, NoneValue, Options


@dataclass(frozen=True)
class _GraphParams:
    """A dict of random-graph parameter names to numbers (their ranges are checked at fit)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, numbers.Real) and not isinstance(v, bool)
            for k, v in value.items())

    def describe(self) -> str:
        return "a dict such as {'k': 4, 'p': 0.75} (ws), {'p': 0.2} (er) or {'m': 5} (ba)"


class WiredClassifier(_NetworkClassifier):
    __doc__ = f"""A randomly wired network classifier (``warpnet.nn.randomly_wired``),
    scikit-learn compatible: the training, the losses and the attributes of ``MLPClassifier``.

    The graph and the weights are drawn from ``random_state``: the same seed, the same network.

    Parameters
    ----------
    graph : {{"ws", "er", "ba"}}, default="ws"
        Random-graph family: Watts-Strogatz, Erdos-Renyi or Barabasi-Albert.
    n_nodes : int >= 2, default=32
        Nodes of the random graph; each is ``Linear(ReLU(weighted sum of its inputs))``.
    width : int >= 1, default=64
        Units per node.
    graph_params : dict or None, default=None
        The family's parameters (``k``, ``p`` for ws; ``p`` for er; ``m`` for ba); None: the
        paper's WS(4, 0.75), ER(0.2), BA(5).
    loss : {{"softmax", "svm"}}, default="softmax"
    solver : default="adam"
    learning_rate_init : default=1e-3
{COMMON_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray (n_classes,)
{COMMON_ATTRIBUTES}"""

    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        "graph": [Options(lambda: nn.GRAPHS.names())],
        "n_nodes": [Interval(int, 2, None, "left")],
        "width": [Interval(int, 1, None, "left")],
        "graph_params": [NoneValue(), _GraphParams()],
        "loss": [Options(_loss_names)],
    }

    def __init__(self, graph: str = "ws", n_nodes: int = 32, width: int = 64,
                 graph_params: dict[str, float] | None = None, loss: str = "softmax", *,
                 alpha: float = 1e-4, penalty: str = "l2", solver: str = "adam",
                 learning_rate: str = "constant", learning_rate_init: float = 1e-3,
                 momentum: float = 0.9, nesterov: bool = True, batch_size: Any = "auto",
                 max_iter: int = 200, tol: float = 1e-4, n_iter_no_change: int = 10,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 warm_start: bool = False, random_state: Any = None, verbose: Any = False,
                 dtype: str | None = None, device: str = "cpu") -> None:
        self.graph = graph
        self.n_nodes = n_nodes
        self.width = width
        self.graph_params = graph_params
        self.loss = loss
        self.alpha = alpha
        self.penalty = penalty
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterov = nesterov
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.device = device

    def _architecture(self) -> tuple[list[int], str, float]:
        # One hidden width per node, so a warm start with another size is refused.
        return [int(self.width)] * int(self.n_nodes), "relu", 0.0

    def _new_network(self, sizes: list[int], activation: str, dropout: float,
                     rng: np.random.Generator, dtype: str) -> Module:
        graph_params: dict[str, Any] = dict(self.graph_params or {})
        try:
            return nn.randomly_wired(sizes[0], sizes[-1], self.graph, n_nodes=int(self.n_nodes),
                                     width=int(self.width), seed=rng, dtype=dtype,
                                     **graph_params)
        except ValueError as exc:
            raise UsageError(f"{type(self).__name__}(graph={self.graph!r}, n_nodes="
                             f"{self.n_nodes}, graph_params={self.graph_params!r}): {exc}") from None


__all__ = ["WiredClassifier"]
