"""The sources stay ruff- and mypy-clean: both run here, so ``make test`` (every test, the slow ones
included) fails with their report as soon as a change breaks either.

mypy reads its settings from ``[tool.mypy]`` in pyproject.toml (the files to check, the libraries
without type information); its cache goes to the git-ignored ``.mypy_cache`` of the project, so a
second run takes about a second.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_clean(tool: str, *args: str) -> None:
    """Run ``python -m tool args`` in the project root; fail with its report unless it exits 0."""
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (it comes with the dev extra: pip install -e '.[dev]')")
    if not (ROOT / "pyproject.toml").is_file() or not (ROOT / "src" / "warpnet").is_dir():
        pytest.skip(f"the project's sources are not beside the tests ({ROOT})")
    done = subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, (
        f"`{tool} {' '.join(args)}` exited with {done.returncode}:\n{done.stdout}{done.stderr}")


def test_ruff_is_clean() -> None:
    _run_clean("ruff", "check", "src", "tests", "benchmarks", "examples")


@pytest.mark.slow  # about 20 s without a cache, 1 s with one
def test_mypy_is_clean() -> None:
    _run_clean("mypy")
