"""Data sets: every loader returns a :class:`Dataset` (arrays, class names, optional test split)
and validates what it reads; ``Standardizer`` and ``Preprocessor`` prepare the samples for the
network, fit on the training split only."""

from .cifar import load_cifar10
from .dataset import Dataset
from .digits import load_digits
from .folder import load_image, load_image_folder
from .npz import load_npz
from .preprocessing import Preprocessor, Standardizer
from .toy import TOY_CLASSIFICATION, TOY_REGRESSION, make_toy

__all__ = [
    "TOY_CLASSIFICATION",
    "TOY_REGRESSION",
    "Dataset",
    "Preprocessor",
    "Standardizer",
    "load_cifar10",
    "load_digits",
    "load_image",
    "load_image_folder",
    "load_npz",
    "make_toy",
]
