"""The labelled 2-D points of a session: generated, edited by clicks, read from and written to CSV.

A :class:`PointSet` is an immutable value (edits return a new one), so the page's view, the
training loop and a download never see a half-edited set.  Everything read from the outside (CSV
text, a point list from the URL, a click) is checked here: finite coordinates within
``±COORD_LIMIT``, integer labels in ``0..MAX_CLASSES-1``, at most ``MAX_POINTS`` points.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import make_toy
from .settings import MAX_CLASSES, MAX_POINTS, Settings

MAX_CSV_BYTES = 1_000_000
COORD_LIMIT = 1e4
_HEADER = ("x", "y", "label", "split")


@dataclass(frozen=True, eq=False)
class PointSet:
    """Points, labels and the train/test split.

    Attributes:
        x: (N, 2) float64 coordinates.
        y: (N,) int64 labels in ``0..n_classes-1``.
        test: (N,) bool, True for held-out points (never trained on).
        n_classes: number of classes the network predicts (2..5), at least ``max(y) + 1``.
    """

    x: np.ndarray
    y: np.ndarray
    test: np.ndarray
    n_classes: int

    def __post_init__(self) -> None:
        for arr in (self.x, self.y, self.test):
            arr.setflags(write=False)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def train(self) -> np.ndarray:
        return ~self.test

    def with_point(self, x: object, y: object, label: object) -> PointSet:
        """A copy with one more training point at (x, y) (numbers) of class ``label`` (an int);
        the arguments come from the browser as they are, and are checked here.

        Raises:
            ValueError: the set is full, the coordinates are not finite numbers within
                ``±COORD_LIMIT`` or the label is not a class of this set.
        """
        if len(self) >= MAX_POINTS:
            raise ValueError(f"a session holds at most {MAX_POINTS} points")
        px, py = _coordinate("x", x), _coordinate("y", y)
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < self.n_classes:
            raise ValueError(f"label must be an integer in [0, {self.n_classes - 1}], got {label!r}")
        return PointSet(np.vstack([self.x, [[px, py]]]), np.append(self.y, label),
                        np.append(self.test, False), self.n_classes)

    def without_nearest(self, x: object, y: object, radius: float) -> PointSet:
        """A copy without the point nearest to (x, y), if it lies within ``radius``; else ``self``.

        Training needs at least one training point, so the last one is never removed.
        """
        px, py = _coordinate("x", x), _coordinate("y", y)
        if len(self) == 0:
            return self
        d2 = (self.x[:, 0] - px) ** 2 + (self.x[:, 1] - py) ** 2
        i = int(np.argmin(d2))
        if d2[i] > radius * radius or (not self.test[i] and int(self.train.sum()) <= 1):
            return self
        keep = np.arange(len(self)) != i
        return PointSet(self.x[keep], self.y[keep], self.test[keep], self.n_classes)

    def view_box(self) -> tuple[float, float, float, float]:
        """A square ``(xmin, xmax, ymin, ymax)`` around the points with a 15% margin, so that the
        plot, the heat map and clicks share one coordinate system."""
        lo, hi = self.x.min(axis=0), self.x.max(axis=0)
        centre = (lo + hi) / 2
        half = max(float((hi - lo).max()) / 2 * 1.15, 0.5)
        return (float(centre[0] - half), float(centre[0] + half),
                float(centre[1] - half), float(centre[1] + half))

    def to_rows(self) -> list[list[Any]]:
        """``[[x, y, label, is_test], ...]`` for JSON, coordinates at full precision so that a
        link carrying them reproduces the run exactly."""
        return [[float(a), float(b), int(c), int(t)]
                for (a, b), c, t in zip(self.x, self.y, self.test, strict=True)]


def _coordinate(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
            or abs(v) > COORD_LIMIT:
        raise ValueError(f"{name} must be a finite number within ±{COORD_LIMIT:g}, got {v!r}")
    return float(v)


def _split(n: int, test_share: float, seed: int) -> np.ndarray:
    """A test mask holding ``round(n * test_share)`` points (at least one point stays for training),
    chosen by ``seed`` alone."""
    n_test = min(int(round(n * test_share)), n - 1)
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    return test


def generate(settings: Settings) -> PointSet:
    """The toy set the settings describe: same settings, same points and split."""
    data = make_toy(settings.dataset, settings.points, settings.noise, settings.seed, settings.classes)
    test = _split(len(data.y), settings.test_share, settings.seed)
    return PointSet(data.x, data.y, test, settings.classes)


def _finish(x: list, y: list, test: list[bool | None], test_share: float, seed: int) -> PointSet:
    """A PointSet from validated rows; rows without a split get one drawn from ``seed``."""
    if len(y) < 2:
        raise ValueError(f"need at least 2 points, got {len(y)}")
    drawn = _split(len(y), test_share, seed)
    mask = np.array([drawn[i] if t is None else t for i, t in enumerate(test)], dtype=bool)
    if mask.all():
        mask[0] = False  # training needs at least one point
    labels = np.asarray(y, dtype=np.int64)
    return PointSet(np.asarray(x, dtype=np.float64).reshape(-1, 2), labels, mask,
                    max(2, int(labels.max()) + 1))


def _label(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < MAX_CLASSES:
        raise ValueError(f"{where}: label must be an integer in [0, {MAX_CLASSES - 1}], got {v!r}")
    return v


def from_rows(rows: Any, test_share: float, seed: int) -> PointSet:
    """Points from the page's list ``[[x, y, label], ...]`` or ``[[x, y, label, is_test], ...]``.

    Raises:
        TypeError: ``rows`` is not a list of lists.
        ValueError: more than ``MAX_POINTS`` rows, fewer than 2, or a bad row (named by index).
    """
    if not isinstance(rows, list):
        raise TypeError(f"points must be a list of [x, y, label] rows, got {type(rows).__name__}")
    if len(rows) > MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS} points are allowed, got {len(rows)}")
    xs, ys, tests = [], [], []
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) not in (3, 4):
            raise ValueError(f"point {i}: expected [x, y, label] or [x, y, label, is_test], got {row!r}")
        xs += [_coordinate(f"point {i}: x", row[0]), _coordinate(f"point {i}: y", row[1])]
        ys.append(_label(row[2], f"point {i}"))
        if len(row) == 4 and row[3] not in (0, 1):
            raise ValueError(f"point {i}: is_test must be 0 or 1, got {row[3]!r}")
        tests.append(bool(row[3]) if len(row) == 4 else None)
    return _finish(xs, ys, tests, test_share, seed)


def parse_csv(data: bytes, test_share: float, seed: int) -> PointSet:
    """Points from CSV text: rows ``x,y,label`` with an optional fourth column ``split``
    (``train``/``test``); an optional header row ``x,y,label[,split]``; blank lines are skipped.
    Rows without a split are split by ``test_share`` and ``seed``.

    Raises:
        ValueError: over ``MAX_CSV_BYTES``, not UTF-8, over ``MAX_POINTS`` rows, or a bad row (the
            message gives its line number).
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"CSV data must be bytes, got {type(data).__name__}")
    if len(data) > MAX_CSV_BYTES:
        raise ValueError(f"the CSV file has {len(data)} bytes; the limit is {MAX_CSV_BYTES}")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"the CSV file is not UTF-8 text (byte {err.start})") from None
    xs: list[float] = []
    ys: list[int] = []
    tests: list[bool | None] = []
    try:
        for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or all(not cell.strip() for cell in row):
                continue
            cells = [cell.strip() for cell in row]
            if line_no == 1 and tuple(c.lower() for c in cells) in (_HEADER[:3], _HEADER):
                continue
            if len(cells) not in (3, 4):
                raise ValueError(f"line {line_no}: expected x,y,label[,split], got {len(cells)} fields")
            if len(ys) >= MAX_POINTS:
                raise ValueError(f"the CSV file has more than {MAX_POINTS} points")
            try:
                px, py = float(cells[0]), float(cells[1])
            except ValueError:
                raise ValueError(f"line {line_no}: x and y must be numbers, got "
                                 f"{cells[0][:20]!r}, {cells[1][:20]!r}") from None
            xs += [_coordinate(f"line {line_no}: x", px), _coordinate(f"line {line_no}: y", py)]
            if not cells[2].lstrip("-").isdigit() or len(cells[2]) > 3:
                raise ValueError(f"line {line_no}: label must be an integer in [0, {MAX_CLASSES - 1}], "
                                 f"got {cells[2][:20]!r}")
            ys.append(_label(int(cells[2]), f"line {line_no}"))
            if len(cells) == 4:
                if cells[3].lower() not in ("train", "test"):
                    raise ValueError(f"line {line_no}: split must be 'train' or 'test', "
                                     f"got {cells[3][:20]!r}")
                tests.append(cells[3].lower() == "test")
            else:
                tests.append(None)
    except csv.Error as err:
        raise ValueError(f"the CSV file is malformed: {err}") from None
    return _finish(xs, ys, tests, test_share, seed)


def to_csv(points: PointSet) -> str:
    """CSV text with a header ``x,y,label,split``; :func:`parse_csv` reads it back unchanged
    (coordinates written with ``repr`` precision)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_HEADER)
    for (a, b), c, t in zip(points.x, points.y, points.test, strict=True):
        writer.writerow([repr(float(a)), repr(float(b)), int(c), "test" if t else "train"])
    return out.getvalue()
