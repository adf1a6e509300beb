"""``warpnet features --data ... --features ... --out FILE.npz|STORE.zarr``: compute image features once.

A ``.zarr`` output is a feature store written chunk by chunk through Dask, resumable after a
kill (see ``_feature_store``); what follows describes the arrays both forms hold.

The feature transform is fit on the training part only (bag-of-words codebooks are learned there).
The file holds ``x`` (every non-test sample, float32), ``y``, ``class_names`` and, when the source
ships its own test split, ``x_test``/``y_test``; for a source without one, ``x``/``y`` hold all
samples in their original order, so ``train --data npz:FILE.npz`` holds out the very same test
images.  ``features`` records the spec.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from . import _args, _data

NAME = "features"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(NAME, help="compute image features once and save them as .npz or a .zarr store",
                       description="Fit a feature transform on the training part of a data set, "
                       "transform every image and save the vectors; train on them with "
                       "'warpnet train --data npz:FILE.npz' (or zarr:STORE.zarr).")
    p.add_argument("--data", default="digits", help=f"{_data.DATA_FORMS} (default: digits)")
    p.add_argument("--features", required=True, help="feature spec, e.g. hog+color+bow")
    p.add_argument("--out", type=Path, required=True,
                   help="the .npz file to write, or a .zarr store written chunk by chunk through Dask "
                   "(resumable: a rerun writes only the missing chunks)")
    p.add_argument("--scheduler", default=None,
                   help="with a .zarr --out: a Dask scheduler address (tcp://HOST:8786); "
                   "default: a local cluster")
    p.add_argument("--overwrite", action="store_true",
                   help="with a .zarr --out: replace a store of another shape, spec or seed")
    p.add_argument("--chunk-size", type=_args.positive_int, default=1024,
                   help="with a .zarr --out: images per chunk (default 1024)")
    p.add_argument("--seed", type=_args.non_negative_int, default=0,
                   help="seed of features that sample (bag-of-words patches); default 0")
    p.add_argument("--image-size", type=_args.positive_int, default=32,
                   help="side length images of folder:PATH are resized to (default 32)")
    p.add_argument("--set", action="append", default=[], metavar="FEATURE.PARAM=VALUE",
                   help="a feature parameter, e.g. fisher-sift.n_components=64 or "
                   "fisher-color.regions=[[1,1]] (VALUE in JSON; repeatable)")
    p.set_defaults(handler=run)


def _feature_params(items: list[str]) -> dict[str, Any]:
    """``["fisher-sift.n_components=64"]`` -> ``{"fisher-sift__n_components": 64}`` (set_params keys)."""
    import json

    params = {}
    for item in items:
        key, sep, text = item.partition("=")
        name, dot, param = key.partition(".")
        if not sep or not dot or not name or not param:
            raise UsageError(f"--set expects FEATURE.PARAM=VALUE, got {item!r}")
        try:
            value = json.loads(text)
        except ValueError:
            value = text  # a bare word: a string parameter
        params[f"{name}__{param}"] = tuple(value) if isinstance(value, list) else value
    return params


def _check_output_size(n_samples: int, n_features: int) -> None:
    """Refuse an output that would not fit in memory (float32), before transforming."""
    import os

    size = n_samples * n_features * 4
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no sysconf: nothing to compare with
        return
    if size > memory // 2:
        raise DataError(f"{n_samples} samples x {n_features} features in float32 need "
                        f"{size / 2**30:.1f} GiB, more than half of this machine's memory: "
                        "choose smaller features with --set (e.g. fisher-sift.n_components=16)")


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.suffix == ".zarr":
        return _run_zarr(args)
    if args.scheduler is not None or args.overwrite:
        raise UsageError("--scheduler and --overwrite apply to a .zarr --out only")
    if out.suffix != ".npz":
        raise UsageError(f"--out must name a .npz or .zarr file, got {str(out)!r}")
    if out.is_dir() or not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise DataError(f"cannot write {str(out)!r}: its folder does not exist or it is a folder")
    from ..data.preprocessing import seeded_features
    from ..io.atomic import atomic_write

    try:
        transform = seeded_features(args.features, args.seed)
        params = _feature_params(args.set)
        for name, part in transform.transformer_list:
            # descriptor=None stands for the default descriptor: make it one to set its parameters
            if getattr(part, "descriptor", "") is None and any(
                k.startswith(f"{name}__descriptor__") for k in params
            ):
                part.set_params(descriptor=part._default_descriptor())
        transform.set_params(**params)
        for _, part in transform.transformer_list:
            part._check_params()
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--features {args.features!r}: {exc}") from None

    started = time.perf_counter()
    ds, _ = _data.load_dataset(args.data, image_size=args.image_size)
    if ds.x.ndim < 3:
        raise DataError(f"image features need images (N, H, W[, C]), but {args.data} holds "
                        f"samples of shape {ds.x.shape[1:]}")
    n_total = len(ds.x) + (len(ds.test.x) if ds.test is not None else 0)
    if ds.test is not None:
        transform.fit(ds.x)
        _check_output_size(n_total, len(transform.get_feature_names_out()))
        arrays = {"x": transform.transform(ds.x), "y": ds.y,
                  "x_test": transform.transform(ds.test.x), "y_test": ds.test.y}
    else:
        train_idx, _ = _data.fixed_test_split(ds.y)
        transform.fit(ds.x[train_idx])
        _check_output_size(n_total, len(transform.get_feature_names_out()))
        arrays = {"x": transform.transform(ds.x), "y": ds.y}
    arrays = {k: np.asarray(v, dtype=np.float32) if k.startswith("x") else v
              for k, v in arrays.items()}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, class_names=np.array(ds.class_names), features=np.array(args.features))
    atomic_write(out, buffer.getbuffer())
    print(f"wrote {out}: {arrays['x'].shape[1]} features for {len(arrays['x'])} samples"
          + (f" and {len(arrays['x_test'])} test samples" if "x_test" in arrays else "")
          + f" ({time.perf_counter() - started:.1f}s)")
    return 0



def _run_zarr(args: argparse.Namespace) -> int:
    """Write the features into a Zarr store chunk by chunk through Dask (see ``_feature_store``)."""
    from ..data.preprocessing import seeded_features
    from . import _extras
    from . import _feature_store as fs

    _extras.require("dask", "a .zarr --out")
    out: Path = args.out
    scheduler = fs.check_scheduler(args.scheduler)
    if scheduler is not None:
        fs.probe_scheduler(scheduler)  # an unreachable address fails before anything is loaded
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise DataError(f"cannot write {str(out)!r}: its folder does not exist")
    try:
        transform = seeded_features(args.features, args.seed)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--features {args.features!r}: {exc}") from None
    da, _, _ = fs.import_dask()
    started = time.perf_counter()
    with fs.dask_client(scheduler):
        ds, _ = _data.load_dataset(args.data, image_size=args.image_size)
        if ds.x.ndim < 3:
            raise DataError(f"image features need images (N, H, W[, C]), but {args.data} holds "
                            f"samples of shape {ds.x.shape[1:]}")
        parts = {"x": (ds.x, ds.y)}
        if ds.test is not None:
            transform.fit(ds.x)
            parts["x_test"] = (ds.test.x, ds.test.y)
        else:
            train_idx, _ = _data.fixed_test_split(ds.y)
            transform.fit(ds.x[train_idx])
        rows = args.chunk_size
        lazy = {name: transform.transform(da.from_array(x, chunks=(rows, *x.shape[1:])))
                for name, (x, _) in parts.items()}
        layout = {name: (tuple(int(n) for n in f.shape), rows) for name, f in lazy.items()}
        attrs = {"features": args.features, "seed": args.seed, "data": args.data,
                 "class_names": [str(c) for c in ds.class_names]}
        group = fs.open_store(out, layout, attrs, args.overwrite)
        for name, (_, y) in parts.items():
            group.create_array("y" + name[1:], data=np.asarray(y), overwrite=True)
        written = total = 0
        for name, f in lazy.items():
            w, t = fs.write_features(group, name, f)
            written, total = written + w, total + t
        group.attrs["complete"] = True
    n_test = f" and {layout['x_test'][0][0]} test samples" if "x_test" in layout else ""
    print(f"wrote {out}: {layout['x'][0][1]} features for {layout['x'][0][0]} samples{n_test}; "
          f"{written} of {total} chunks computed ({total - written} already there) "
          f"({time.perf_counter() - started:.1f}s)")
    return 0
