"""Trainer: learning, history, early stopping, schedules, callbacks, inputs, divergence, output."""

from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest

from warpnet import nn, optim
from warpnet.errors import UsageError
from warpnet.train import DIGITS_DEFAULTS, TrainConfig, Trainer, inputs


def weights(model: nn.Module) -> list[np.ndarray]:
    return [p.value.copy() for p in model.parameters()]


# -- learning -----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n_layers", [3, 5])
def test_deep_nets_fit_50_samples_within_20_epochs(n_layers, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((50, 20)).astype(np.float32)
    y = rng.integers(0, 5, 50)  # random labels: only memorization gets them all
    model = nn.mlp([20] + [64] * (n_layers - 1) + [5], rng=seed)
    trainer = Trainer(model, "softmax", "sgd", lr=0.02, momentum=0.9, batch_size=10, epochs=20,
                      seed=seed, verbose=0)
    trainer.fit(X, y)
    assert trainer.evaluate(X, y)["accuracy"] == 1.0


def _digits_split():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    assert sklearn
    d = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(d.data.astype(np.float32), d.target, test_size=0.2,
                                          stratify=d.target, random_state=0)
    # Standardize with statistics of the training split; constant pixels keep scale 1.
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
    std[std < 1e-3] = 1.0
    return (Xtr - mean) / std, ytr, (Xte - mean) / std, yte


@pytest.mark.slow
@pytest.mark.parametrize(("sizes", "minimum"), [([64, 100, 10], 0.97), ([64, 10], 0.95)],
                         ids=["two-layer-relu", "linear-softmax"])
def test_digits_test_accuracy(sizes, minimum):
    Xtr, ytr, Xte, yte = _digits_split()
    trainer = Trainer(nn.mlp(sizes, rng=0), "softmax", verbose=0, **DIGITS_DEFAULTS)
    started = time.perf_counter()
    trainer.fit(Xtr, ytr)
    assert time.perf_counter() - started < 60
    assert trainer.evaluate(Xte, yte)["accuracy"] >= minimum


@pytest.mark.parametrize("optimizer, penalty_name", [("sgd", "l2"), ("adam", "l2"), ("sgd", "l1")])
def test_record_accuracy_and_loss_come_from_the_minibatches(blobs, small_mlp, optimizer, penalty_name):
    # With a vanishing learning rate the weights do not move, so the accuracy and loss gathered
    # from the minibatch scores must equal a full pass of the initial model.  (SGD with L2 takes
    # the penalty's value from its update's pass over the weights; the others compute it apart.)
    X, y, _, _ = blobs
    reg = 1e-2
    model = small_mlp()
    before = Trainer(model, verbose=0).evaluate(X, y)
    r = (lambda w: w ** 2) if penalty_name == "l2" else np.abs
    penalty = reg * sum(float(np.sum(r(p.value.astype(np.float64))))
                        for p in model.parameters() if p.regularize)
    trainer = Trainer(model, "softmax", optimizer, lr=1e-12, reg=reg, penalty=penalty_name,
                      batch_size=64, epochs=1, verbose=0)
    record = trainer.fit(X, y).records[0]
    assert record["train_accuracy"] == pytest.approx(before["accuracy"])
    assert record["loss"] == pytest.approx(before["loss"] + penalty, rel=1e-5)


def test_same_seed_same_weights_other_seed_other_weights(blobs, small_mlp):
    X, y, _, _ = blobs
    runs = []
    for seed in (0, 0, 1):
        trainer = Trainer(small_mlp(dropout=0.3), batch_size=32, epochs=3, seed=seed, verbose=0)
        trainer.fit(X, y)
        runs.append(weights(trainer.model))
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(runs[0], runs[2], strict=True))


def test_float32_stays_float32_and_inputs_are_not_modified(blobs, small_mlp):
    X, y, Xv, yv = blobs
    X64, y_before = X.astype(np.float64), y.copy()
    X64_before = X64.copy()
    trainer = Trainer(small_mlp(), batch_size=32, epochs=2, verbose=0)
    trainer.fit(X64, y, validation=(Xv, yv))
    assert all(p.value.dtype == np.float32 for p in trainer.model.parameters())
    assert trainer.predict_scores(X64).dtype == np.float32
    assert np.array_equal(X64, X64_before) and np.array_equal(y, y_before)


def test_predict_scores_matches_forward_in_eval_mode(blobs, small_mlp):
    X, y, _, _ = blobs
    model = small_mlp(dropout=0.5)
    trainer = Trainer(model, batch_size=32, epochs=1, verbose=0)
    trainer.fit(X, y)
    scores = trainer.predict_scores(X)
    model.eval()
    assert np.allclose(scores, model.forward(X), rtol=1e-6)
    assert scores.shape == (len(X), 3)


