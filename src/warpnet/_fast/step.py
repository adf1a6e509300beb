"""The compiled training step: the plain step's arithmetic with buffers, BLAS and compiled loops.

``compile_step(model, loss, optimizer, penalty)`` returns a ``CompiledStep`` for what it knows --
a ``Sequential`` of ``Linear``, ``Dropout``, warpnet's own activations and normalisation layers
(``BatchNorm1d`` in training mode as compiled loops, else their plain forward/backward), with
parameters that
are C-contiguous NumPy float32/float64 arrays; softmax cross-entropy, SVM or MSE; ``SGD``,
``RMSProp``, ``Adam`` or ``AdamW`` (not with an L2 penalty); no penalty, ``L2`` or ``L1`` -- and
None for anything else, which then runs the plain step (``warpnet.train.step``).  It computes the
same numbers as the plain step (tests hold the two equal) in fewer passes over memory:

- forward: each ``Linear`` writes ``x @ W`` into a buffer kept from step to step
  (``np.matmul(..., out=)``), a ReLU after it clips that buffer in place;
- BatchNorm1d (training mode): statistics, ``x_hat`` and the affine map in one compiled loop
  into buffers (``fused.batchnorm_forward``), and its backward in another;
- softmax cross-entropy: the loss's own compiled loop over the rows (``nn.SoftmaxCrossEntropy``
  takes ``fused.softmax_cross_entropy`` on NumPy scores);
- backward: ``dW = x.T @ dout`` straight into the gradient's buffer, ``db`` by one reduction,
  ``dx = dout @ W.T`` into a buffer, ReLU's ``dout * (y > 0)`` as one compiled loop in place;
  the first layer skips ``dx``;
- update: one compiled pass per parameter (``fused.sgd`` / ``rmsprop`` / ``adam``, split over
  BLAS's threads for a large array) which also adds the L2 gradient ``2 * reg * W`` and sums
  ``W**2`` for the penalty's value as it reads each weight.

Where numba is missing the update runs the optimizer's plain rule, with the same buffers.
With an L2 penalty, ``.grad`` holds the data gradient after ``gradients`` and the update adds the
penalty's part (as PyTorch's ``weight_decay``); everything else is as in the plain step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn, optim
from ..backend import Array
from . import fused

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# Activations of warpnet itself: their plain ``forward``/``backward`` are known to keep what
# they need (the compiled step calls them as they are; ReLU it runs in place).
_KNOWN_ACTIVATIONS = (nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.ELU, nn.GELU, nn.SiLU)
# Layers with parameters that the compiled step runs through their plain forward/backward (it
# clears their gradients first and leaves their parameters to the optimizer's loops).
_KNOWN_NORMS = (nn.BatchNorm1d, nn.LayerNorm)
_KNOWN_OPTIMIZERS = (optim.SGD, optim.RMSProp, optim.Adam, optim.AdamW)
_KNOWN_LOSSES = (nn.SoftmaxCrossEntropy, nn.MulticlassSVM, nn.MSE)
_KNOWN_PENALTIES = (nn.L2, nn.L1)


def reused_buffer(buffers: dict[Any, np.ndarray], key: Any, shape: tuple[int, ...],
                  dtype: np.dtype) -> np.ndarray:
    """The array kept in ``buffers`` for ``(key, shape)``, made (not initialised) on first use: the
    compiled steps write their products and passes into arrays kept from step to step."""
    buf = buffers.get((key, shape))
    if buf is None:
        buf = buffers[key, shape] = np.empty(shape, dtype)
    return buf


def compile_step(model: nn.Module, loss: nn.Loss, optimizer: optim.Optimizer,
                 penalty: nn.Penalty | None = None) -> CompiledStep | None:
    """A ``CompiledStep`` for this model, loss, optimizer and penalty, or None where it does not
    apply (an unknown module, loss, optimizer or penalty type, parameters that are not
    C-contiguous NumPy float32/float64 arrays of one dtype, or an optimizer that does not update
    exactly the model's parameters)."""
    if type(model) is not nn.Sequential:
        return None
    for layer in model.layers:
        if type(layer) not in (nn.Linear, nn.Dropout, nn.ReLU, *_KNOWN_ACTIVATIONS, *_KNOWN_NORMS):
            return None
    if not compilable_training(model, loss, optimizer, penalty):
        return None
    return CompiledStep(model, loss, optimizer, penalty)


def compilable_training(model: nn.Module, loss: nn.Loss, optimizer: optim.Optimizer,
                        penalty: nn.Penalty | None) -> bool:
    """Whether the compiled loops know this loss, optimizer and penalty, and the model's
    parameters are distinct C-contiguous writable NumPy arrays of one float dtype that the
    optimizer updates, all of them and in order: what every compiled step needs besides its
    own modules."""
    if type(loss) not in _KNOWN_LOSSES or type(optimizer) not in _KNOWN_OPTIMIZERS:
        return False
    if type(optimizer) is optim.AdamW and type(penalty) is nn.L2 and penalty.strength:
        return False  # the L2 value would be summed after the decoupled decay
    if penalty is not None and type(penalty) not in _KNOWN_PENALTIES:
        return False
    params = model.parameters()
    if not params or len({id(p) for p in params}) != len(params) \
            or [id(p) for p in optimizer.params] != [id(p) for p in params]:
        return False
    dtype = params[0].value.dtype
    return all(type(p.value) is np.ndarray and p.value.dtype == dtype and dtype in _FLOATS
               and p.value.flags.c_contiguous and p.value.flags.writeable for p in params)


class CompiledStep:
    """One training step of a ``Sequential`` on NumPy (see the module's notes); built by
    ``compile_step``.  Same interface as ``warpnet.train.step.Step``: ``gradients``, ``update``
    and ``__call__``."""

    compiled = True

    def __init__(self, model: nn.Sequential, loss: nn.Loss, optimizer: optim.Optimizer,
                 penalty: nn.Penalty | None) -> None:
        self._start(model, loss, optimizer, penalty)
        self._grads = [np.zeros_like(p.value) for p in self.params]
        self._index = {id(p): k for k, p in enumerate(self.params)}  # a parameter's gradient buffer
        self._first = model.layers[0] if model.layers else None
        self._fused_norms: set[int] = set()  # the BatchNorm1d layers this step ran compiled

    def _start(self, model: nn.Module, loss: nn.Loss, optimizer: optim.Optimizer,
               penalty: nn.Penalty | None) -> None:
        """What every compiled step keeps: its objects, the plain step for inputs it does not
        take, the parameters' dtype and the buffers reused across steps."""
        from ..train.step import Step  # the plain step, for inputs this one does not take

        self.model, self.loss, self.optimizer, self.penalty = model, loss, optimizer, penalty
        self.params = model.parameters()
        self._plain = Step(model, loss, optimizer, penalty)
        self._dtype = self.params[0].value.dtype
        self._buffers: dict[Any, np.ndarray] = {}
        self._used_plain = False
        self._penalty_value = 0.0
        self.scores: Array | None = None

    # -- gradients ---------------------------------------------------------------------------
    def _input_width(self) -> int | None:
        """The width of the inputs the compiled loops take (None: none; the first layer is not a
        ``Linear``)."""
        first = self._first
        return first.in_features if type(first) is nn.Linear else None

    def _accepts(self, x: Any) -> bool:
        width = self._input_width()
        return (type(x) is np.ndarray and x.dtype == self._dtype and x.ndim == 2
                and x.flags.c_contiguous and x.shape[0] > 0 and width is not None
                and x.shape[1] == width)

    def _buffer(self, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        return reused_buffer(self._buffers, key, shape, self._dtype)

    def gradients(self, x: Array, y: Array, sample_weight: Array | None = None) -> tuple[Array, Array]:
        """Forward, data loss and backward for the batch ``(x, y)``: fills each ``.grad`` with the
        batch's gradient of the data loss and returns ``(loss, scores)`` (a 0-d loss, scores (N,
        C) fresh).  Inputs it does not take (not a C-contiguous 2-D array of the parameters'
        dtype) go through the plain step, which validates them."""
        if not self._accepts(x):
            self._used_plain = True
            return self._plain.gradients(x, y, sample_weight)
        self._used_plain = False
        self.scores = None
        return self._compiled_gradients(x, y, sample_weight)

    def _compiled_gradients(self, x: np.ndarray, y: Array, sample_weight: Array | None
                            ) -> tuple[Array, Array]:
        """``gradients`` for an input the compiled loops take."""
        self._fused_norms.clear()
        assert isinstance(self.model, nn.Sequential)  # compile_step's model (GraphStep has its own)
        layers = self.model.layers
        last = len(layers) - 1
        inputs: list[Array] = []  # what each layer's backward reads: its input (or ReLU's output)
        h = x
        owned = False  # whether h is one of this step's buffers (ReLU may then clip it in place)
        for i, layer in enumerate(layers):
            inputs.append(h)
            if type(layer) is nn.Linear:
                W = layer.weight.value
                out = (np.empty((h.shape[0], W.shape[1]), self._dtype) if i == last
                       else self._buffer(("forward", i), (h.shape[0], W.shape[1])))
                np.matmul(h, W, out=out)
                if layer.bias is not None:
                    out += layer.bias.value
                h, owned = out, True
            elif type(layer) is nn.ReLU:
                h = np.maximum(h, 0, out=h if owned and i < last else None)
                inputs[i] = h  # backward reads the output
                owned = True
            elif type(layer) is nn.BatchNorm1d and layer.training and i < last \
                    and self._batchnorm_forward(i, layer, h):
                h, owned = self._buffers[("forward", i), h.shape], True
            else:
                h, owned = layer.forward(h), False
        scores = self.scores = h if h is not x else np.array(h)
        loss, dscores = self.loss(scores, y, sample_weight=sample_weight)
        self._backward(dscores, inputs)
        self._penalty_value = 0.0
        if self.penalty is not None and type(self.penalty) is not nn.L2:
            self._penalty_value = self.penalty(self.params)  # L1: its gradient into .grad now
        return loss, scores

    def _batchnorm_forward(self, i: int, layer: nn.BatchNorm1d, x: np.ndarray) -> bool:
        """Layer ``i``'s training-mode forward as one compiled loop (``fused.batchnorm_forward``),
        its output in the buffer ``("forward", i)``; the layer keeps ``x_hat`` and ``inv_std`` and
        updates its running statistics as its own forward does.  False: not done."""
        out = self._buffer(("forward", i), x.shape)
        x_hat = self._buffer(("x_hat", i), x.shape)
        stats = fused.batchnorm_forward(x, layer.weight.value, layer.bias.value, layer.eps, x_hat, out)
        if stats is None:
            return False
        mean, var, inv_std = stats
        layer.update_running_stats(mean, var, int(x.shape[0]))
        layer._x_hat, layer._inv_std = x_hat, inv_std
        self._fused_norms.add(i)
        return True

    def _backward(self, dout: Array, inputs: list[Array]) -> None:
        grads = iter(reversed(self._grads))
        params = iter(reversed(self.params))
        owned = False
        assert isinstance(self.model, nn.Sequential)  # compile_step's model
        for i in range(len(self.model.layers) - 1, -1, -1):
            layer = self.model.layers[i]
            if type(layer) is nn.Linear:
                if layer.bias is not None:
                    gb, pb = next(grads), next(params)
                    np.add.reduce(dout, axis=0, out=gb)  # db = sum over the batch: (M,)
                    pb.grad = gb
                gW, pW = next(grads), next(params)
                np.matmul(inputs[i].T, dout, out=gW)  # dW = x^T dout: (D, M)
                pW.grad = gW
                if i == 0:
                    return
                W = layer.weight.value
                dx = self._buffer(("backward", i), (dout.shape[0], W.shape[0]))
                dout, owned = np.matmul(dout, W.T, out=dx), True  # dx = dout W^T: (N, D)
            elif type(layer) is nn.ReLU:
                if i == 0:
                    return
                compiled = fused.relu_backward(dout, inputs[i], dout if owned else None)
                dout = compiled if compiled is not None else dout * (inputs[i] > 0)
                owned = True
            elif type(layer) is nn.BatchNorm1d and i in self._fused_norms \
                    and self._batchnorm_backward(i, layer, dout):
                if i == 0:
                    return
                dout, owned = self._buffers[("backward", i), dout.shape], True
                next(grads), next(params), next(grads), next(params)
            else:
                own = layer.parameters()  # a normalisation layer's scale and shift
                for p in own:
                    p.zero_grad()
                    next(grads), next(params)
                dout, owned = layer.backward(dout, need_dx=i > 0), False
                if i == 0:
                    return

    def _batchnorm_backward(self, i: int, layer: nn.BatchNorm1d, dout: np.ndarray) -> bool:
        """The backward pass of ``_batchnorm_forward`` (``fused.batchnorm_backward``): the scale's
        and shift's gradients into their buffers, ``dx`` into the buffer ``("backward", i)``
        (none for the first layer).  False: not done (the caller runs the layer's own)."""
        k = self._index[id(layer.weight)]
        gW, gb = self._grads[k], self._grads[k + 1]
        dx = self._buffer(("backward", i), dout.shape) if i > 0 else None
        if not fused.batchnorm_backward(dout, layer._x_hat, layer.weight.value, layer._inv_std,
                                        gW, gb, dx):
            return False
        layer.weight.grad, layer.bias.grad = gW, gb
        return True

    # -- update ------------------------------------------------------------------------------
    def update(self) -> float:
        """The optimizer's step, with the L2 penalty's gradient folded in; returns the penalty's
        value for the weights as the step found them (0.0 without a penalty)."""
        if self._used_plain:
            return self._plain.update()
        l2 = self.penalty.strength if type(self.penalty) is nn.L2 else 0.0
        squares = update_parameters(self.optimizer, 2.0 * l2)
        return l2 * squares if l2 else self._penalty_value

    def __call__(self, x: Array, y: Array, sample_weight: Array | None = None) -> float:
        """``gradients`` then ``update``: the step's loss (data loss + penalty) as a float."""
        loss, _ = self.gradients(x, y, sample_weight)
        return float(loss) + self.update()


def fused_step(opt: optim.Optimizer) -> bool:
    """``opt.step()`` as the compiled loops where they know the rule (``SGD``, ``RMSProp``, ``Adam``,
    ``AdamW`` themselves, numba installed): what ``Optimizer.step`` runs on NumPy arrays unless
    ``fused=False``.  Returns False, having done nothing, for any other rule (a subclass may have
    changed the formula), and the optimizer then runs its plain step."""
    if type(opt) not in _KNOWN_OPTIMIZERS or not fused.available():
        return False
    update_parameters(opt)
    return True


def fused_penalty(penalty: nn.Penalty, params: list[nn.Parameter]) -> float | None:
    """``penalty(params)`` as one compiled pass per regularized weight (``L2`` and ``L1``
    themselves, numba installed): what ``Penalty.__call__`` runs on NumPy arrays unless
    ``fused=False``.  Returns the penalty's value, or None, having done nothing, for any other
    penalty (a subclass may have changed the formula); a weight the loop does not take gets the
    formula."""
    if type(penalty) not in _KNOWN_PENALTIES or not fused.available():
        return None
    kind = "l2" if type(penalty) is nn.L2 else "l1"
    value = 0.0
    for p in params:
        if not p.regularize:
            continue
        total = fused.penalty_gradient(kind, p.value, p.grad, penalty.strength)
        if total is None:  # the formula
            penalty.add_gradient([p])
            value += penalty.value([p])
        else:
            value += penalty.strength * total
    return value


def update_parameters(opt: optim.Optimizer, l2_decay: float = 0.0) -> float:
    """``opt.step()`` as compiled loops, with ``l2_decay * w`` added to the gradient of each
    regularized weight (an L2 penalty's ``2 * reg * W``); returns the sum of ``w**2`` over the
    regularized weights before the update (computed only with ``l2_decay``, else 0.0).  Each
    parameter its loop does not take (numba missing, an array it cannot update in place) gets the
    optimizer's plain rule instead."""
    opt.steps += 1
    squares = 0.0
    decoupled = type(opt) is optim.AdamW
    for p, state in zip(opt.params, opt.state, strict=True):
        opt.init_state(p, state)
        if decoupled:  # AdamW: shrink the weight, then Adam's rule from the gradient alone
            if opt.weight_decay and p.regularize:
                p.value *= 1.0 - opt.lr * opt.weight_decay
            decay = l2_decay if p.regularize else 0.0
        else:
            decay = opt.weight_decay + (l2_decay if p.regularize else 0.0)
        found = _compiled_update(opt, p.value, p.grad, state, decay)
        if found is None:  # the plain rule
            if l2_decay and p.regularize:
                found = float(np.sum(np.square(p.value, dtype=np.float64)))
            opt.update(p.value, p.grad + decay * p.value if decay else p.grad, state)
        if p.regularize and found is not None:
            squares += found
    return squares if l2_decay else 0.0


def _compiled_update(opt: optim.Optimizer, w: Any, g: Any, state: dict[str, Array],
                     decay: float) -> float | None:
    """The compiled loop of ``opt``'s rule on one array; None where it does not apply."""
    if type(opt) is optim.SGD:
        return fused.sgd(w, g, state.get("velocity"), opt.lr, opt.momentum, decay, opt.nesterov)
    if type(opt) is optim.RMSProp:
        return fused.rmsprop(w, g, state["square_avg"], opt.lr, opt.decay, opt.eps, decay)
    if type(opt) is optim.Adam or type(opt) is optim.AdamW:
        return fused.adam(w, g, state["exp_avg"], state["exp_avg_sq"], opt.lr, opt.betas, opt.eps,
                          opt.steps, decay)
    return None
