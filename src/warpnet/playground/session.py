"""One playground training session: points, a warpnet MLP, its optimizer, and what the page shows.

Training is plain warpnet: ``mlp`` from the engine, a registered loss, the L2 penalty, a registered
optimizer, mini-batches drawn from the session's seed.  The same settings and points therefore give
the same weights after the same number of steps, whoever runs them.

:meth:`TrainingSession.snapshot` packs the view for the page: metrics, confusion matrix, the class
probabilities on a ``GRID x GRID`` grid (uint8, base64) and the space-warp view (points and grid
lines mapped through one hidden layer, float32, base64).  A session is not thread-safe; the server
runs at most one call on a session at a time.
"""

from __future__ import annotations

import base64
import dataclasses
import time
from typing import Any

import numpy as np

from ..nn import ACTIVATIONS, L2, LOSSES, Sequential, mlp, softmax
from ..optim import OPTIMIZERS
from ..train.step import make_step
from .points import PointSet, generate
from .settings import Settings, optimizer_takes_momentum

GRID = 50  # heat-map resolution (cells per side)
WARP_POINTS = 1000  # points shown in the warp view (the set is shuffled, so a prefix is fair)
WARP_LINES = 13  # grid lines per direction in the warp view
WARP_SAMPLES = 41  # samples along each grid line
_ACTIVATION_TYPES = tuple(ACTIVATIONS.get(name) for name in ACTIVATIONS.names())


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


