"""warpnet: image classification with neural networks, every step visible."""

__version__ = "0.1.0"
