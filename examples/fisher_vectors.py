"""The 2011 ImageNet winner's pipeline, step by step, on CIFAR-10.

    python examples/fisher_vectors.py [--n-train 5000] [--n-test 1000]

1. dense local descriptors: SIFT (128 values) and colour statistics (96 values) of
   8x8 patches every 4 pixels, at 2 scales;
2. PCA of each descriptor to 32 dimensions and a diagonal Gaussian mixture of 64
   components, both fitted on a sample of training descriptors;
3. improved Fisher vectors over 4 regions (whole image + 3 horizontal stripes):
   4 * 2 * 64 * 32 = 16,384 values per image and descriptor type;
4. product quantization, 8 values per sub-vector at 1 bit per value (32x smaller);
5. one-vs-all linear SVMs per descriptor type, learned by SGD from the compressed
   store: ``LinearClassifier(multi_class="ovr")`` reads it minibatch by minibatch,
   decoding each one as it is drawn (the float32 matrix is never built);
6. late fusion: the average of the two systems' standardized class scores.

The settings are the 2011 system's scaled down to 32x32 images and a few minutes
on two cores (the original: 1,024 components, 64 dimensions, ~10,000 patches of
256x256 images). Uses ../shared/data/cifar10 when present, else random images
(the accuracies are then at chance).
"""

from __future__ import annotations

import argparse
import glob
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from warpnet import LinearClassifier
from warpnet.features import ColorStats, DenseSIFT, FisherVector, ProductQuantizer

CIFAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"


def load(n_train: int, n_test: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    train, test = sorted(glob.glob(str(CIFAR / "train_*.npz"))), sorted(glob.glob(str(CIFAR / "test_*.npz")))
    if train and test:
        with np.load(train[0]) as a, np.load(test[0]) as b:
            return a["x"][:n_train], a["y"][:n_train], b["x"][:n_test], b["y"][:n_test]
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n_train),
            rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n_test))


def train_from_store(store, y: np.ndarray) -> LinearClassifier:
    """One-vs-all squared-hinge SVMs by SGD; a ``CompressedFeatures`` store is read batch by batch."""
    clf = LinearClassifier(loss="squared_svm", multi_class="ovr", alpha=1e-5, max_iter=10,
                           batch_size=128, learning_rate_init=0.05, random_state=0,
                           dtype="float32")
    with warnings.catch_warnings():  # ten epochs is the budget asked for
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(store, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-test", type=int, default=1000)
    args = parser.parse_args()
    x, y, xt, yt = load(args.n_train, args.n_test)
    print(f"{len(x)} training and {len(xt)} test images of {x.shape[1:]}")

    scores = {}
    for name, descriptor in (("SIFT", DenseSIFT(patch_size=8, step=4, scales=(8, 12))),
                             ("colour", ColorStats(patch_size=8, step=4, scales=(8, 12)))):
        start = time.perf_counter()
        # steps 1-3: descriptors, PCA + mixture on a sample, Fisher vectors
        fv = FisherVector(n_components=64, pca_components=32, descriptor=descriptor,
                          n_descriptors=50_000, max_iter=20, random_state=0).fit(x)
        f_train, f_test = fv.transform(x), fv.transform(xt)
        fit_s = time.perf_counter() - start
        # step 4: product quantization, codebooks from 1,000 training vectors
        pq = ProductQuantizer(sub_dim=8, bits_per_value=1, n_samples=1000, max_iter=5,
                              random_state=0).fit(f_train)
        store = pq.compress(f_train[i : i + 1000] for i in range(0, len(f_train), 1000))
        # step 5: linear SVMs, from the compressed store and from the floats
        compressed = train_from_store(store, y)
        dense = train_from_store(f_train, y)
        acc_c = (compressed.predict(f_test) == yt).mean()
        acc_d = (dense.predict(f_test) == yt).mean()
        s = compressed.decision_function(f_test)
        scores[name] = (s - s.mean()) / s.std()
        print(f"{name:6s}: {fv.descriptor_._n_patches(fv.image_shape_)} patches/image, Fisher "
              f"vectors of {f_train.shape[1]:,} values ({fit_s:.0f} s); stored "
              f"{store.nbytes // len(x):,} bytes/image instead of {f_train.nbytes // len(x):,}; "
              f"test accuracy {acc_c:.3f} trained on compressed, {acc_d:.3f} on floats")
    # step 6: late fusion of the two systems
    fused = (scores["SIFT"] + scores["colour"]) / 2
    print(f"late fusion (mean of standardized scores): test accuracy {(fused.argmax(1) == yt).mean():.3f}")


if __name__ == "__main__":
    main()