class TrainingSession:
    """Points, model and optimizer of one page.

    Args:
        settings: the validated settings (defaults if None).
        points: the points to train on; None generates them from the settings.
    """

    def __init__(self, settings: Settings | None = None, points: PointSet | None = None) -> None:
        self.settings = settings or Settings()
        self.points = points if points is not None else generate(self.settings)
        # True once the points differ from what the settings generate (clicked, uploaded, given).
        self.custom = points is not None
        self._geometry: tuple[PointSet, np.ndarray, np.ndarray] | None = None
        self.reset()

    # -- configuration -------------------------------------------------------------------------
    def configure(self, settings: Settings, points: PointSet | None = None) -> None:
        """New settings; the points are ``points``, else kept when the data settings are unchanged
        (so clicked points survive a change of learning rate), else regenerated.  Resets training."""
        if points is not None:
            self.points, self.custom = points, True
        elif settings.data_key() != self.settings.data_key():
            self.points, self.custom = generate(settings), False
        self.settings = settings
        self.reset()

    def set_points(self, points: PointSet) -> None:
        """Replace the points; the model is rebuilt when the class count changes."""
        rebuild = points.n_classes != self.points.n_classes
        self.points, self.custom = points, True
        if rebuild:
            self.reset()
        else:
            self._cache_data()

    def set_display(self, warp_layer: int, warp_mode: str) -> None:
        """Change the warp view without touching training."""
        self.settings = dataclasses.replace(
            self.settings, warp_layer=min(warp_layer, len(self.settings.hidden)), warp_mode=warp_mode)

    def reset(self) -> None:
        """Fresh weights and optimizer state from the seed; step 0."""
        s = self.settings
        self.model: Sequential = mlp([2, *s.hidden, self.points.n_classes], list(s.activations),
                                     dropout=s.dropout, rng=s.seed)
        self.loss_fn = LOSSES.get(s.loss)()
        self.penalty = L2(s.l2)
        kwargs: dict[str, Any] = {"momentum": s.momentum} if optimizer_takes_momentum(s.optimizer) else {}
        self.optimizer = OPTIMIZERS.get(s.optimizer)(self.model.parameters(), lr=s.lr, **kwargs)
        self._step = make_step(self.model, self.loss_fn, self.optimizer, self.penalty)
        # Batches come from their own stream of the seed, independent of the weights' stream.
        self.batch_rng = np.random.default_rng([s.seed, 1])
        self.steps = 0
        self.model.train()
        self._cache_data()

    def _cache_data(self) -> None:
        p = self.points
        self.x_train = p.x[p.train].astype(np.float32)  # (Ntr, 2)
        self.y_train = p.y[p.train]
        self.x_test = p.x[p.test].astype(np.float32)  # (Nte, 2)
        self.y_test = p.y[p.test]
        self._order = np.empty(0, dtype=np.int64)

    # -- training ------------------------------------------------------------------------------
    def step(self) -> float:
        """One mini-batch step; returns the batch's total loss (data loss + L2 penalty).

        Batches walk through a fresh permutation of the training points every epoch.

        Raises:
            ValueError: the scores became non-finite (the run diverged).
        """
        n = len(self.y_train)
        b = min(self.settings.batch, n)
        if len(self._order) < b:
            self._order = self.batch_rng.permutation(n)
        idx, self._order = self._order[:b], self._order[b:]
        # A diverging run overflows on the way; the loss's own finiteness check reports it.
        with np.errstate(over="ignore", invalid="ignore"):
            loss = self._step(self.x_train[idx], self.y_train[idx])  # the trainer's step
        self.steps += 1
        return loss

    def train_for(self, seconds: float, max_steps: int = 10_000) -> int:
        """Run steps for about ``seconds`` of wall time (at least one step); returns how many."""
        deadline = time.monotonic() + seconds
        done = 0
        while True:
            self.step()
            done += 1
            if done >= max_steps or time.monotonic() >= deadline:
                return done

    # -- what the page shows -------------------------------------------------------------------
    def _forward(self, x: np.ndarray, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """One eval-mode pass over ``x`` (N, 2): the scores (N, C) float32 and the activations
        (N, units) after hidden layer ``layer`` (1-based; 0 = the input itself)."""
        h = np.asarray(x, dtype=np.float32)
        hidden = h
        ends = [i for i, m in enumerate(self.model.layers) if isinstance(m, _ACTIVATION_TYPES)]
        stop = ends[layer - 1] if layer else -1
        self.model.eval()
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                for i, m in enumerate(self.model.layers):
                    h = m.forward(h)
                    if i == stop:
                        hidden = h.copy()  # later layers may reuse buffers
        finally:
            self.model.train()
        return h, hidden

    def predict_scores(self, x: np.ndarray) -> np.ndarray:
        """Scores (N, C) float32 of the network in eval mode for points ``x`` (N, 2)."""
        return self._forward(x, 0)[0]

    def hidden_output(self, x: np.ndarray, layer: int) -> np.ndarray:
        """Activations (N, units) after hidden layer ``layer`` (1-based; 0 = the input itself)."""
        return self._forward(x, layer)[1]

    def _grid_and_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Heat-map cell centres (GRID*GRID, 2), row 0 at the top (max y), and the warp view's
        grid lines (2*WARP_LINES*WARP_SAMPLES, 2): vertical lines, then horizontal ones.
        Computed once per point set (they depend only on its view box)."""
        if self._geometry is None or self._geometry[0] is not self.points:
            self._geometry = (self.points, *self._make_grid_and_lines())
        return self._geometry[1], self._geometry[2]

    def _make_grid_and_lines(self) -> tuple[np.ndarray, np.ndarray]:
        x0, x1, y0, y1 = self.points.view_box()
        cx = x0 + (np.arange(GRID) + 0.5) * (x1 - x0) / GRID
        cy = y1 - (np.arange(GRID) + 0.5) * (y1 - y0) / GRID
        gx, gy = np.meshgrid(cx, cy)
        t = np.linspace(0.0, 1.0, WARP_SAMPLES)
        offsets = np.linspace(0.0, 1.0, WARP_LINES)
        vert = [np.stack([np.full_like(t, x0 + o * (x1 - x0)), y0 + t * (y1 - y0)], 1) for o in offsets]
        horiz = [np.stack([x0 + t * (x1 - x0), np.full_like(t, y0 + o * (y1 - y0))], 1) for o in offsets]
        return np.stack([gx.ravel(), gy.ravel()], 1), np.concatenate(vert + horiz)

    def grid_probabilities(self) -> np.ndarray:
        """Class probabilities (GRID, GRID, C) float32 at cell centres; row 0 is the top (max y)."""
        grid, _ = self._grid_and_lines()
        return softmax(self.predict_scores(grid)).reshape(GRID, GRID, -1)

    def _project(self, h_pts: np.ndarray, h_lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """2-D coordinates of hidden activations for the warp view: the first two units, or the
        projection on the points' two principal components."""
        h_pts, h_lines = h_pts.astype(np.float64), h_lines.astype(np.float64)
        if self.settings.warp_mode == "pca" and h_pts.shape[1] > 2:
            mean = h_pts.mean(axis=0)
            centred = h_pts - mean
            # The top two eigenvectors of the (H, H) scatter matrix: cheaper than an SVD of the
            # (M, H) activations, which matters at ten updates a second.
            _, vecs = np.linalg.eigh(centred.T @ centred)
            basis = vecs[:, ::-1][:, :2].copy()  # (H, 2), largest eigenvalue first
            # Fix each component's sign (largest weight positive) so the view does not flip.
            basis *= np.sign(basis[np.argmax(np.abs(basis), axis=0), [0, 1]])
            return centred @ basis, (h_lines - mean) @ basis
        pad = ((0, 0), (0, max(0, 2 - h_pts.shape[1])))
        return np.pad(h_pts[:, :2], pad), np.pad(h_lines[:, :2], pad)

    def _metrics(self, scores: np.ndarray, y: np.ndarray) -> dict[str, float] | None:
        if len(y) == 0:
            return None
        data_loss, _ = self.loss_fn(scores, y)  # raises ValueError on NaN/inf scores
        reg = self.settings.l2 * sum(float(np.sum(p.value.astype(np.float64) ** 2))
                                     for p in self.model.parameters() if p.regularize)
        return {"loss": float(data_loss) + reg,
                "accuracy": float(np.mean(np.argmax(scores, axis=1) == y))}

    def snapshot(self) -> dict[str, Any]:
        """Everything the page draws after a training slice, JSON-able and compact.

        The points, the heat-map cells and the warp view's grid lines go through the network in
        one batched pass.

        Raises:
            ValueError: the network's scores are NaN or inf (the run diverged).
        """
        p, s, C = self.points, self.settings, self.points.n_classes
        grid, lines = self._grid_and_lines()
        N, G = len(p), len(grid)
        scores, hidden = self._forward(np.concatenate([p.x, grid, lines]), s.warp_layer)
        train = self._metrics(scores[:N][p.train], p.y[p.train])
        test = self._metrics(scores[:N][p.test], p.y[p.test])
        # Without held-out points the confusion matrix falls back to the training points.
        which = p.test if test is not None else p.train
        confusion = np.zeros((C, C), dtype=np.int64)
        np.add.at(confusion, (p.y[which], np.argmax(scores[:N][which], axis=1)), 1)
        probs = np.rint(softmax(scores[N:N + G]) * 255).astype(np.uint8)  # (G, C)
        M = min(N, WARP_POINTS)
        warp_pts, warp_lines = self._project(hidden[:M], hidden[N + G:])
        n_train = max(int(p.train.sum()), 1)
        return {
            "type": "update",
            "step": self.steps,
            "epoch": round(self.steps * min(s.batch, n_train) / n_train, 2),
            "train": train,
            "test": test,
            "confusion": confusion.tolist(),
            "confusion_of": "test" if test is not None else "train",
            "grid": {"size": GRID, "classes": C, "probs": _b64(probs)},
            "warp": {"layer": s.warp_layer, "mode": s.warp_mode, "n_points": M,
                     "n_lines": 2 * WARP_LINES, "per_line": WARP_SAMPLES,
                     "points": _b64(warp_pts.astype("<f4")), "lines": _b64(warp_lines.astype("<f4"))},
        }

    def state(self) -> dict[str, Any]:
        """The points and settings (sent when they change, not with every update)."""
        return {"type": "state", "settings": self.settings.to_dict(), "points": self.points.to_rows(),
                "n_classes": self.points.n_classes, "view": list(self.points.view_box()),
                "custom": self.custom}
