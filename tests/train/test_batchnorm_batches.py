"""A model with BatchNorm1d and a last minibatch of one sample: the trainer drops that minibatch
(as PyTorch's ``drop_last``), the sample is seen in other epochs, and resume stays exact."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn
from warpnet.errors import UsageError
from warpnet.train import Trainer

from .test_checkpoint import assert_same_run


class Recorder(nn.Module):
    """Passes its input through and records the first column of every training batch."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[np.ndarray] = []

    def forward(self, x):
        if self.training:
            self.seen.append(np.array(x[:, 0]))
        return x

    def backward(self, dout, need_dx=True):
        return dout


def _bn_net(recorder: nn.Module | None = None) -> nn.Sequential:
    layers = [] if recorder is None else [recorder]
    return nn.Sequential(*layers, nn.Linear(3, 8, rng=0), nn.BatchNorm1d(8), nn.ReLU(),
                         nn.Linear(8, 2, rng=1))


def _data(n: int = 21):
    X = np.zeros((n, 3), np.float32)
    X[:, 0] = np.arange(n)  # the first column names the sample
    X[:, 1:] = np.random.default_rng(0).standard_normal((n, 2))
    return X, (X[:, 1] > 0).astype(np.int64)


def test_last_minibatch_of_one_is_dropped_and_the_sample_seen_later():
    X, y = _data(21)  # 21 = 2 * 10 + 1
    rec = Recorder()
    Trainer(_bn_net(rec), "softmax", "sgd", lr=0.1, batch_size=10, epochs=4, verbose=0).fit(X, y)
    assert [len(b) for b in rec.seen] == [10, 10] * 4
    epochs = [np.concatenate(rec.seen[2 * e:2 * e + 2]) for e in range(4)]
    left_out = set()
    for seen in epochs:
        assert len(set(seen.tolist())) == 20  # no sample twice in an epoch
        left_out |= set(range(21)) - set(seen.astype(int).tolist())
    assert len(left_out) > 1  # a different sample waits each epoch
    assert set(np.concatenate(epochs).astype(int).tolist()) == set(range(21))


def test_models_without_batchnorm_keep_the_last_sample():
    X, y = _data(21)
    rec = Recorder()
    model = nn.Sequential(rec, nn.Linear(3, 2, rng=0))
    Trainer(model, "softmax", "sgd", lr=0.1, batch_size=10, epochs=1, verbose=0).fit(X, y)
    assert [len(b) for b in rec.seen] == [10, 10, 1]


def test_resume_is_exact_when_a_sample_is_dropped(tmp_path):
    X, y = _data(41)  # batches of 20, 20, (1 dropped)

    def make(epochs, folder):
        return Trainer(_bn_net(), "softmax", "adamw", lr=0.01, batch_size=20, epochs=epochs,
                       seed=3, checkpoint_dir=folder, verbose=0)

    straight = make(4, tmp_path / "a")
    straight.fit(X, y)
    make(2, tmp_path / "b").fit(X, y)
    resumed = make(4, tmp_path / "b")
    resumed.fit(X, y, resume=True)
    assert_same_run(straight, resumed)


@pytest.mark.parametrize("n, batch_size", [(20, 1), (1, 8)])
def test_minibatches_of_one_sample_are_refused(n, batch_size):
    X, y = _data(n)
    trainer = Trainer(_bn_net(), "softmax", "sgd", batch_size=batch_size, epochs=1, verbose=0)
    with pytest.raises(UsageError, match="batch_size"):
        trainer.fit(X, y)


def test_batchnorm_itself_refuses_a_training_batch_of_one():
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match="at least 2 samples in training mode"):
        bn.forward(np.ones((1, 4), np.float32))
    bn.eval()
    assert bn.forward(np.ones((1, 4), np.float32)).shape == (1, 4)
