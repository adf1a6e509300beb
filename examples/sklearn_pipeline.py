"""warpnet inside scikit-learn: HOG features + pixels -> standardize -> MLP, tuned by GridSearchCV.

The digits (8x8 grey images) go through a ``FeatureUnion`` of warpnet's ``HOG`` and the raw
pixels, are standardized, and feed ``warpnet.MLPClassifier``; ``GridSearchCV`` picks the hidden
layer sizes and the L2 strength ``alpha`` by 3-fold cross-validation.  The best network is then
handed to PyTorch (when it is installed) and checked to give the same scores.

Run: python examples/sklearn_pipeline.py        (about half a minute on two cores)
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import warpnet
from warpnet.features import HOG


def flatten(images: np.ndarray) -> np.ndarray:
    """(N, H, W) images -> (N, H * W) pixel rows."""
    return images.reshape(len(images), -1)


def main() -> None:
    # A fixed budget of 60 epochs: not every fit meets the loss tolerance by then, and says so.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images, digits.target, test_size=0.25, stratify=digits.target, random_state=0)

    pipeline = Pipeline([
        ("features", FeatureUnion([
            # 2x2-pixel cells, 2x2-cell blocks: 3 * 3 blocks * 4 cells * 9 bins = 324 values.
            ("hog", HOG(orientations=9, pixels_per_cell=2, cells_per_block=2)),
            ("pixels", FunctionTransformer(flatten)),
        ])),
        ("scale", StandardScaler()),
        # dtype="float32": StandardScaler hands on float64; the net trains twice as fast in float32.
        ("mlp", warpnet.MLPClassifier(max_iter=60, learning_rate_init=3e-3, dtype="float32",
                                      random_state=0)),
    ])
    grid = {
        "mlp__hidden_layer_sizes": [(64,), (128,), (128, 64)],
        "mlp__alpha": [1e-4, 1e-2],
    }
    search = GridSearchCV(pipeline, grid, cv=3).fit(X_train, y_train)

    print("cross-validated accuracy per setting:")
    for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"],
                             strict=True):
        print(f"  hidden={params['mlp__hidden_layer_sizes']!s:10} alpha={params['mlp__alpha']:<7g}"
              f" {score:.4f}")
    print(f"best: {search.best_params_}")
    print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f}")

    best = search.best_estimator_
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: skipping the export")
        return
    module = warpnet.io.to_torch(best.named_steps["mlp"])
    features = best[:-1].transform(X_test).astype(np.float32)
    with torch.no_grad():
        torch_scores = module(torch.from_numpy(features)).numpy()
    same = np.array_equal(torch_scores.argmax(axis=1),
                          np.searchsorted(best.classes_, best.predict(X_test)))
    print(f"exported to PyTorch: {module}\nsame predictions in PyTorch: {same}")


if __name__ == "__main__":
    main()
