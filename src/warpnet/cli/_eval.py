"""``warpnet eval MODEL --data ...``: accuracy and a confusion matrix on a data split."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from . import _args, _data
from ._model_file import load_model

NAME = "eval"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(NAME, help="accuracy and confusion matrix of a saved model",
                       description="Score a model file on a data set. Without a test split of its "
                       "own, the data's held-out 20%% (the same images 'train' held out) is used.")
    p.add_argument("model", type=Path, metavar="MODEL", help="a model.safetensors file")
    p.add_argument("--data", default="digits", help=f"{_data.DATA_FORMS} (default: digits)")
    p.add_argument("--split", choices=["test", "train", "all"], default="test",
                   help="which part of the data to score (default: test)")
    p.add_argument("--image-size", type=_args.positive_int, default=32,
                   help="side length images of folder:PATH are resized to (default 32)")
    p.set_defaults(handler=run)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(C, C)`` int64 counts: row = true class, column = predicted class."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def format_confusion(counts: np.ndarray, class_names: list[str]) -> str:
    """The matrix as an aligned text table with class names (truncated to 10 characters)."""
    names = [n[:10] for n in class_names]
    width = max(6, *(len(n) for n in names), len(str(counts.max())))
    header = " " * (width + 2) + " ".join(f"{n:>{width}}" for n in names)
    rows = [f"{names[i]:>{width}}  " + " ".join(f"{c:>{width}}" for c in row)
            for i, row in enumerate(counts)]
    return "\n".join(["rows: true class, columns: predicted class", header, *rows])


def run(args: argparse.Namespace) -> int:
    loaded = load_model(args.model)
    source = _data.load_source(args.data, image_size=args.image_size, stream=True)
    parts = {"test": [(source.x_test, source.y_test)], "train": [(source.x, source.y)],
             "all": [(source.x, source.y), (source.x_test, source.y_test)]}[args.split]
    n_classes = len(loaded.class_names)
    if len(source.class_names) != n_classes:
        raise DataError(f"the data has {len(source.class_names)} classes, but the model knows "
                        f"{n_classes} ({', '.join(loaded.class_names)})")
    y_true = np.concatenate([y for _, y in parts])
    y_pred = np.concatenate([loaded.scores(x).argmax(axis=1) for x, _ in parts])
    accuracy = float(np.mean(y_pred == y_true))
    print(f"{args.split} accuracy {accuracy:.4f} ({int(np.sum(y_pred == y_true))}/{len(y_true)}) "
          f"on {args.data}")
    print(format_confusion(confusion_matrix(y_true, y_pred, n_classes), loaded.class_names))
    return 0
