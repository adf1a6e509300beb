"""Classic image features + a linear classifier, as one scikit-learn pipeline.

    python examples/features_pipeline.py

Uses the CIFAR-10 subset in ../shared/data/cifar10 when present (5,000 training and
1,000 test images), otherwise a small synthetic set of striped images whose class
is the stripe direction.
"""

import glob
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from warpnet.features import classic_features

CIFAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"


def stripes(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """32x32 RGB images of noisy stripes at one of four angles (the label)."""
    y = rng.integers(0, 4, n)
    rows, cols = np.mgrid[:32, :32]
    angle = y[:, None, None] * np.pi / 4
    wave = np.sin((rows * np.cos(angle) + cols * np.sin(angle)) * 0.8)
    gray = 127 + 80 * wave + rng.normal(0, 30, (n, 32, 32))
    return np.clip(gray, 0, 255).astype(np.uint8)[..., None].repeat(3, axis=-1), y


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    train, test = sorted(glob.glob(str(CIFAR / "train_*.npz"))), sorted(glob.glob(str(CIFAR / "test_*.npz")))
    if train and test:
        with np.load(train[0]) as a, np.load(test[0]) as b:
            return a["x"], a["y"], b["x"][:1000], b["y"][:1000]
    rng = np.random.default_rng(0)
    return (*stripes(2000, rng), *stripes(500, rng))


X_train, y_train, X_test, y_test = load()
model = make_pipeline(classic_features(), StandardScaler(), LinearSVC(C=0.01))
model.fit(X_train, y_train)  # images (N, 32, 32, 3) uint8 go straight in
features = model[0].transform(X_test[:1])
print(f"{features.shape[1]} features per image (144 HOG + 10 hue)")
print(f"test accuracy: {model.score(X_test, y_test):.3f} on {len(y_test)} images")
