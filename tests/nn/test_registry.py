"""The registries are the only lists: an activation registered from outside the package works
with mlp, gradcheck, the estimators, the PyTorch-free model files and the layer loader at once;
a name is taken once."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from warpnet import io, nn
from warpnet.registry import Registry


@contextlib.contextmanager
def registered(registry: Registry, name: str, cls: type):
    """``cls`` registered under ``name`` for the duration of the block, then removed again."""
    registry.register(name)(cls)
    try:
        yield cls
    finally:
        registry._entries.pop(name)


class Square(nn.Activation):
    """``x**2``; derivative ``2 * x`` (a user's activation, registered by the tests)."""

    title = "square"

    def forward(self, x):
        self._save(x)
        return x * x

    def backward(self, dout, need_dx=True):
        return 2 * self._cached() * dout if need_dx else None


@pytest.fixture
def square():
    with registered(nn.ACTIVATIONS, "square", Square):
        yield Square


def test_a_users_activation_works_everywhere(square, tmp_path):
    assert "Square" in nn.LAYERS.names() and nn.LAYERS.get("Square") is Square
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert nn.gradcheck(Square(), x) < 1e-7
    model = nn.mlp([3, 5, 2], activation="square", rng=0, dtype="float64")
    assert isinstance(model[1], Square)
    assert nn.gradcheck(model, x) < 1e-7
    path = tmp_path / "model.safetensors"
    io.save(model, path)
    loaded = io.load(path).model
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))

    from warpnet.estimators import MLPClassifier

    X = np.random.default_rng(1).standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(8,), activation="square", max_iter=3, random_state=0)
    with pytest.warns(Warning):  # stopped after max_iter epochs
        clf.fit(X, y)
    assert isinstance(clf.network_[1], Square)


def test_a_name_is_registered_once_and_the_message_names_both_classes(square):
    class Other(nn.Activation):
        pass

    with pytest.raises(ValueError, match=r"'square' is already registered to .*Square; cannot "
                                         r"register .*Other"):
        nn.ACTIVATIONS.register("square")(Other)
    with pytest.raises(ValueError, match=r"'relu' is already registered to warpnet\.nn\.activations\.ReLU"):
        nn.ACTIVATIONS.register("relu")(Other)


def test_registering_needs_a_name():
    with pytest.raises(TypeError, match="non-empty str"):
        Registry("thing").register("")


def test_every_activation_class_declares_what_the_others_read():
    for name, cls in nn.ACTIVATIONS.items():
        assert cls.init in nn.INITIALIZERS, name
        assert cls.title, name
        layer = cls()
        assert nn.build(layer.get_config()).get_config() == layer.get_config()


class CentreNorm(nn.LayerNorm):
    """A user's normalisation layer (LayerNorm's formula under another name)."""

    def get_config(self):
        return {**super().get_config(), "type": "CentreNorm"}


@pytest.fixture
def centre_norm():
    with registered(nn.NORMS, "centre", CentreNorm):
        yield CentreNorm


def test_norms_is_a_registry_read_by_mlp_and_the_model_loader(centre_norm, tmp_path):
    assert isinstance(nn.NORMS, Registry)
    assert dict(nn.NORMS.items()) == {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm,
                                      "centre": CentreNorm}
    assert nn.LAYERS.get("BatchNorm1d") is nn.BatchNorm1d and nn.LAYERS.get("CentreNorm") is CentreNorm
    model = nn.mlp([3, 5, 2], norm="centre", rng=0, dtype="float64")
    assert type(model[1]) is CentreNorm
    io.save(model, tmp_path / "model.safetensors")
    loaded = io.load(tmp_path / "model.safetensors").model
    assert type(loaded[1]) is CentreNorm
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_array_equal(loaded.forward(x), model.eval().forward(x))
    with pytest.raises(ValueError, match="norm must be None or one of batch, layer, centre, got 'group'"):
        nn.mlp([3, 5, 2], norm="group")


def test_a_norm_name_is_registered_once_and_the_message_names_both_classes():
    with pytest.raises(ValueError, match=r"normalization 'batch' is already registered to "
                                         r"warpnet\.nn\.normalization\.BatchNorm1d; cannot register "
                                         r".*CentreNorm"):
        nn.NORMS.register("batch")(CentreNorm)
    assert nn.NORMS.get("batch") is nn.BatchNorm1d


def test_a_registry_reads_like_a_dict():
    assert nn.ACTIVATIONS["relu"] is nn.ACTIVATIONS.get("relu")
    with pytest.raises(KeyError, match="unknown activation 'nope'.*relu"):
        nn.ACTIVATIONS["nope"]
    with pytest.raises(KeyError):
        nn.ACTIVATIONS[3]
