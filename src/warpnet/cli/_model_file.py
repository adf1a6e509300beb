"""Reading a model file for ``eval`` and ``predict``: the network, its preprocessing and class
names, and the scores of a batch of raw samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.preprocessing import Preprocessor
from ..errors import DataError


@dataclass
class LoadedModel:
    model: Any
    preprocessing: Preprocessor
    class_names: list[str]

    def scores(self, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Raw samples ``(N, *input_shape)`` -> class scores ``(N, C)`` float32, in eval mode.

        Raises:
            DataError: samples the model cannot take (shape, NaN/inf), or scores that are NaN or
                inf (weights or preprocessing in the file that are not finite or overflow).
        """
        from ..backend import to_numpy

        self.model.eval()
        parts = [to_numpy(self.model.forward(self.preprocessing.transform(x[i:i + batch_size])))
                 for i in range(0, len(x), batch_size)]
        scores = np.concatenate(parts)
        bad = ~np.isfinite(scores).all(axis=1)
        if bad.any():
            raise DataError(f"the model gives NaN or inf scores (first for sample "
                            f"{int(np.argmax(bad))}): its file holds weights or preprocessing "
                            "that are not finite or overflow; retrain the model")
        return scores


def load_model(path: Path) -> LoadedModel:
    """Load a model file written by ``warpnet train``.

    Raises:
        FileNotFoundError: no file at ``path``.
        DataError / ValueError: not a valid warpnet model file, or one without preprocessing.
    """
    from .. import io

    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"model file {str(path)!r} {what}")
    saved = io.load(path)
    state = saved.preprocessing
    if not isinstance(state, dict) or "config" not in state or "arrays" not in state:
        raise DataError(f"{str(path)!r} has no preprocessing settings: was it written by "
                        "'warpnet train'?")
    pre = Preprocessor.from_state(state["config"], state["arrays"])
    if "fisher_2011" in state:  # the 2011 system: its pieces must fit together
        from ._fisher2011 import check_pieces

        check_pieces(saved.model, pre, state["fisher_2011"], repr(str(path)))
    names = list(saved.class_names or [])
    if not names:
        raise DataError(f"{str(path)!r} has no class names: was it written by 'warpnet train'?")
    return LoadedModel(saved.model, pre, names)