def test_regression_has_no_accuracy(small_mlp):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 12)).astype(np.float32)
    target = X[:, :3] @ np.array([[1.0, -2.0, 0.5]]).T.astype(np.float32).reshape(3, 1)
    model = nn.mlp([12, 16, 1], rng=0)
    trainer = Trainer(model, "mse", "sgd", lr=0.01, batch_size=20, epochs=15, verbose=0)
    history = trainer.fit(X, target[:, 0], validation=(X, target))
    assert history.train_accuracy == [None] * 15 and history.val_accuracy == [None] * 15
    assert history.loss[-1] < 0.2 * history.loss[0]
    assert trainer.evaluate(X, target)["accuracy"] is None


def test_sample_weight_zero_ignores_samples(blobs, small_mlp):
    # Weighting a copy of the data by 0 must leave only the original samples' gradient; with
    # batches covering everything at once the result equals training on the original alone.
    X, y, _, _ = blobs
    noise = np.random.default_rng(5).integers(0, 3, len(y))
    X2, y2 = np.concatenate([X, X]), np.concatenate([y, noise])
    w = np.concatenate([np.ones(len(y)), np.zeros(len(y))])
    a = Trainer(small_mlp(), batch_size=len(X2), epochs=5, verbose=0)
    a.fit(X2, y2, sample_weight=w)
    b = Trainer(small_mlp(), batch_size=len(X), epochs=5, verbose=0)
    b.fit(X, y)
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert np.allclose(p.value, q.value, rtol=1e-4, atol=1e-6)


# -- early stopping, schedules, callbacks ---------------------------------------------------------
def test_early_stopping_restores_the_best_weights(blobs, small_mlp):
    X, y, Xv, yv = blobs
    yv_wrong = (yv + 1) % 3  # the better the model learns, the worse it does on these labels

    class Snapshots:
        def __init__(self):
            self.by_epoch = {}

        def on_epoch_end(self, trainer, record):
            self.by_epoch[record["epoch"]] = weights(trainer.model)

    snaps = Snapshots()
    trainer = Trainer(small_mlp(), "softmax", "sgd", lr=0.05, batch_size=32, epochs=30,
                      early_stopping=3, callbacks=[snaps], verbose=0)
    history = trainer.fit(X, y, validation=(Xv, yv_wrong))
    best = 1 + int(np.argmin(history.val_loss))
    assert len(history) == best + 3 < 30
    restored = weights(trainer.model)
    assert all(np.array_equal(a, b) for a, b in zip(restored, snaps.by_epoch[best], strict=True))
    last = snaps.by_epoch[len(history)]
    assert not all(np.array_equal(a, b) for a, b in zip(restored, last, strict=True))


@pytest.mark.parametrize(("schedule", "expected"), [
    ("step", [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]),
    ("cosine", [0.1 * (1 + math.cos(math.pi * e / 6)) / 2 for e in range(6)]),
])
def test_schedules_change_the_learning_rate_each_epoch(blobs, small_mlp, schedule, expected):
    X, y, _, _ = blobs
    trainer = Trainer(small_mlp(), "softmax", "sgd", lr=0.1, batch_size=64, epochs=6,
                      schedule=schedule, verbose=0)
    assert trainer.fit(X, y).lr == pytest.approx(expected)


def test_schedule_instance_is_used(blobs, small_mlp):
    X, y, _, _ = blobs
    model = small_mlp()
    opt = optim.SGD(model.parameters(), lr=0.2)
    trainer = Trainer(model, "softmax", opt, schedule=optim.StepLR(opt, 1, gamma=0.5),
                      batch_size=64, epochs=3, verbose=0)
    assert trainer.fit(X, y).lr == pytest.approx([0.2, 0.1, 0.05])


def test_callbacks_see_every_step_and_can_stop(blobs, small_mlp):
    X, y, _, _ = blobs

    class Recorder:
        steps = 0
        grad_norms: list[float] = []

        def on_after_backward(self, trainer):
            self.steps += 1
            self.grad_norms.append(sum(float(np.abs(p.grad).sum()) for p in trainer.model.parameters()))

        def on_epoch_end(self, trainer, record):
            if record["epoch"] == 2:
                trainer.stop_training = True

    rec = Recorder()
    history = Trainer(small_mlp(), batch_size=50, epochs=10, callbacks=[rec], verbose=0).fit(X, y)
    assert len(history) == 2
    assert rec.steps == 2 * math.ceil(240 / 50)
    assert all(g > 0 for g in rec.grad_norms)


