"""``image-features``: what the classic hand-made image features see.

One colour image beside three descriptions of it: the HOG glyphs (per 8x8 cell, a star whose
rays are the cell's gradient-orientation histogram: edges and their directions), the hue
histogram (which colours, not where), and a bag-of-words codebook (the k-means centres of random
patches, drawn as a grid of little pictures: the "visual words" an image is counted in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure

from ._common import new_figure

__all__ = ["ImageFeatures", "example_image", "fit_image_features", "plot_image_features"]

_SAMPLE_PHOTOS = ("flower.jpg", "china.jpg")  # colour photos that ship with scikit-learn


@dataclass
class ImageFeatures:
    """The fitted transformers the figure draws."""

    hog: Any
    hue: Any
    bow: Any


def _downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks of an (H, W, 3) uint8 image."""
    H, W = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:H, :W].reshape(H // factor, factor, W // factor, factor, 3)
    return blocks.mean(axis=(1, 3)).round().astype(np.uint8)


def example_image(images: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The image to describe and the images to learn the codebook from.

    Args:
        images: an object with ``x`` (N, H, W[, C]) and ``name``: colour images (CIFAR-10) give
            one of their own images and 500 of them for the codebook; gray 8x8 digits are too
            small and colourless, so a photo that ships with scikit-learn is used instead, and
            the codebook is learnt from 64x64 tiles of both sample photos.
        seed: picks the image and the codebook images.

    Returns:
        ``(image, codebook_images)``: ``(H, W, 3)`` uint8 and ``(M, h, w, 3)`` uint8.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(images.x)
    if x.ndim == 4 and x.shape[-1] == 3:
        pick = rng.permutation(len(x))
        return x[pick[0]].astype(np.uint8), x[pick[1:501]].astype(np.uint8)
    from sklearn.datasets import load_sample_image

    photos = [_downsample(load_sample_image(name), 3) for name in _SAMPLE_PHOTOS]
    tiles = [p[i:i + 64, j:j + 64] for p in photos
             for i in range(0, p.shape[0] - 63, 32) for j in range(0, p.shape[1] - 63, 32)]
    return photos[0], np.stack(tiles)


def fit_image_features(codebook_images: np.ndarray, *, n_words: int = 25, seed: int = 0
                       ) -> ImageFeatures:
    """HOG (9 orientations, 8x8 cells), a 12-bin hue histogram, and a bag of words of
    ``n_words`` 8x8 patches fitted on ``codebook_images`` ``(M, h, w, 3)``."""
    from ..features import HOG, BagOfWords, ColorHistogram

    bow = BagOfWords(n_words, patch_size=8, n_patches=2000, descriptor="pixels",
                     random_state=seed).fit(codebook_images)
    return ImageFeatures(hog=HOG(orientations=9, pixels_per_cell=8),
                         hue=ColorHistogram(bins=12, space="hsv", channels=("h",)), bow=bow)


def plot_image_features(image: np.ndarray, features: ImageFeatures) -> Figure:
    """Four panels: the image, its HOG glyphs, its hue histogram, the bag-of-words codebook.

    Args:
        image: one ``(H, W, 3)`` uint8 RGB image.
        features: from :func:`fit_image_features`.

    Returns:
        The Figure; the HOG picture is an image with gid ``"hog"`` (its array is
        ``features.hog.visualize(image)``), the hue bars have gid ``"hue"`` (heights =
        ``features.hue.transform(image[None])[0]``), each codebook patch gid ``"word"``.

    Raises:
        ValueError: ``image`` is not one (H, W, 3) image.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be one (H, W, 3) RGB image, got shape {image.shape}")
    fig = new_figure(12.0, 3.6)
    ax_img, ax_hog, ax_hue, sub_words = fig.subfigures(1, 4, squeeze=False, width_ratios=[1, 1, 1.1, 1])[0]
    ax_img, ax_hog, ax_hue = (s.subplots() for s in (ax_img, ax_hog, ax_hue))

    ax_img.imshow(image, interpolation="nearest")
    ax_img.set_title(f"image {image.shape[1]}x{image.shape[0]}", fontsize=9)
    ax_img.set_axis_off()

    glyphs = features.hog.visualize(image)
    # Saturate the strongest fifth of the scale: faint edges stay visible at a small size.
    ax_hog.imshow(glyphs, cmap="gray", vmin=0.0, vmax=0.8 * float(glyphs.max()) or 1.0,
                  interpolation="nearest", gid="hog")
    ax_hog.set_title("HOG: gradient orientations per 8x8 cell", fontsize=9)
    ax_hog.set_axis_off()

    hue = np.asarray(features.hue.fit(image[None]).transform(image[None]))[0]
    bins = len(hue)
    centres = (np.arange(bins) + 0.5) / bins
    colors = hsv_to_rgb(np.stack([centres, np.ones(bins), np.ones(bins)], axis=1))
    ax_hue.bar(np.arange(bins), hue, color=colors, edgecolor="0.3", gid="hue")
    ax_hue.set_xticks([])
    ax_hue.set_xlabel("hue")
    ax_hue.set_ylabel("fraction of pixels")
    ax_hue.set_title("hue histogram", fontsize=9)

    # Each word is a k-means centre of contrast-normalised pixel patches: shown as a patch.
    p = features.bow.patch_size
    words = np.asarray(features.bow.codebook_).reshape(features.bow.n_words, p, p, -1)
    side = int(np.ceil(np.sqrt(len(words))))
    sub_words.suptitle(f"bag of words: {len(words)} visual words", fontsize=9)
    for k, ax in enumerate(sub_words.subplots(side, side, squeeze=False).ravel()):
        ax.set_axis_off()
        if k < len(words):
            w = words[k].astype(np.float64)
            w = (w - w.min()) / ((w.max() - w.min()) or 1.0)
            ax.imshow(w[..., 0] if w.shape[-1] == 1 else w, cmap="gray",
                      interpolation="nearest", gid="word")
    fig.suptitle("Image features: HOG, colour histogram, bag of words")
    return fig
