"""Named training recipes for ``warpnet train --recipe NAME``: settings that replace the
defaults, which any flag given on the command line overrides in turn."""

from __future__ import annotations

from typing import Any

from ..registry import Registry

RECIPES: Registry[dict[str, Any]] = Registry("recipe")

# The best fully-connected net found for 32x32 colour images (CIFAR-10, raw pixels): pixels
# standardized then ZCA-whitened (eps 0.1), three hidden layers of 1,024 with batch normalisation
# and dropout 0.2, AdamW with a cosine schedule after one warm-up epoch, label smoothing, random
# flips and shifts by up to 4 pixels (of the whitened images), 80 epochs: 65.12 % test accuracy on
# the 25,000-image subset in 408.7 s on 2 threads (5.1 s per epoch, load average 1-2; fitting the
# whitening takes 8.5 s more), 65.49 % on one thread (8.2 CPU s per epoch).  Whitening is what lifted
# it from 60.74 %: on a 20-epoch run 57.45 % against 55.81 % for standardized pixels (eps 0.03:
# 55.88 %, eps 0.01: 55.01 %; a smaller eps boosts the noisy fine detail too much).  Without
# dropout the net overfits (unwhitened, 100 epochs: 59.54 % at 93 % training accuracy).  Needs
# image data (the augmentation refuses vectors); see benchmarks/cifar10.py.
RECIPES.register("mlp-best")({
    "whiten": "zca", "whiten_eps": 0.1,
    "model": "mlp", "hidden": [1024, 1024, 1024], "activation": "relu", "norm": "batch",
    "dropout": 0.2, "reg": 0.0, "optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.05,
    "schedule": "cosine", "warmup": 1, "label_smoothing": 0.1, "augment": "flip,shift=4",
    "epochs": 80, "batch_size": 128,
})
