"""Named training recipes for ``warpnet train --recipe NAME``: settings that replace the
defaults, which any flag given on the command line overrides in turn."""

from __future__ import annotations

from typing import Any

from ..registry import Registry

RECIPES: Registry[dict[str, Any]] = Registry("recipe")

# The best fully-connected net found for 32x32 colour images (CIFAR-10, raw pixels): three
# hidden layers of 1,024 with batch normalisation, AdamW with a cosine schedule after one
# warm-up epoch, label smoothing, random flips and shifts by up to 4 pixels, for 60 epochs (an
# epoch of 25,000 images costs about 9 CPU seconds: the run fits in 10 minutes of one core).
# Longer training is what pays most: with augmentation the net is far from overfitting (3 x 512
# on 5,000 images: 47.5 % after 15 epochs, 50.5 % after 45, training accuracy 57 %).  Needs image
# data (the augmentation refuses vectors); see benchmarks/cifar10.py for what it reaches.
RECIPES.register("mlp-best")({
    "model": "mlp", "hidden": [1024, 1024, 1024], "activation": "relu", "norm": "batch",
    "dropout": 0.0, "reg": 0.0, "optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.05,
    "schedule": "cosine", "warmup": 1, "label_smoothing": 0.1, "augment": "flip,shift=4",
    "epochs": 60, "batch_size": 128,
})
