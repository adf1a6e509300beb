"""Gradient clipping, EMA of the weights, warm-up and label smoothing in the Trainer; exact resume."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn
from warpnet.errors import UsageError
from warpnet.train import Trainer
from warpnet.train.regularize import WeightEMA, clip_grad_norm

from .test_checkpoint import assert_same_run

torch = pytest.importorskip("torch")


def test_clip_grad_norm_equals_torch():
    rng = np.random.default_rng(0)
    model = nn.mlp([4, 6, 3], dtype="float64", rng=0)
    tensors = []
    for p in model.parameters():
        p.grad = rng.normal(size=p.shape) * 3
        tensors.append(torch.tensor(p.value, requires_grad=True))
        tensors[-1].grad = torch.tensor(p.grad.copy())
    total = clip_grad_norm(model.parameters(), 0.5)
    ref = torch.nn.utils.clip_grad_norm_(tensors, 0.5)
    assert abs(total - ref.item()) < 1e-12
    for p, t in zip(model.parameters(), tensors, strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(model.parameters(), 0.0)


def test_ema_formula_and_swap():
    model = nn.mlp([2, 2], dtype="float64", rng=0)
    w0 = model.parameters()[0].value.copy()
    ema = WeightEMA(model, 0.9)
    model.parameters()[0].value[...] += 1.0
    ema.update(model.parameters())
    np.testing.assert_allclose(ema.shadow[0], w0 + 0.1)
    ema.swap(model)
    np.testing.assert_allclose(model.parameters()[0].value, w0 + 0.1)
    ema.swap(model)
    np.testing.assert_allclose(model.parameters()[0].value, w0 + 1.0)
    with pytest.raises(ValueError, match="decay"):
        WeightEMA(model, 1.0)


def _trainer(small_mlp, epochs, folder, **extra):
    return Trainer(small_mlp(), "softmax", "adamw", lr=0.01, weight_decay=0.05, reg=1e-3,
                   batch_size=32, epochs=epochs, seed=5, checkpoint_dir=folder, verbose=0,
                   schedule="cosine", warmup=1, clip_norm=1.0, ema=0.9, label_smoothing=0.1,
                   **extra)


def test_resume_bit_identical_with_every_option(blobs, small_mlp, tmp_path):
    X, y, Xv, yv = blobs
    straight = _trainer(small_mlp, 4, tmp_path / "a")
    straight.fit(X, y, validation=(Xv, yv))
    _trainer(small_mlp, 2, tmp_path / "b").fit(X, y, validation=(Xv, yv))
    resumed = _trainer(small_mlp, 4, tmp_path / "b")
    resumed.fit(X, y, validation=(Xv, yv), resume=True)
    assert_same_run(straight, resumed)
    assert straight.history.records[0]["lr"] == pytest.approx(0.005)
    assert straight.evaluate(Xv, yv)["accuracy"] > 0.8


def test_ema_weights_are_left_in_the_model(blobs, small_mlp):
    X, y, _, _ = blobs
    t = Trainer(small_mlp(), "softmax", "sgd", lr=0.05, epochs=2, verbose=0, ema=0.5)
    t.fit(X, y)
    for p, s in zip(t.model.parameters(), t.ema.shadow, strict=True):
        assert not np.array_equal(p.value, s)  # the model holds the average, the shadow the last


@pytest.mark.parametrize("kwargs, match", [
    (dict(label_smoothing=1.0), "label_smoothing"),
    (dict(label_smoothing=0.1, loss="svm"), "label_smoothing"),
    (dict(clip_norm=0.0), "clip_norm"),
    (dict(ema=1.0), "ema"),
    (dict(warmup=2), "warmup"),
    (dict(warmup=20, schedule="cosine"), "warmup"),
])
def test_bad_settings(small_mlp, kwargs, match):
    loss = kwargs.pop("loss", "softmax")
    with pytest.raises(UsageError, match=match):
        Trainer(small_mlp(), loss, "sgd", epochs=10, verbose=0, **kwargs)
