"""Image features as batched scikit-learn transformers.

``HOG`` (equal to ``skimage.feature.hog``), ``ColorHistogram`` (the classic hue
histogram, exact for uint8), ``BagOfWords`` (k-means visual words;
``KMeansTriangle`` is its Coates & Ng configuration), the dense
descriptors ``DenseSIFT`` and ``ColorStats``, their ``FisherVector`` encoding
(``ColorFisherVector``: colour by default), ``ProductQuantizer`` compression into
``CompressedFeatures``, the ``FEATURES``
registry, ``make_features("hog+color")`` and a pickle-free state round trip
(``features_to_state`` / ``features_from_state``) for model files.
"""

from .bow import BagOfWords, KMeansTriangle
from .color import ColorHistogram
from .dense import ColorStats, DenseSIFT
from .fisher import ColorFisherVector, FisherVector
from .hog import HOG
from .pq import CompressedFeatures, ProductQuantizer
from .spec import (
    FEATURES,
    classic_features,
    features_from_state,
    features_to_state,
    make_features,
)

__all__ = [
    "FEATURES",
    "HOG",
    "BagOfWords",
    "ColorFisherVector",
    "ColorHistogram",
    "ColorStats",
    "CompressedFeatures",
    "DenseSIFT",
    "FisherVector",
    "KMeansTriangle",
    "ProductQuantizer",
    "classic_features",
    "features_from_state",
    "features_to_state",
    "make_features",
]
