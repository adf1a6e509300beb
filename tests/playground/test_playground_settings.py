"""Settings validation: caps, registry names, defaults."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet.data import TOY_CLASSIFICATION
from warpnet.nn import ACTIVATIONS, LOSSES
from warpnet.optim import OPTIMIZERS
from warpnet.playground.settings import (
    MAX_LAYERS,
    MAX_POINTS,
    MAX_UNITS,
    Settings,
    choices,
    classification_losses,
    parse_settings,
)


def test_empty_dict_gives_the_defaults():
    assert parse_settings({}) == Settings()


def test_choices_are_read_from_the_registries():
    c = choices()
    assert c["activations"] == ACTIVATIONS.names()
    assert list(c["optimizers"]) == OPTIMIZERS.names()
    assert c["optimizers"]["sgd"]["momentum"] is True
    assert c["optimizers"]["adam"]["momentum"] is False
    assert set(c["datasets"]) == set(TOY_CLASSIFICATION)
    assert c["limits"] == {"points": MAX_POINTS, "layers": MAX_LAYERS, "units": MAX_UNITS, "classes": 5}
    assert parse_settings(c["defaults"]) == Settings()


def test_classification_losses_are_those_that_take_labels():
    names = classification_losses()
    assert "softmax" in names and "svm" in names
    assert "mse" in LOSSES and "mse" not in names


@pytest.mark.parametrize("raw, field", [
    ({"hidden": [8] * (MAX_LAYERS + 1), "activations": ["relu"] * (MAX_LAYERS + 1)}, "hidden"),
    ({"hidden": [MAX_UNITS + 1], "activations": ["relu"]}, "units"),
    ({"hidden": [0], "activations": ["relu"]}, "units"),
    ({"hidden": [True], "activations": ["relu"]}, "units"),
    ({"hidden": [4], "activations": ["relu", "tanh"]}, "activations"),
    ({"hidden": [4], "activations": ["swish"]}, "activation"),
    ({"points": MAX_POINTS + 1}, "points"),
    ({"points": 9}, "points"),
    ({"points": 100.0}, "points"),
    ({"lr": float("nan")}, "lr"),
    ({"lr": 0}, "lr"),
    ({"lr": "0.1"}, "lr"),
    ({"momentum": 1.0}, "momentum"),
    ({"dropout": 0.95}, "dropout"),
    ({"noise": -0.1}, "noise"),
    ({"test_share": 1.0}, "test_share"),
    ({"batch": 0}, "batch"),
    ({"seed": -1}, "seed"),
    ({"loss": "mse"}, "loss"),
    ({"optimizer": "lbfgs"}, "optimizer"),
    ({"dataset": "../etc/passwd"}, "dataset"),
    ({"dataset": "xor", "classes": 3}, "xor supports classes"),
    ({"warp_mode": "tsne"}, "warp_mode"),
    ({"colour": "red"}, "unknown setting"),
])
def test_bad_values_are_refused_with_the_field_named(raw, field):
    with pytest.raises(ValueError, match=field):
        parse_settings(raw)


def test_non_dict_is_a_type_error():
    with pytest.raises(TypeError, match="settings must be an object"):
        parse_settings(["spiral"])


def test_warp_layer_is_clamped_to_the_network():
    s = parse_settings({"hidden": [4], "activations": ["tanh"], "warp_layer": 5})
    assert s.warp_layer == 1


@settings(max_examples=60, deadline=None)
@given(
    dataset=st.sampled_from(sorted(TOY_CLASSIFICATION)),
    hidden=st.lists(st.integers(1, MAX_UNITS), max_size=MAX_LAYERS),
    data=st.data(),
    lr=st.floats(1e-6, 10.0),
    l2=st.floats(0.0, 1.0),
)
def test_valid_settings_round_trip_through_their_dict(dataset, hidden, data, lr, l2):
    classes = data.draw(st.sampled_from(TOY_CLASSIFICATION[dataset][1]))
    acts = data.draw(st.lists(st.sampled_from(ACTIVATIONS.names()), min_size=len(hidden),
                              max_size=len(hidden)))
    s = parse_settings({"dataset": dataset, "classes": classes, "hidden": hidden,
                        "activations": acts, "lr": lr, "l2": l2, "warp_layer": len(hidden)})
    assert parse_settings(s.to_dict()) == s
    assert s.hidden == tuple(hidden) and math.isclose(s.lr, lr)
