"""``warpnet predict MODEL FILE...``: the top-k classes of image files, with probabilities."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from . import _args
from ._model_file import load_model

NAME = "predict"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(NAME, help="classify image files with a saved model",
                       description="Print the top-k classes of each image file (PNG, JPEG, ...). "
                       "Images are resized to the model's input size; probabilities are the "
                       "softmax of the scores.")
    p.add_argument("model", type=Path, metavar="MODEL", help="a model.safetensors file")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE", help="image files")
    p.add_argument("--top-k", type=_args.positive_int, default=3,
                   help="how many classes to show per image (default 3)")
    p.set_defaults(handler=run)


def to_model_pixels(rgb: np.ndarray, image_shape: tuple[int, ...], pixel_max: float) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 RGB image -> the layout and scale of the training images.

    Gray models (``(H, W)`` or ``(H, W, 1)``) get the luminance (ITU-R 601 weights, as Pillow's
    "L" mode); values are mapped from 0..255 to 0..pixel_max (16 for the digits) and kept uint8,
    the training images' dtype.
    """
    values = rgb.astype(np.float64)
    if len(image_shape) == 2 or image_shape[-1] == 1:
        values = values @ np.array([0.299, 0.587, 0.114])
        if len(image_shape) == 3:
            values = values[..., None]
    elif image_shape[-1] != 3:
        raise DataError(f"the model takes {image_shape[-1]}-channel images; image files give 3")
    return np.round(values * (pixel_max / 255.0)).astype(np.uint8)


def run(args: argparse.Namespace) -> int:
    from ..data import load_image
    from ..nn import softmax

    loaded = load_model(args.model)
    pre = loaded.preprocessing
    shape = pre.image_shape
    if shape is None or pre.pixel_max is None:
        raise DataError(f"{str(args.model)!r} takes vectors of shape {pre.input_shape_}, not images")
    images = np.stack([to_model_pixels(load_image(f, (shape[0], shape[1])), shape, pre.pixel_max)
                       for f in args.files])
    probs = np.asarray(softmax(loaded.scores(images)))
    k = min(args.top_k, probs.shape[1])
    for file, p in zip(args.files, probs, strict=True):
        top = np.argsort(-p, kind="stable")[:k]
        ranked = ", ".join(f"{loaded.class_names[c]} {p[c]:.3f}" for c in top)
        print(f"{file}: {ranked}")
    return 0
