"""A training session: determinism, learning, and the numbers the page draws, checked against
independent computations (NumPy by hand, scikit-learn)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from warpnet.playground.points import from_rows
from warpnet.playground.session import GRID, WARP_LINES, WARP_POINTS, WARP_SAMPLES, TrainingSession
from warpnet.playground.settings import parse_settings

SMALL = {"dataset": "gauss", "classes": 3, "points": 150, "hidden": [8, 6],
         "activations": ["relu", "tanh"], "lr": 0.05, "batch": 16}


def _floats(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4").reshape(-1, 2)


def test_same_settings_give_the_same_run():
    a, b = TrainingSession(parse_settings(SMALL)), TrainingSession(parse_settings(SMALL))
    for _ in range(25):
        assert a.step() == b.step()
    for (name, pa), (_, pb) in zip(a.model.named_parameters(), b.model.named_parameters(), strict=True):
        np.testing.assert_array_equal(pa.value, pb.value, err_msg=name)
    assert a.snapshot() == b.snapshot()


def test_reset_returns_to_the_initial_weights():
    s = TrainingSession(parse_settings(SMALL))
    start = [p.value.copy() for p in s.model.parameters()]
    s.train_for(0.05)
    s.reset()
    for p, w in zip(s.model.parameters(), start, strict=True):
        np.testing.assert_array_equal(p.value, w)
    assert s.steps == 0


def test_training_learns_the_blobs():
    s = TrainingSession(parse_settings(SMALL))
    first = s.snapshot()
    for _ in range(300):
        s.step()
    last = s.snapshot()
    assert last["train"]["loss"] < first["train"]["loss"] / 3
    assert last["test"]["accuracy"] > 0.95


def test_metrics_and_confusion_match_an_independent_count():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    s = TrainingSession(parse_settings({**SMALL, "l2": 0.01}))
    for _ in range(40):
        s.step()
    snap = s.snapshot()
    scores = s.predict_scores(s.x_test)
    pred = scores.argmax(axis=1)
    assert snap["test"]["accuracy"] == pytest.approx(np.mean(pred == s.y_test))
    expected = sklearn_metrics.confusion_matrix(s.y_test, pred, labels=[0, 1, 2])
    np.testing.assert_array_equal(snap["confusion"], expected)
    # Loss = mean cross-entropy + l2 * sum of squared weights, recomputed by hand in float64.
    z = scores.astype(np.float64)
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    ce = -logp[np.arange(len(pred)), s.y_test].mean()
    reg = 0.01 * sum(float((p.value.astype(np.float64) ** 2).sum()) for p in s.model.parameters()
                     if p.regularize)
    assert snap["test"]["loss"] == pytest.approx(ce + reg, rel=1e-4)


def test_grid_probabilities_cover_the_view_top_row_first():
    s = TrainingSession(parse_settings(SMALL))
    snap = s.snapshot()
    probs = np.frombuffer(base64.b64decode(snap["grid"]["probs"]), np.uint8).reshape(GRID, GRID, 3)
    assert np.all(np.abs(probs.astype(int).sum(-1) - 255) <= 2)
    x0, x1, y0, y1 = s.points.view_box()
    top_left = np.array([[x0 + 0.5 * (x1 - x0) / GRID, y1 - 0.5 * (y1 - y0) / GRID]])
    scores = s.predict_scores(top_left)[0].astype(np.float64)
    expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(probs[0, 0] / 255, expected, atol=1 / 255)


def test_warp_units_are_the_hidden_activations():
    s = TrainingSession(parse_settings({**SMALL, "warp_layer": 1, "warp_mode": "units"}))
    for _ in range(10):
        s.step()
    warp = s.snapshot()["warp"]
    lin = s.model.layers[0]
    h = np.maximum(s.points.x[:WARP_POINTS].astype(np.float32) @ lin.weight.value + lin.bias.value, 0)
    np.testing.assert_allclose(_floats(warp["points"]), h[:, :2], rtol=1e-5, atol=1e-6)
    assert _floats(warp["lines"]).shape == (2 * WARP_LINES * WARP_SAMPLES, 2)


def test_warp_input_layer_is_the_identity():
    s = TrainingSession(parse_settings({**SMALL, "warp_layer": 0, "warp_mode": "units"}))
    np.testing.assert_allclose(_floats(s.snapshot()["warp"]["points"]), s.points.x, rtol=1e-6)


def test_warp_pca_matches_scikit_learn_up_to_sign():
    decomposition = pytest.importorskip("sklearn.decomposition")
    s = TrainingSession(parse_settings({**SMALL, "hidden": [16], "activations": ["tanh"],
                                        "warp_layer": 1, "warp_mode": "pca"}))
    for _ in range(20):
        s.step()
    got = _floats(s.snapshot()["warp"]["points"]).astype(np.float64)
    h = s.hidden_output(s.points.x, 1).astype(np.float64)
    ref = decomposition.PCA(n_components=2).fit_transform(h)
    for k in range(2):
        sign = np.sign(got[:, k] @ ref[:, k])
        np.testing.assert_allclose(got[:, k], sign * ref[:, k], atol=1e-4)


def test_configure_keeps_edited_points_unless_the_data_settings_change():
    s = TrainingSession(parse_settings(SMALL))
    s.set_points(s.points.with_point(0.1, 0.2, 1))
    s.configure(parse_settings({**SMALL, "lr": 0.01}))
    assert len(s.points) == 151 and s.custom
    s.configure(parse_settings({**SMALL, "seed": 4}))
    assert len(s.points) == 150 and not s.custom


def test_more_classes_in_the_points_rebuild_the_output_layer():
    s = TrainingSession(parse_settings(SMALL))
    s.set_points(from_rows([[0, 0, 0], [1, 1, 4], [0, 1, 2]], 0.0, 0))
    assert s.model.layers[-1].out_features == 5
    assert len(s.snapshot()["confusion"]) == 5


@pytest.mark.parametrize("extra", [
    {"hidden": [], "activations": [], "warp_layer": 0},
    {"loss": "svm"},
    {"optimizer": "sgd", "momentum": 0.9, "lr": 0.1},
    {"optimizer": "rmsprop", "lr": 0.005},
    {"dropout": 0.3, "l2": 0.001},
    {"test_share": 0.0},
    {"hidden": [3] * 8, "activations": ["elu"] * 8, "warp_layer": 8},
])
def test_every_kind_of_network_trains_and_snapshots(extra):
    s = TrainingSession(parse_settings({**SMALL, **extra}))
    s.train_for(0.02)
    snap = s.snapshot()
    assert snap["step"] == s.steps > 0
    assert np.isfinite(snap["train"]["loss"])
    assert (snap["test"] is None) == (extra.get("test_share") == 0.0)
    assert np.isfinite(_floats(snap["warp"]["lines"])).all()


def test_divergence_raises_instead_of_drawing_nan():
    s = TrainingSession(parse_settings({**SMALL, "optimizer": "sgd", "lr": 10.0, "momentum": 0.99,
                                        "hidden": [64, 64, 64], "activations": ["relu"] * 3}))
    with pytest.raises(ValueError, match="NaN or inf"):
        for _ in range(500):
            s.step()
