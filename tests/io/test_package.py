"""warpnet.io as a package: its public names, and what importing it loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

import warpnet.io
from warpnet.io import atomic, model_file, torch_export


def test_public_names_are_the_concept_modules_own():
    assert warpnet.io.save is model_file.save and warpnet.io.load is model_file.load
    assert warpnet.io.ModelFileError is model_file.ModelFileError
    assert warpnet.io.atomic_write is atomic.atomic_write
    assert warpnet.io.to_torch is torch_export.to_torch
    assert warpnet.io.from_torch is torch_export.from_torch
    assert all(hasattr(warpnet.io, name) for name in warpnet.io.__all__)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="'warpnet.io' has no attribute 'export'"):
        warpnet.io.export  # noqa: B018


def test_import_loads_neither_the_engine_nor_torch():
    code = ("import sys, warpnet.io; print(sorted(m for m in "
            "('torch', 'warpnet.nn', 'warpnet.io.torch_export') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