def test_optimizer_by_name_uses_defaults_and_overrides(small_mlp):
    trainer = Trainer(small_mlp(), "svm", "sgd", verbose=0)
    assert trainer.optimizer.lr == optim.SGD.default_lr
    assert trainer.optimizer.momentum == optim.SGD.default_momentum
    trainer = Trainer(small_mlp(), "softmax", "adam", lr=0.003, verbose=0)
    assert isinstance(trainer.optimizer, optim.Adam) and trainer.optimizer.lr == 0.003


def test_config_is_a_plain_dataclass(small_mlp):
    trainer = Trainer(small_mlp(), reg=1e-3, batch_size=32, epochs=7, seed=4, verbose=0)
    assert trainer.config == TrainConfig(batch_size=32, epochs=7, seed=4, reg=1e-3, verbose=0)


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"batch_size": 0}, UsageError, "batch_size must be an integer >= 1, got 0"),
    ({"epochs": 0}, UsageError, "epochs must be an integer >= 1"),
    ({"epochs": 2.5}, UsageError, "epochs must be an integer"),
    ({"seed": -1}, UsageError, "seed must be an integer >= 0"),
    ({"reg": -1.0}, UsageError, "reg must be a finite number >= 0"),
    ({"reg": float("nan")}, UsageError, "reg must be a finite number"),
    ({"penalty": "l3"}, UsageError, "unknown penalty 'l3'"),
    ({"verbose": 3}, UsageError, "verbose must be 0, 1 or 2"),
    ({"early_stopping": 0}, UsageError, "early_stopping must be an integer >= 1"),
    ({"loss": "hinge"}, UsageError, "unknown loss 'hinge'"),
    ({"optimizer": "lbfgs"}, UsageError, "unknown optimizer 'lbfgs'"),
    ({"optimizer": "adam", "momentum": 0.9}, UsageError, "momentum applies to sgd only"),
    ({"lr": -0.1}, UsageError, "lr must be"),
    ({"schedule": "linear"}, UsageError, "unknown learning-rate schedule"),
    ({"callbacks": [object()]}, TypeError, "neither on_epoch_end nor on_after_backward"),
    ({"callbacks": 3}, TypeError, "callbacks must be a list of callback objects.*got int"),
    ({"callbacks": None}, TypeError, "callbacks must be a list .*got NoneType"),
])
def test_bad_settings(small_mlp, kwargs, error, match):
    with pytest.raises(error, match=match):
        Trainer(small_mlp(), **kwargs)


def test_bad_model_and_optimizer(small_mlp):
    with pytest.raises(TypeError, match="model must be a warpnet.nn.Module"):
        Trainer("mlp")
    other = small_mlp()
    with pytest.raises(ValueError, match="not this model's"):
        Trainer(small_mlp(), "softmax", optim.SGD(other.parameters(), lr=0.1))
    model = small_mlp()
    with pytest.raises(UsageError, match="lr and momentum go with an optimizer name"):
        Trainer(model, "softmax", optim.SGD(model.parameters(), lr=0.1), lr=0.2)


@pytest.mark.parametrize(("X", "y", "error", "match"), [
    (np.zeros(12), [0], ValueError, r"X must be a 2-D array .* got shape \(12,\)"),
    (np.zeros((4, 3, 4)), [0, 1, 2, 0], ValueError, "flatten images first"),
    (np.zeros((0, 12)), [], ValueError, "X is empty"),
    (np.zeros((4, 10)), [0, 1, 2, 0], ValueError, "X has 10 features, but the model expects 12"),
    (np.full((4, 12), np.nan), [0, 1, 2, 0], ValueError, r"X contains NaN or inf \(first in row 0\)"),
    (np.array([["a"] * 12] * 4), [0, 1, 2, 0], TypeError, "X must hold real numbers"),
    (np.zeros((4, 12)), [0.0, 1.0, 2.0, 0.0], TypeError, "y must hold integer class labels"),
    (np.zeros((4, 12)), [0, 1, 3, 0], ValueError, r"class labels in \[0, 3\), got values in \[0, 3\]"),
    (np.zeros((4, 12)), [0, 1, -1, 0], ValueError, r"got values in \[-1, 1\]"),
    (np.zeros((4, 12)), [0, 1, 2], ValueError, "y has 3 labels, but X has 4 samples"),
    (np.zeros((4, 12)), [[0], [1], [2], [0]], ValueError, "y must be a 1-D array"),
])
def test_bad_data(small_mlp, X, y, error, match):
    trainer = Trainer(small_mlp(), verbose=0)
    with pytest.raises(error, match=match):
        trainer.fit(X, np.asarray(y))


