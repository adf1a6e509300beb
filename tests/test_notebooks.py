"""Every notebook under ``notebooks/`` runs top to bottom, on the embedded digits and toy data,
within its time limit; and each stays a clean jupytext pair (Markdown <-> .ipynb)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
# Each notebook takes some 10 s on two busy cores; the limits leave room for a slow machine.
CELL_TIMEOUT_S = 120
NOTEBOOK_LIMIT_S = 240


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


def test_the_folder_pairs_new_notebooks_too():
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

    path = find_jupytext_configuration_file(str(ROOT / "notebooks"))
    assert path == str(ROOT / "notebooks" / "jupytext.toml")
    assert load_jupytext_configuration_file(path).formats in ("ipynb,md", ["ipynb,md"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_paired_and_stable(path):
    notebook = jupytext.read(path)
    assert notebook.metadata["jupytext"]["formats"] == "ipynb,md"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    # Markdown -> notebook -> Markdown gives the file back (but for the version of jupytext that
    # wrote it): what is committed is what runs, and saving from Jupyter makes no spurious diff.
    def strip(text: str) -> str:
        return "".join(line for line in text.splitlines(True) if "jupytext_version:" not in line)

    assert strip(jupytext.writes(notebook, fmt="md")) == strip(path.read_text(encoding="utf-8"))
    assert sum(cell.cell_type == "code" for cell in notebook.cells) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs(path, tmp_path, monkeypatch):
    # The kernel is this Python (ipykernel's native spec) and imports this tree's warpnet.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("MPLBACKEND", "agg")
    notebook = jupytext.read(path)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    seconds = time.perf_counter() - start
    assert seconds < NOTEBOOK_LIMIT_S, f"{path.name} took {seconds:.0f} s"
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    if "viz." in path.read_text(encoding="utf-8"):  # the figures are drawn as images
        assert any("image/png" in out.get("data", {}) for out in outputs)
