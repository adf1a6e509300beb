"""``ProductQuantizer``: compress feature vectors to one byte per sub-vector; ``CompressedFeatures``.

Product quantization (Jegou, Douze & Schmid 2011; for Fisher vectors Sanchez &
Perronnin 2011) cuts each D-dimensional row into ``D / G`` sub-vectors of ``G =
sub_dim`` values and replaces each by the index of its nearest centroid in a
codebook of ``2 ** (G * b)`` centroids learned for that position by k-means
(``b = bits_per_value``). With G = 8 and b = 1 a row of float32 becomes D / 8
bytes: 32 times smaller. ``CompressedFeatures`` holds the codes and hands out
decoded float32 rows for any row indices, so a classifier reads a training set
batch by batch whose float32 form would not fit in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from ..checks import check_int
from ._dask import is_dask_array

# Largest code: 16 bits (uint16 codes, 65,536 centroids per codebook).
_MAX_BITS = 16
# Distance blocks: at most this many (row, sub-vector, centroid) triples at once.
_BLOCK = 1 << 22
_ROWS = 512


def _code_dtype(bits: int) -> type[np.unsignedinteger[Any]]:
    return np.uint8 if bits <= 8 else np.uint16


class ProductQuantizer(TransformerMixin, BaseEstimator):
    """Product quantizer: one k-means codebook per sub-vector position.

    ``fit`` draws ``n_samples`` rows (all if fewer), and for each of the ``M = D /
    sub_dim`` positions runs ``max_iter`` Lloyd iterations of k-means with ``K =
    2 ** (sub_dim * bits_per_value)`` centroids, all positions at once as batched
    matrix products (initial centroids: K distinct sampled rows; a centroid that
    loses all its rows keeps its place). ``encode`` maps each sub-vector to its
    nearest centroid (ties: the lowest index), ``decode`` maps codes back to the
    centroids, and ``transform(X) = decode(encode(X))`` is the nearest-centroid
    reconstruction.

    Args:
        sub_dim: values per sub-vector G (>= 1; must divide the feature count).
        bits_per_value: bits per value b (>= 1); G * b <= 16.
        n_samples: rows drawn for k-means (>= K).
        max_iter: Lloyd iterations (>= 1).
        random_state: None, an int or a ``numpy.random.Generator``.

    Fitted: ``codebooks_`` (M, K, G) float32, ``n_features_in_`` D, ``n_iter_``
    (Lloyd iterations run).

    Raises:
        ValueError: bad parameters, ``sub_dim`` not dividing the feature count,
            fewer rows than centroids, NaN/inf values, and for ``encode``/``decode``
            data of another width than in ``fit``; ``NotFittedError`` before ``fit``.
    """

    def __init__(
        self,
        sub_dim: int = 8,
        bits_per_value: int = 1,
        n_samples: int = 10_000,
        max_iter: int = 10,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.sub_dim = sub_dim
        self.bits_per_value = bits_per_value
        self.n_samples = n_samples
        self.max_iter = max_iter
        self.random_state = random_state

    # -- parameters --------------------------------------------------------------
    def _check_params(self) -> int:
        """Validate parameters; return the bits per code."""
        G = check_int(self.sub_dim, "sub_dim", 1)
        b = check_int(self.bits_per_value, "bits_per_value", 1)
        if G * b > _MAX_BITS:
            raise ValueError(
                f"sub_dim * bits_per_value must be <= {_MAX_BITS} (2**16 centroids per "
                f"codebook), got {G} * {b} = {G * b}"
            )
        check_int(self.n_samples, "n_samples", 2 ** (G * b))
        check_int(self.max_iter, "max_iter", 1)
        if self.random_state is not None and not isinstance(
            self.random_state, (int, np.integer, np.random.Generator)
        ):
            raise ValueError(
                "random_state must be None, an int or a numpy.random.Generator, "
                f"got {self.random_state!r}"
            )
        return G * b

    @property
    def n_centroids(self) -> int:
        """Centroids per codebook, ``2 ** (sub_dim * bits_per_value)``."""
        return 2 ** (self.sub_dim * self.bits_per_value)

    # -- fit -----------------------------------------------------------------------
    def fit(self, X: Any, y: object = None) -> ProductQuantizer:
        """Learn one codebook per sub-vector position from rows of ``X`` (N, D); return ``self``.

        ``X`` may be a ``dask.array``: only the ``n_samples`` rows drawn are loaded (and
        checked for NaN/inf), the same rows as from the NumPy array, so the codebooks are equal.

        Raises:
            ValueError: bad parameters, D not a multiple of ``sub_dim``, N < 2 **
                (sub_dim * bits_per_value), NaN/inf values.
        """
        self._check_params()
        rng = np.random.default_rng(self.random_state)
        rows = None
        if is_dask_array(X):  # load only the rows k-means draws: the same rows as on NumPy
            N = int(X.shape[0]) if X.ndim else 0
            if X.ndim == 2 and N > 0:
                rows = np.sort(rng.choice(N, min(N, self.n_samples), replace=False))
                X = X[rows]
            else:  # a wrong rank or no rows: validate_data names it, from one row
                X = X[:1]
            X = validate_data(self, np.asarray(X.compute()), dtype=(np.float32, np.float64),
                              reset=True)
        else:
            X = validate_data(self, X, dtype=(np.float32, np.float64), reset=True)
            N = X.shape[0]
        D = X.shape[1]
        G, K = self.sub_dim, self.n_centroids
        if D % G:
            raise ValueError(
                f"sub_dim={G} does not divide the {D} features: the feature count must be "
                f"a multiple of sub_dim"
            )
        if N < K:
            raise ValueError(
                f"X has {N} sample(s), but {K} centroids per codebook (sub_dim={G}, "
                f"bits_per_value={self.bits_per_value}) need at least {K}"
            )
        if rows is None:
            rows = np.sort(rng.choice(N, min(N, self.n_samples), replace=False))
        else:  # X holds the drawn rows already
            rows = np.arange(len(X))
        sample = X[rows].astype(np.float32).reshape(len(rows), D // G, G).transpose(1, 0, 2)
        self.codebooks_ = _kmeans(np.ascontiguousarray(sample), K, self.max_iter, rng)
        self.n_iter_ = self.max_iter
        return self

    # -- encode / decode -------------------------------------------------------------
    def _check_rows(self, X: object) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, dtype=(np.float32, np.float64), reset=False)

    def encode(self, X: object) -> np.ndarray:
        """Codes (N, D / sub_dim) uint8 (uint16 above 8 bits per code) of rows ``X`` (N, D).

        Raises:
            ValueError: not fitted, another D than in ``fit``, NaN/inf values.
        """
        X = self._check_rows(X)
        M, K, G = self.codebooks_.shape
        out = np.empty((len(X), M), dtype=_code_dtype(self.sub_dim * self.bits_per_value))
        C = self.codebooks_
        half_norms = 0.5 * np.einsum("mkg,mkg->mk", C, C)[:, None, :]  # (M, 1, K)
        # blocks of rows x positions: products of at least _ROWS rows (cheap per call)
        # and at most _BLOCK distances in memory
        rows = min(len(X), _ROWS)
        cols = max(1, _BLOCK // (rows * K))
        with threadpool_limits(1, user_api="blas"):  # many small products: one thread each
            for r in range(0, len(X), rows):
                block = X[r : r + rows].reshape(-1, M, G)
                for m in range(0, M, cols):
                    x = block[:, m : m + cols].astype(np.float32).transpose(1, 0, 2)
                    out[r : r + rows, m : m + cols] = _nearest(
                        x, C[m : m + cols], half_norms[m : m + cols]
                    ).T
        return out

    def decode(self, codes: object) -> np.ndarray:
        """Rows (N, D) float32 rebuilt from ``codes`` (N, D / sub_dim): each code's centroid.

        Raises:
            ValueError: not fitted, codes of another width or outside 0 .. K - 1.
        """
        check_is_fitted(self)
        c = np.asarray(codes)
        M, K, G = self.codebooks_.shape
        if c.ndim != 2 or c.shape[1] != M or c.dtype.kind not in "ui":
            raise ValueError(
                f"codes must be an integer array (N, {M}), got shape {c.shape} and dtype {c.dtype}"
            )
        if c.size and (c.min() < 0 or c.max() >= K):
            raise ValueError(f"codes must lie in 0..{K - 1}, got values in {c.min()}..{c.max()}")
        # one gather from the (M * K, G) table of all centroids: code c at position m is row
        # m * K + c (np.take runs about 10x faster than indexing codebooks_[arange(M), c])
        rows = c.astype(np.intp) + np.arange(0, M * K, K, dtype=np.intp)
        return np.take(self.codebooks_.reshape(M * K, G), rows, axis=0).reshape(len(c), M * G)

    def transform(self, X: object) -> np.ndarray:
        """The nearest-centroid reconstruction ``decode(encode(X))``: (N, D) float32."""
        return self.decode(self.encode(X))

    def compress(self, X: object | Iterable[object]) -> CompressedFeatures:
        """Codes of ``X`` (N, D), or of an iterable of (n_i, D) chunks, as ``CompressedFeatures``.

        Chunks let features be computed and compressed piece by piece, so the
        float32 matrix never exists whole.
        """
        if isinstance(X, np.ndarray) or hasattr(X, "__array__"):
            chunks: Iterable[object] = [X]
        else:
            chunks = X  # type: ignore[assignment]
        codes = [self.encode(chunk) for chunk in chunks]
        if not codes:
            raise ValueError("X holds no chunks: expected an array or a non-empty iterable of arrays")
        return CompressedFeatures(np.concatenate(codes), self)

    # -- model files ---------------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able ``config`` and ``arrays`` ({"codebooks_": ...}) for a model file.

        Raises:
            NotFittedError: before ``fit``. ValueError: a Generator ``random_state``.
        """
        check_is_fitted(self)
        params = self.get_params()
        if isinstance(params["random_state"], np.random.Generator):
            raise ValueError("random_state must be an int or None to be stored, got a Generator")
        return {"params": params, "n_features_in_": int(self.n_features_in_)}, {
            "codebooks_": self.codebooks_
        }

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> ProductQuantizer:
        """Rebuild a fitted quantizer from ``to_state`` output, checking that the pieces fit.

        Raises:
            ValueError: bad parameters, a missing or mis-shaped ``codebooks_``.
        """
        try:
            pq = cls(**dict(config["params"]))
            D = int(config["n_features_in_"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad product-quantizer config: {exc}") from exc
        pq._check_params()
        C = np.asarray(arrays.get("codebooks_", np.empty(0)), dtype=np.float32)
        want = (D // pq.sub_dim, pq.n_centroids, pq.sub_dim)
        if D % pq.sub_dim or C.shape != want or not np.isfinite(C).all():
            raise ValueError(
                f"codebooks_ must be finite with shape {want} for {D} features and "
                f"sub_dim={pq.sub_dim}, got {C.shape}"
            )
        pq.codebooks_ = C
        pq.n_features_in_ = D
        return pq

    def __sklearn_tags__(self):  # noqa: D105 - scikit-learn protocol
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float32"]  # reconstructions are float32
        return tags


class CompressedFeatures:
    """Product-quantized rows that decode on demand: an (N, D) float32 matrix to read from.

    ``features[rows]`` (an int, a slice or an index array) decodes just those rows;
    ``batches(batch_size)`` yields consecutive decoded blocks; ``nbytes`` is the
    size of the codes. It is a *row source* (``take``, ``subset``, ``shape``,
    ``dtype``): ``Trainer.fit`` and ``LinearClassifier.fit`` read it minibatch by
    minibatch, decoding each one as it is drawn, so the float32 matrix never exists.

    Args:
        codes: (N, M) integer codes from ``quantizer.encode``.
        quantizer: the fitted ``ProductQuantizer`` that made them.
    """

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, codes: np.ndarray, quantizer: ProductQuantizer) -> None:
        check_is_fitted(quantizer)
        codes = np.asarray(codes)
        M = quantizer.codebooks_.shape[0]
        if codes.ndim != 2 or codes.shape[1] != M:
            raise ValueError(f"codes must have shape (N, {M}), got {codes.shape}")
        self.codes = codes
        self.quantizer = quantizer

    @property
    def shape(self) -> tuple[int, int]:
        """(N, D): rows and decoded features."""
        return (len(self.codes), int(self.quantizer.n_features_in_))

    @property
    def nbytes(self) -> int:
        """Bytes held by the codes."""
        return int(self.codes.nbytes)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, rows: Any) -> np.ndarray:
        """Decoded float32 rows: (D,) for an int, (n, D) for a slice or index array."""
        if isinstance(rows, (int, np.integer)):
            return self.quantizer.decode(self.codes[rows][None])[0]
        return self.quantizer.decode(self.codes[rows])

    def take(self, rows: Any) -> np.ndarray:
        """Decoded float32 rows (n, D) at the integer indices ``rows`` (n,): what a trainer
        gathers for one minibatch."""
        return self.quantizer.decode(self.codes[np.asarray(rows)])

    def subset(self, rows: Any) -> CompressedFeatures:
        """The compressed rows at ``rows`` (integer indices or a boolean mask), still encoded."""
        return CompressedFeatures(self.codes[np.asarray(rows)], self.quantizer)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.quantizer.decode(self.codes)
        return out if dtype is None else out.astype(dtype)

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """Decoded rows in order, ``batch_size`` at a time (the last batch may be shorter)."""
        check_int(batch_size, "batch_size", 1)
        for start in range(0, len(self), batch_size):
            yield self[start : start + batch_size]


def _nearest(x: np.ndarray, C: np.ndarray, half_norms: np.ndarray) -> np.ndarray:
    """Index (M, n) of the nearest centroid: argmin of |c|^2 / 2 - x.c per sub-vector.

    x: (M, n, G); C: (M, K, G); half_norms: (M, 1, K).
    """
    scores = np.matmul(x, C.transpose(0, 2, 1))  # (M, n, K)
    np.subtract(half_norms, scores, out=scores)
    return scores.argmin(axis=2)


def _kmeans(x: np.ndarray, K: int, max_iter: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's k-means on every sub-vector position at once: codebooks (M, K, G) float32.

    x: (M, n, G) float32 samples; the initial centroids are K distinct sample rows.
    """
    M, n, G = x.shape
    C = x[:, rng.choice(n, K, replace=False)].copy()  # (M, K, G)
    step = max(1, _BLOCK // (n * K))  # positions per distance block
    flat = (np.arange(M)[:, None] * K)  # offset of each position's centroids
    with threadpool_limits(1, user_api="blas"):
        for _ in range(max_iter):
            assign = np.empty((M, n), dtype=np.intp)
            for s in range(0, M, step):
                Cs = C[s : s + step]
                half = 0.5 * np.einsum("mkg,mkg->mk", Cs, Cs)[:, None, :]
                assign[s : s + step] = _nearest(x[s : s + step], Cs, half)
            idx = (flat + assign).ravel()
            counts = np.bincount(idx, minlength=M * K).reshape(M, K)
            sums = np.stack(
                [np.bincount(idx, weights=x[:, :, g].ravel(), minlength=M * K) for g in range(G)],
                axis=1,
            ).reshape(M, K, G)
            filled = counts > 0
            C[filled] = (sums[filled] / counts[filled][:, None]).astype(np.float32)
    return C