def test_bad_data_point_in_a_big_array_is_located(blobs, small_mlp):
    X, y, _, _ = blobs
    X = X.copy()
    X[17, 3] = np.inf
    with pytest.raises(ValueError, match=r"first in row 17"):
        Trainer(small_mlp(), verbose=0).fit(X, y)
    big = np.full((4, 12), 1e300)  # finite in float64, but not in the model's float32
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        Trainer(small_mlp(), verbose=0).fit(big, np.array([0, 1, 2, 0]))
    huge = np.full((4, 12), 3e38, dtype=np.float32)  # finite, although its sum overflows
    assert inputs.check_features(huge, 12, np.dtype(np.float32)) is huge


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_every_non_finite_value_is_found(dtype, bad):
    rng = np.random.default_rng(0)
    for row, col in [(0, 0), (499, 63), (250, 7)]:
        X = np.asarray(rng.standard_normal((500, 64)), dtype=dtype)
        X[row, col] = bad
        with pytest.raises(ValueError, match=rf"X contains NaN or inf \(first in row {row}\)"):
            inputs.check_features(X, 64, np.dtype(dtype))


def test_bad_validation_and_weights(blobs, small_mlp):
    X, y, Xv, yv = blobs
    trainer = Trainer(small_mlp(), verbose=0)
    with pytest.raises(TypeError, match=r"validation must be a pair \(X_val, y_val\)"):
        trainer.fit(X, y, validation=Xv)
    with pytest.raises(ValueError, match="X_val has 5 features"):
        trainer.fit(X, y, validation=(Xv[:, :5], yv))
    with pytest.raises(ValueError, match="y_val has 3 labels, but X_val has 60 samples"):
        trainer.fit(X, y, validation=(Xv, yv[:3]))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(240,\)"):
        trainer.fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        trainer.fit(X, y, sample_weight=-np.ones(240))


def test_divergence_names_epoch_and_batch(blobs, small_mlp):
    X, y, _, _ = blobs
    trainer = Trainer(small_mlp(), "softmax", "sgd", lr=1e30, momentum=0.0, batch_size=32,
                      epochs=3, verbose=0)
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch \d+/8"):
        trainer.fit(X * 1e3, y)


def test_divergence_of_a_regression_loss(small_mlp):
    # Finite scores whose squared error overflows float32: the loss itself is caught.
    X = np.full((8, 12), 1e30, dtype=np.float32)
    model = nn.mlp([12, 1], rng=0)
    trainer = Trainer(model, "mse", "sgd", lr=1e-3, batch_size=4, epochs=1, verbose=0)
    before = weights(model)
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 1/2"):
        trainer.fit(X, np.zeros(8))
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(model), strict=True))


# -- output -------------------------------------------------------------------------------------
def test_verbose_0_prints_nothing(blobs, small_mlp, capfd):
    X, y, Xv, yv = blobs
    Trainer(small_mlp(), batch_size=64, epochs=2, verbose=0).fit(X, y, validation=(Xv, yv))
    out = capfd.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_1_off_a_terminal_prints_one_line_per_epoch(blobs, small_mlp, capsys):
    X, y, Xv, yv = blobs
    Trainer(small_mlp(), batch_size=64, epochs=3, verbose=1).fit(X, y, validation=(Xv, yv))
    out = capsys.readouterr()
    assert out.out == ""
    lines = out.err.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("loss" in line and "val_acc" in line and "samples/s" in line for line in lines)


def test_progress_bar_on_a_terminal(blobs, small_mlp, monkeypatch):
    pytest.importorskip("tqdm")
    X, y, _, _ = blobs

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    Trainer(small_mlp(), batch_size=64, epochs=2, verbose=1).fit(X, y)
    text = term.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "sample/s" in text


def test_loss_counts_the_penalty_of_weights_the_optimizer_leaves_out(blobs, small_mlp):
    # An optimizer over the first layer only cannot sum the other weights' squares: the Trainer
    # computes the penalty's value apart, over every regularized weight.
    X, y, _, _ = blobs
    reg = 1e-2
    model = small_mlp()
    before = Trainer(model, verbose=0).evaluate(X, y)
    penalty = reg * sum(float(np.sum(p.value.astype(np.float64) ** 2))
                        for p in model.parameters() if p.regularize)
    opt = optim.SGD(model.parameters()[:2], lr=1e-12)
    record = Trainer(model, "softmax", opt, reg=reg, batch_size=64, epochs=1,
                     verbose=0).fit(X, y).records[0]
    assert record["loss"] == pytest.approx(before["loss"] + penalty, rel=1e-5)
