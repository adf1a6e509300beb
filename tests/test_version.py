"""The version is written once (``warpnet.__version__``); the build, the command and the changelog
follow it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.version import Version

import warpnet
from warpnet.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_reads_the_version_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "warpnet.__version__"}


def test_command_prints_it(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:  # argparse's version action exits 0 after printing
        assert exit_.code == 0
    assert capsys.readouterr().out == f"warpnet {warpnet.__version__}\n"


def test_changelog_has_a_section_for_it():
    version = Version(warpnet.__version__)  # a valid PEP 440 version
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert version.base_version in headings
