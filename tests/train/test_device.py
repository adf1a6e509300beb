"""The engine on PyTorch tensors: the device path, checked on CPU tensors here, on CUDA where a GPU is."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn
from warpnet.errors import DataError, UsageError
from warpnet.train import Trainer
from warpnet.train.device import check_device, to_device

torch = pytest.importorskip("torch")


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 10))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    return X, y


def train(move):
    X, y = data()
    model = nn.mlp([10, 16, 3], rng=1, dtype="float64")
    move(model)
    Trainer(model, "softmax", "sgd", lr=0.1, momentum=0.9, reg=1e-3, batch_size=32, epochs=3,
            seed=2, verbose=0).fit(X, y)
    to_device(model, "cpu")
    return model.state_dict()


def test_torch_tensors_train_like_numpy_in_float64():
    import array_api_compat.torch as xp

    expected = train(lambda m: None)
    got = train(lambda m: m.to(xp, "cpu"))
    for name, value in expected.items():
        assert isinstance(got[name], np.ndarray)
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_trains_like_the_cpu_in_float64():
    expected = train(lambda m: None)
    got = train(lambda m: to_device(m, "cuda"))
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-10, err_msg=name)


def test_bad_device_names_and_missing_gpu():
    with pytest.raises(UsageError, match="device must be one of"):
        check_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DataError, match="CUDA GPU"):
            check_device("cuda")


def test_estimators_take_a_device():
    from sklearn.base import clone

    from warpnet.estimators import MLPClassifier

    X, y = data()
    est = MLPClassifier((8,), max_iter=3, random_state=0, device="cpu")
    assert clone(est).get_params()["device"] == "cpu"
    est.fit(X, y)
    assert isinstance(est.network_.parameters()[0].value, np.ndarray)
    with pytest.raises(ValueError, match="device"):
        MLPClassifier(device="tpu").fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(DataError, match="CUDA GPU"):
            MLPClassifier((8,), max_iter=2, device="cuda").fit(X, y)
    else:
        gpu = MLPClassifier((8,), max_iter=3, random_state=0, device="cuda", dtype="float64").fit(X, y)
        cpu = MLPClassifier((8,), max_iter=3, random_state=0, dtype="float64").fit(X, y)
        np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), atol=1e-10)


def test_estimator_device_path_with_early_stopping_on_torch_tensors(monkeypatch):
    """The estimators' device path, run on PyTorch CPU tensors in place of CUDA ones."""
    import array_api_compat.torch as xp

    from warpnet.estimators import MLPClassifier
    from warpnet.train import device as device_module

    moved = []

    def fake_to_device(model, device):
        moved.append(device)
        return model.to(xp, "cpu") if device == "cuda" else to_device(model, "cpu")

    monkeypatch.setattr(device_module, "to_device", fake_to_device)
    X, y = data()
    kw = {"max_iter": 4, "random_state": 0, "dtype": "float64", "early_stopping": True,
          "solver": "sgd"}
    gpu = MLPClassifier((8,), device="cuda", **kw).fit(X, y)
    cpu = MLPClassifier((8,), **kw).fit(X, y)
    assert moved == ["cuda", "cpu"]
    assert isinstance(gpu.network_.parameters()[0].value, np.ndarray)
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), atol=1e-10)
    assert gpu.validation_scores_ == pytest.approx(cpu.validation_scores_, abs=1e-12)
