"""Image augmentation inside the trainer: exact mirrors, documented shifts and cutout, same seed
same batches, bit-identical resume, refusal without an image shape."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet import nn
from warpnet.errors import UsageError
from warpnet.train import Trainer
from warpnet.train.augment import Augmentation, parse_augment

from .test_checkpoint import assert_same_run


def _images(n=5, H=4, W=6, C=3, seed=0):
    return np.random.default_rng(seed).uniform(1, 2, size=(n, H, W, C)).astype(np.float32)


def test_flip_is_exactly_a_mirror():
    img = _images()
    out = Augmentation((4, 6, 3), flip=True)(img.reshape(5, -1), np.random.default_rng(1))
    out = out.reshape(img.shape)
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, img, strict=True)]
    kept = [np.array_equal(o, i) for o, i in zip(out, img, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    many = Augmentation((4, 6, 3))(np.tile(img[:1].reshape(1, -1), (200, 1)), np.random.default_rng(2))
    n_flipped = sum(np.array_equal(m.reshape(4, 6, 3), img[0, :, ::-1]) for m in many)
    assert 60 < n_flipped < 140


@given(st.integers(1, 3), st.integers(0, 2**31))
@settings(max_examples=25, deadline=None)
def test_shift_keeps_shape_and_pads_with_zeros(s, seed):
    img = _images(n=3, H=5, W=5, C=2, seed=seed % 100)
    out = Augmentation((5, 5, 2), flip=False, shift=s)(img.reshape(3, -1), np.random.default_rng(seed))
    assert out.shape == (3, 50) and out.dtype == np.float32
    padded = np.pad(img, ((0, 0), (s, s), (s, s), (0, 0)))
    for o, p in zip(out.reshape(3, 5, 5, 2), padded, strict=True):
        # the output is one 5x5 window of the zero-padded image
        windows = [p[dy:dy + 5, dx:dx + 5] for dy in range(2 * s + 1) for dx in range(2 * s + 1)]
        assert any(np.array_equal(o, w) for w in windows)


def test_cutout_zeroes_one_square():
    img = _images(n=50, H=8, W=8, C=1)
    out = Augmentation((8, 8), flip=False, cutout=3)(img.reshape(50, -1), np.random.default_rng(0))
    out = out.reshape(50, 8, 8)
    for o, i in zip(out, img[..., 0], strict=True):
        zero = o == 0
        assert 1 <= zero.sum() <= 9
        ys, xs = np.nonzero(zero)
        assert ys.max() - ys.min() < 3 and xs.max() - xs.min() < 3
        np.testing.assert_array_equal(o[~zero], i[~zero])


def test_parse_and_refusals():
    aug = parse_augment("flip, shift=4,cutout=8", (32, 32, 3))
    assert aug == Augmentation((32, 32, 3), flip=True, shift=4, cutout=8)
    assert parse_augment(aug.spec(), (32, 32, 3)) == aug
    assert parse_augment("none", None) is None
    with pytest.raises(UsageError, match="image shape"):
        parse_augment("flip", None)
    with pytest.raises(UsageError, match="augment item"):
        parse_augment("rotate=3", (4, 4))
    with pytest.raises(UsageError, match="image_shape"):
        Augmentation((4, 0))
    with pytest.raises(ValueError, match=r"\(n, 48\)"):
        Augmentation((4, 4, 3))(np.ones((2, 12), np.float32), np.random.default_rng(0))


def _data():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 90)
    X = (rng.normal(size=(90, 4, 4, 3)) + y[:, None, None, None]).reshape(90, -1).astype(np.float32)
    return X, y


def _trainer(epochs, folder=None, seed=1):
    model = nn.mlp([48, 16, 3], norm="batch", rng=0)
    return Trainer(model, "softmax", "sgd", lr=0.05, momentum=0.9, batch_size=16, epochs=epochs,
                   seed=seed, checkpoint_dir=folder, verbose=0, augment="flip,shift=1,cutout=2",
                   image_shape=(4, 4, 3))


def test_same_seed_same_batches_and_resume_bit_identical(tmp_path):
    X, y = _data()
    seen = []

    class Record:
        def on_after_backward(self, trainer):
            seen.append(trainer.step.scores.copy())

    a, b = _trainer(3), _trainer(3)
    b.callbacks = ()
    a._after_backward = [Record()]
    a.fit(X, y)
    first = list(seen)
    seen.clear()
    b._after_backward = [Record()]
    b.fit(X, y)
    assert all(np.array_equal(p, q) for p, q in zip(first, seen, strict=True))
    assert_same_run(a, b)
    other = _trainer(3, seed=2)
    other.fit(X, y)
    assert not np.array_equal(other.model.parameters()[0].value, a.model.parameters()[0].value)

    straight = _trainer(4, tmp_path / "a")
    straight.fit(X, y, validation=(X, y))
    _trainer(2, tmp_path / "b").fit(X, y, validation=(X, y))
    resumed = _trainer(4, tmp_path / "b")
    resumed.fit(X, y, validation=(X, y), resume=True)
    assert_same_run(straight, resumed)


def test_trainer_refuses_augmentation_without_images():
    with pytest.raises(UsageError, match="image shape"):
        Trainer(nn.mlp([48, 3]), augment="flip", verbose=0)
    with pytest.raises(UsageError, match="image_shape"):
        Trainer(nn.mlp([50, 3]), augment="flip", image_shape=(4, 4, 3), verbose=0)
