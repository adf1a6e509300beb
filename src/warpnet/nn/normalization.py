"""Normalisation layers: ``BatchNorm1d`` (over the batch) and ``LayerNorm`` (over the features).

Both standardise, then scale and shift with a learned ``weight`` (gamma) and ``bias`` (beta),
neither of which the weight penalties touch (``regularize=False``, as biases)::

    x_hat = (x - mean) / sqrt(var + eps)        y = weight * x_hat + bias

The backward pass differentiates through the mean and the variance as well (they depend on
every input of the group being normalised); with ``g = dout * weight`` and ``n`` members::

    dx = (n * g - sum(g) - x_hat * sum(g * x_hat)) / (n * sqrt(var + eps))

where the sums run over the group (the batch for ``BatchNorm1d``, the features for ``LayerNorm``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Array, array_namespace
from .layers import _FLOAT_DTYPES, _check_dtype, _check_size
from .module import Module, Parameter, check_float_input

__all__ = ["BatchNorm1d", "LayerNorm"]


def _check_eps(eps: Any) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    return float(eps)


class _Norm(Module):
    """Shared parts: the input check, the affine parameters and the backward formula."""

    def __init__(self, num_features: int, eps: float, dtype: Any) -> None:
        self.num_features = _check_size("num_features", num_features)
        self.eps = _check_eps(eps)
        self.dtype = _check_dtype(dtype)
        ftype = _FLOAT_DTYPES[self.dtype]
        self.weight = Parameter(np.ones(self.num_features, ftype), regularize=False)
        self.bias = Parameter(np.zeros(self.num_features, ftype), regularize=False)
        self._x_hat: Array | None = None
        self._inv_std: Array | None = None

    def _check_input(self, x: Array) -> None:
        check_float_input(self, x)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r} expects input of shape (N, {self.num_features}), "
                             f"got {tuple(x.shape)}")

    def _affine_backward(self, dout: Array, need_dx: bool) -> Array | None:
        """Parameter gradients; returns ``g = dout * weight`` (the gradient w.r.t. x_hat) or None."""
        x_hat = self._x_hat
        if x_hat is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        if tuple(dout.shape) != tuple(x_hat.shape):
            raise ValueError(f"{self!r}: dout must have shape {tuple(x_hat.shape)}, "
                             f"got {tuple(dout.shape)}")
        xp = array_namespace(dout)
        self.weight.accumulate(xp.sum(dout * x_hat, axis=0))  # dgamma += sum(dout * x_hat): (F,)
        self.bias.accumulate(xp.sum(dout, axis=0))  # dbeta += sum(dout): (F,)
        return dout * self.weight.value if need_dx else None

    def _reset_buffers(self) -> None:
        self._x_hat = self._inv_std = None

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


class BatchNorm1d(_Norm):
    """Batch normalisation (Ioffe & Szegedy, 2015) of (N, F) inputs, feature by feature.

    Training mode normalises with the minibatch's mean and (biased) variance and updates the
    running statistics as PyTorch does::

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)

    Eval mode normalises with ``running_mean`` and ``running_var`` (then an affine map of x).

    Args:
        num_features: F, the width of the input.
        momentum: weight of the new batch in the running statistics, in [0, 1].
        eps: added to the variance, > 0.
        dtype: "float32" (default) or "float64".

    Shape:
        x: (N, F) -> y: (N, F); ``weight``, ``bias``, ``running_mean``, ``running_var``: (F,).

    Raises:
        ValueError: num_features not a positive integer, eps <= 0, momentum outside [0, 1]; in
            forward, a width other than F or (training mode) a batch of one sample.
        TypeError: a non-floating-point input.
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: Any = "float32") -> None:
        super().__init__(num_features, eps, dtype)
        if (isinstance(momentum, bool) or not isinstance(momentum, (int, float))
                or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"momentum must be a number in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        ftype = _FLOAT_DTYPES[self.dtype]
        self.running_mean: Array = np.zeros(self.num_features, ftype)
        self.running_var: Array = np.ones(self.num_features, ftype)

    def forward(self, x: Array) -> Array:
        self._check_input(x)
        xp = array_namespace(x)
        if self.training:
            n = int(x.shape[0])
            if n < 2:
                raise ValueError(f"{self!r} needs a batch of at least 2 samples in training mode, "
                                 f"got {n} (use eval mode, or a batch_size > 1)")
            mean = xp.mean(x, axis=0)  # (F,)
            xc = x - mean
            var = xp.mean(xc * xc, axis=0)  # biased variance: (F,)
            self.update_running_stats(mean, var, n)
        else:
            xc = x - self.running_mean
            var = self.running_var
        self._inv_std = 1.0 / xp.sqrt(var + self.eps)  # (F,)
        self._x_hat = xc * self._inv_std  # (N, F)
        return self._x_hat * self.weight.value + self.bias.value

    def update_running_stats(self, mean: Array, var: Array, n: int) -> None:
        """Move the running statistics towards a training batch's ``mean`` and biased ``var``
        (F,) of ``n`` samples (the unbiased variance goes into ``running_var``, as PyTorch)."""
        m = self.momentum
        self.running_mean = (1.0 - m) * self.running_mean + m * mean
        self.running_var = (1.0 - m) * self.running_var + m * var * (n / (n - 1))

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        g = self._affine_backward(dout, need_dx)
        if g is None:
            return None
        if not self.training:  # fixed statistics: an affine map
            return g * self._inv_std
        xp = array_namespace(g)
        x_hat = self._x_hat
        n = g.shape[0]
        return (n * g - xp.sum(g, axis=0) - x_hat * xp.sum(g * x_hat, axis=0)) * (self._inv_std / n)

    def get_config(self) -> dict[str, Any]:
        return {"type": "BatchNorm1d", "num_features": self.num_features, "momentum": self.momentum,
                "eps": self.eps, "dtype": self.dtype}

    def extra_repr(self) -> str:
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}"


class LayerNorm(_Norm):
    """Layer normalisation (Ba, Kiros & Hinton, 2016): each sample standardised over its F
    features, the same in training and eval mode (no running statistics).

    Args:
        num_features: F, the width of the input (PyTorch's ``normalized_shape``).
        eps: added to the variance, > 0.
        dtype: "float32" (default) or "float64".

    Shape:
        x: (N, F) -> y: (N, F); ``weight``, ``bias``: (F,).

    Raises:
        ValueError: num_features not a positive integer, eps <= 0, a width other than F.
        TypeError: a non-floating-point input.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, dtype: Any = "float32") -> None:
        super().__init__(num_features, eps, dtype)

    def forward(self, x: Array) -> Array:
        self._check_input(x)
        xp = array_namespace(x)
        mean = xp.mean(x, axis=1, keepdims=True)  # (N, 1)
        xc = x - mean
        var = xp.mean(xc * xc, axis=1, keepdims=True)  # (N, 1)
        self._inv_std = 1.0 / xp.sqrt(var + self.eps)
        self._x_hat = xc * self._inv_std  # (N, F)
        return self._x_hat * self.weight.value + self.bias.value

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        g = self._affine_backward(dout, need_dx)
        if g is None:
            return None
        xp = array_namespace(g)
        x_hat = self._x_hat
        f = g.shape[1]
        return (f * g - xp.sum(g, axis=1, keepdims=True)
                - x_hat * xp.sum(g * x_hat, axis=1, keepdims=True)) * (self._inv_std / f)

    def get_config(self) -> dict[str, Any]:
        return {"type": "LayerNorm", "num_features": self.num_features, "eps": self.eps,
                "dtype": self.dtype}
