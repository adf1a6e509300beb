"""Synthetic images of centred objects, with the pixel statistics of digits or clothing: a textured
shape of random size and position near the middle of a blank 28 x 28 frame, so each border pixel
is non-zero in only a few images (the case where an optimizer's running averages for those
pixels decay into subnormal floats between the rare images that touch them).

Ten classes: five shapes (disc, square, ring, cross, diamond) times two textures (stripes along
or across the shape's axis), each turned by a random angle; intensities in [0, 1], float32.
"""

from __future__ import annotations

import numpy as np

SIDE = 28


def centred_objects(n: int, seed: int = 0, chunk: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: X (n, 784) float32 in [0, 1], y (n,) int64 labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = np.empty((n, SIDE * SIDE), np.float32)
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        m = stop - start
        shape, stripes_across = y[start:stop] % 5, y[start:stop] // 5
        size = rng.uniform(4.0, 11.0, (m, 1, 1)).astype(np.float32)      # half-width in pixels
        cy = SIDE / 2 + rng.normal(0.0, 1.8, (m, 1, 1)).astype(np.float32)  # near the middle
        cx = SIDE / 2 + rng.normal(0.0, 1.8, (m, 1, 1)).astype(np.float32)
        angle = rng.uniform(-0.4, 0.4, (m, 1, 1)).astype(np.float32)
        # Coordinates in the shape's own frame, in units of its half-width.
        u = ((cols - cx) * np.cos(angle) + (rows - cy) * np.sin(angle)) / size
        v = (-(cols - cx) * np.sin(angle) + (rows - cy) * np.cos(angle)) / size
        r = np.sqrt(u * u + v * v)
        inside = np.stack([
            r <= 1.0,                                            # disc
            np.maximum(np.abs(u), np.abs(v)) <= 0.85,            # square
            (r <= 1.0) & (r >= 0.55),                            # ring
            (np.minimum(np.abs(u), np.abs(v)) <= 0.3) & (np.maximum(np.abs(u), np.abs(v)) <= 1.0),
            np.abs(u) + np.abs(v) <= 1.0,                        # diamond
        ])[shape, np.arange(m)]
        period = rng.uniform(0.35, 0.6, (m, 1, 1)).astype(np.float32)
        along = np.where(stripes_across[:, None, None] == 1, u, v)
        texture = 0.55 + 0.45 * np.cos(2 * np.pi * along / period)
        brightness = rng.uniform(0.6, 1.0, (m, 1, 1)).astype(np.float32)
        noise = rng.normal(0.0, 0.08, (m, SIDE, SIDE)).astype(np.float32)
        image = np.clip(inside * (brightness * texture + noise), 0.0, 1.0)
        X[start:stop] = image.reshape(m, -1)
    return X, y


if __name__ == "__main__":
    X, y = centred_objects(60_000)
    border = np.zeros((SIDE, SIDE), bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    share = (X[:, border.reshape(-1)] > 0).mean(axis=0)
    print(f"{X.shape}, classes {np.bincount(y)}, border pixels non-zero in "
          f"{share.min():.4%}-{share.max():.4%} of the images (mean {share.mean():.4%})")
