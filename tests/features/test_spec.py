"""Feature specs, the registry, pipelines and the pickle-free state round trip."""

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler

from warpnet.features import (
    FEATURES,
    HOG,
    BagOfWords,
    ColorFisherVector,
    ColorHistogram,
    ColorStats,
    DenseSIFT,
    FisherVector,
    KMeansTriangle,
    classic_features,
    features_from_state,
    features_to_state,
    make_features,
)

BOW = {"n_words": 5, "n_patches": 300, "patch_size": 4, "random_state": 0}


def images(n=10, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_registry_names():
    assert dict(FEATURES.items()) == {"hog": HOG, "color": ColorHistogram, "bow": BagOfWords,
                        "dense-sift": DenseSIFT, "color-stats": ColorStats,
                        "fisher-sift": FisherVector, "fisher-color": ColorFisherVector,
                        "kmeans-triangle": KMeansTriangle}


def test_make_features_concatenates_in_spec_order():
    union = make_features("hog+color", {"hog": {"cells_per_block": 2}})
    assert isinstance(union, FeatureUnion)
    assert [name for name, _ in union.transformer_list] == ["hog", "color"]
    X = images()
    out = union.fit_transform(X)
    hog = HOG(cells_per_block=2).fit_transform(X)
    np.testing.assert_array_equal(out[:, : hog.shape[1]], hog)
    np.testing.assert_array_equal(out[:, hog.shape[1] :], ColorHistogram().fit_transform(X))


@pytest.mark.parametrize("spec", ["", "hog+", "sift", "hog+hog", "hog + lbp"])
def test_bad_specs(spec):
    with pytest.raises(ValueError, match="spec|feature"):
        make_features(spec)


def test_params_for_missing_feature_and_non_string_spec():
    with pytest.raises(ValueError, match="bow"):
        make_features("hog", {"bow": {}})
    with pytest.raises(TypeError, match="string"):
        make_features(["hog"])


def test_classic_features_give_154_values():
    X = images()
    out = classic_features().fit_transform(X)
    assert out.shape == (10, 154) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 144:].sum(axis=1), 1.0, rtol=1e-6)


def test_state_round_trip_through_json_rebuilds_equal_features():
    X = images(12)
    union = make_features("hog+color+bow", {"bow": BOW}).fit(X)
    config, arrays = features_to_state(union)
    config = json.loads(json.dumps(config))  # must be plain JSON
    assert set(arrays) == {"bow.codebook_"}
    rebuilt = features_from_state(config, {k: v.copy() for k, v in arrays.items()})
    np.testing.assert_array_equal(rebuilt.transform(X), union.transform(X))


def test_single_feature_state_and_errors():
    hog = HOG(orientations=6).fit(images(2))
    config, arrays = features_to_state(hog)
    again = features_from_state(config, arrays)
    assert isinstance(again, HOG) and again.get_params() == hog.get_params()
    with pytest.raises(NotFittedError):
        features_to_state(HOG())
    with pytest.raises(TypeError):
        features_to_state(StandardScaler())
    with pytest.raises(ValueError, match="format"):
        features_from_state({"format": "pickle"}, {})
    bow_config, bow_arrays = features_to_state(BagOfWords(**BOW).fit(images(3)))
    with pytest.raises(ValueError, match="codebook_"):
        features_from_state(bow_config, {})
    with pytest.raises(ValueError, match="codebook_"):
        features_from_state(bow_config, {"bow.codebook_": np.zeros((2, 3))})
    bad = json.loads(json.dumps(config))
    bad["parts"][0]["params"]["orientations"] = 0
    with pytest.raises(ValueError, match="orientations"):
        features_from_state(bad, {})


@pytest.mark.parametrize("change, error, match", [
    (lambda c: c["parts"].__setitem__(0, 3), ValueError, r"\['parts'\]\[0\] must be a dict, got int"),
    (lambda c: c["parts"][0].__setitem__("params", [1, 2]), ValueError, r"\['params'\] must be a dict"),
    (lambda c: c["parts"][0].__setitem__("image_shape_", None), ValueError, "image_shape_.*got None"),
    (lambda c: c["parts"][0].__setitem__("image_shape_", "abc"), ValueError, "image_shape_.*got 'abc'"),
    (lambda c: c["parts"][0].__setitem__("image_shape_", [[8], 8]), ValueError, "image_shape_"),
    (lambda c: c["parts"][0].__setitem__("image_shape_", [8.5, 8]), ValueError, "image_shape_"),
])
def test_malformed_state_layouts_are_value_errors_naming_the_field(change, error, match):
    # The state comes from a model file: a hostile one must not reach attribute or int() errors.
    config, arrays = features_to_state(make_features("hog").fit(images(2)))
    config = json.loads(json.dumps(config))
    change(config)
    with pytest.raises(error, match=match):
        features_from_state(config, arrays)
    with pytest.raises(TypeError, match="arrays must be a dict"):
        features_from_state(json.loads(json.dumps(features_to_state(HOG().fit(images(2)))[0])), None)


def test_pipeline_clone_and_classifier():
    X = images(40, seed=1)
    y = np.arange(40) % 2
    pipe = make_pipeline(make_features("hog+color"), StandardScaler(), LogisticRegression())
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (40,)
    cloned = clone(pipe)
    assert cloned.get_params()["featureunion__hog__orientations"] == 9
    names = make_features("color").fit(X).get_feature_names_out()
    assert list(names[:2]) == ["color__colorhistogram0", "color__colorhistogram1"]


def test_kmeans_triangle_state_round_trip_with_whitening():
    from warpnet.features import KMeansTriangle

    X = images(4)
    est = KMeansTriangle(n_words=6, n_patches=300, patch_size=4, stride=2, random_state=0).fit(X)
    union = make_features("kmeans-triangle", {"kmeans-triangle": est.get_params()}).fit(X)
    config, arrays = features_to_state(union)
    assert set(arrays) == {"kmeans-triangle.codebook_", "kmeans-triangle.zca_mean_",
                           "kmeans-triangle.zca_matrix_"}
    again = features_from_state(json.loads(json.dumps(config)), arrays)
    np.testing.assert_array_equal(again.transform(X), union.transform(X))
    bad = dict(arrays)
    bad["kmeans-triangle.zca_matrix_"] = np.zeros((3, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="zca_matrix_"):
        features_from_state(config, bad)


def test_bag_of_words_files_with_the_old_assignment_parameter_load():
    config, arrays = features_to_state(BagOfWords(**BOW).fit(images(3)))
    params = config["parts"][0]["params"]
    params["assignment"] = "soft"
    del params["encoding"], params["whiten"], params["normalize"]
    again = features_from_state(config, arrays)
    assert again.encoding == "triangle" and again.normalize and not again.whiten


def test_features_is_a_registry_and_a_name_is_taken_once():
    from warpnet.registry import Registry

    assert isinstance(FEATURES, Registry)

    class MyHOG(HOG):
        pass

    with pytest.raises(ValueError, match=r"feature 'hog' is already registered to "
                                         r"warpnet\.features\.hog\.HOG; cannot register .*MyHOG"):
        FEATURES.register("hog")(MyHOG)
    assert FEATURES.get("hog") is HOG
    with pytest.raises(ValueError, match="unknown feature 'sift'"):
        FEATURES.get("sift")
