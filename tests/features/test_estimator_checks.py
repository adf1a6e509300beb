"""scikit-learn's estimator checks, on flattened images (``image_shape`` with a -1).

The checks feed (n_samples, n_features) tables. With ``image_shape=(1, -1)`` each
row is a one-row grey image of any width, which HOG (1x1 cells) and BagOfWords
(1x1 patches) accept. ColorHistogram needs RGB pixels, so rows must hold a
multiple of 3 values; the checks below that use 1, 2, 4, 5 or 10 columns fail for
that reason only and are listed as expected failures. check_array_api_input is
skipped by scikit-learn itself unless SCIPY_ARRAY_API=1 (the features are NumPy-only).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from warpnet.features import HOG, BagOfWords, ColorHistogram, KMeansTriangle

_NOT_RGB = "rows of {n} values are not whole RGB pixels (need a multiple of 3)"
COLOR_EXPECTED_FAILURES = {
    "check_dtype_object": _NOT_RGB.format(n=10),
    "check_estimators_dtypes": _NOT_RGB.format(n=5),
    "check_estimators_fit_returns_self": _NOT_RGB.format(n=2),
    "check_estimators_overwrite_params": _NOT_RGB.format(n=2),
    "check_fit2d_1feature": _NOT_RGB.format(n=1),
    "check_fit2d_1sample": _NOT_RGB.format(n=10),
    "check_fit_check_is_fitted": _NOT_RGB.format(n=2),
    "check_fit_idempotent": _NOT_RGB.format(n=2),
    "check_n_features_in": _NOT_RGB.format(n=2),
    "check_n_features_in_after_fitting": _NOT_RGB.format(n=4),
    "check_positive_only_tag_during_fit": _NOT_RGB.format(n=4),
    "check_readonly_memmap_input": _NOT_RGB.format(n=2),
}


def expected_failures(estimator):
    return COLOR_EXPECTED_FAILURES if isinstance(estimator, ColorHistogram) else {}


@parametrize_with_checks(
    [
        HOG(pixels_per_cell=1, image_shape=(1, -1)),
        HOG(pixels_per_cell=1, block_norm="L1-sqrt", signed=True, image_shape=(1, -1)),
        ColorHistogram(channels=("h", "s", "v"), image_shape=(1, -1, 3)),
        ColorHistogram(bins=3, space="rgb", channels=("r", "g", "b"), image_shape=(1, -1, 3)),
        BagOfWords(n_words=2, n_patches=20, patch_size=1, stride=1, random_state=0,
                   image_shape=(1, -1)),
        KMeansTriangle(n_words=2, n_patches=20, patch_size=1, random_state=0, image_shape=(1, -1)),
    ],
    expected_failed_checks=expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
