"""The documentation site: ``make docs`` (``mkdocs build --strict``) passes on this tree and fails
on a broken link or an undocumented public name, each tried in a temporary copy of the tree."""

from __future__ import annotations

import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")
pytest.importorskip("material")

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def copy_tree(tmp_path: Path) -> Path:
    """What the site is built from, copied: Makefile, mkdocs.yml, docs/, notebooks/, src/, README,
    CHANGELOG."""
    dest = tmp_path / "repo"
    dest.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.ipynb", ".ipynb_checkpoints")
    for name in ("docs", "notebooks", "src"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("Makefile", "pyproject.toml", "mkdocs.yml", "README.md", "CHANGELOG.md"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def build(repo: Path) -> subprocess.CompletedProcess[str]:
    """``make docs`` in ``repo``, on its own sources, with this Python (``-o``: without setting up
    the .venv that the target otherwise prepares)."""
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    if shutil.which("make"):
        argv = ["make", "--no-print-directory", "-o", ".venv/.installed-test", "docs",
                f"PY={sys.executable}"]
    else:  # the same command as the target's recipe
        argv = [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean"]
        env["NO_MKDOCS_2_WARNING"] = "1"
    return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=300)


def test_the_site_builds_offline_with_a_page_per_public_module(tmp_path):
    repo = copy_tree(tmp_path)
    result = build(repo)
    assert result.returncode == 0, result.stderr
    site = repo / "site"
    import warpnet

    modules = [m.name for m in pkgutil.iter_modules(warpnet.__path__) if not m.name.startswith("_")]
    assert {"nn", "optim", "train", "data", "features", "estimators"} <= set(modules)
    for name in modules:
        assert (site / "api" / f"{name}.html").is_file(), name
    nn_page = (site / "api" / "nn.html").read_text(encoding="utf-8")
    for name in warpnet.nn.__all__:  # every public name of a package has its own entry
        assert f'id="warpnet.nn.{name}"' in nn_page, name
    for page in ("index", "getting-started", "figures", "benchmarks", "changelog",
                 "tutorial/01-linear-classifier"):
        assert (site / f"{page}.html").is_file(), page
    assert "training step (a)" in (site / "benchmarks.html").read_text(encoding="utf-8")
    # Nothing is fetched from elsewhere when a page is shown: no remote script, style, image, font.
    remote = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//', re.I)
    for page in site.rglob("*.html"):
        assert not remote.search(page.read_text(encoding="utf-8")), page
    for css in site.rglob("*.css"):
        assert "fonts.googleapis" not in css.read_text(encoding="utf-8"), css


def test_a_new_public_module_appears_without_editing_the_docs(tmp_path):
    repo = copy_tree(tmp_path)
    package = repo / "src" / "warpnet" / "newpart"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""A part added later."""\n\nfrom .inner import shout\n\n__all__ = ["shout"]\n')
    (package / "inner.py").write_text(
        '"""Inner module."""\n\n__all__ = ["shout", "whisper"]\n\n\n'
        'def shout(text: str) -> str:\n    """``text`` in capitals."""\n    return text.upper()\n\n\n'
        'def whisper(text: str) -> str:\n    """``text`` in small letters."""\n    return text.lower()\n')
    result = build(repo)
    assert result.returncode == 0, result.stderr
    page = (repo / "site" / "api" / "newpart.html").read_text(encoding="utf-8")
    assert 'id="warpnet.newpart.shout"' in page
    # the sub-module adds only what its package does not export already
    assert 'id="warpnet.newpart.inner.whisper"' in page
    assert 'id="warpnet.newpart.inner.shout"' not in page


def test_a_broken_link_fails_the_build(tmp_path):
    repo = copy_tree(tmp_path)
    page = repo / "docs" / "getting-started.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [the missing page](no-such-page.md).\n")
    result = build(repo)
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr


def test_a_public_function_without_a_docstring_fails_the_build(tmp_path):
    repo = copy_tree(tmp_path)
    init = repo / "src" / "warpnet" / "data" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    assert "__all__ = [" in text
    text = text.replace("__all__ = [", '__all__ = ["count_samples", ', 1)
    init.write_text(text + "\n\ndef count_samples(x):\n    return len(x)\n", encoding="utf-8")
    result = build(repo)
    assert result.returncode != 0
    assert "public function warpnet.data.count_samples has no docstring" in result.stderr


def test_an_undocumented_class_in_a_module_without_all_fails_the_build(tmp_path):
    repo = copy_tree(tmp_path)
    (repo / "src" / "warpnet" / "extras_demo.py").write_text(
        '"""Demo."""\n\n\nclass Undocumented:\n    pass\n')
    result = build(repo)
    assert result.returncode != 0
    assert "public class warpnet.extras_demo.Undocumented has no docstring" in result.stderr


@pytest.mark.parametrize("page", ["getting-started.md"])
def test_python_examples_on_pages_run(page, tmp_path, monkeypatch):
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, f"{page} example", "exec"), namespace)  # noqa: S102 - our own docs
    assert len(namespace["history"]) == 10


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
def test_site_from_disk_offline_with_search(tmp_path):
    """Opened from disk with the network cut off: the page renders, nothing is requested from
    elsewhere, and search (whose worker runs in an iframe there) finds a public name."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    repo = copy_tree(tmp_path)
    result = build(repo)
    assert result.returncode == 0, result.stderr
    site = repo / "site"

    elsewhere: list[str] = []
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def only_local(route):
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    elsewhere.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto((site / "tutorial" / "03-two-layer-net.html").as_uri())
            assert "two-layer network" in page.title()
            page.fill("input.md-search__input", "gradcheck")
            page.wait_for_selector(".md-search-result__item", timeout=30_000)
            found = page.locator(".md-search-result__item").all_inner_texts()
            assert any("gradcheck" in text for text in found), found
        finally:
            browser.close()
    assert elsewhere == []
    assert problems == []
