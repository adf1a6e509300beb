"""MkDocs hook that generates the parts of the site that must never drift from the code.

- ``api/``: one page per public package or module of ``warpnet`` (``warpnet.nn``, ``warpnet.train``,
  ...), found by walking the package: each documents the names in that module's ``__all__`` (or,
  without ``__all__``, the classes and functions it defines whose names do not start with ``_``)
  with a mkdocstrings ``:::`` block; the public sub-modules of a package add the names that their
  package does not already export.  A package or name added later appears without editing a page.
- ``tutorial/``: the notebooks under ``notebooks/`` (jupytext Markdown), one page each.
- ``benchmarks.md``: the README's "Benchmarks" section.
- the navigation, from all of the above;
- ``search/search_index.js``: the search index as a script, which a page opened from disk can load
  (see ``docs/javascripts/file-worker.js``).

A public class or function without a docstring is reported as a warning, and ``mkdocs build
--strict`` (``make docs``) turns every warning into an error, as it does for broken links.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import logging
import pkgutil
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from mkdocs.structure.files import File, Files

PACKAGE = "warpnet"
log = logging.getLogger(f"mkdocs.hooks.{__name__}")

_ROOT = Path(__file__).resolve().parents[2]  # the repository: docs/hooks/warpnet_docs.py


# -- what is public ---------------------------------------------------------------------------------
def _is_public_module(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def _submodules(package: ModuleType) -> list[str]:
    """Public modules below ``package``, depth first, in name order."""
    if not hasattr(package, "__path__"):
        return []
    names = [info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    return sorted(n for n in names if _is_public_module(n))


def public_names(module: ModuleType) -> list[str]:
    """``module.__all__``, or the public classes and functions that ``module`` itself defines."""
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return list(declared)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
            and getattr(value, "__module__", None) == module.__name__]


def _documented(obj: Any) -> bool:
    """Whether a class or function carries a docstring of its own (not inherited, not generated)."""
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__")
        if doc and dataclasses.is_dataclass(obj):
            # dataclass writes "Name(field: type, ...)" where the class has no docstring
            generated = obj.__name__ + str(inspect.signature(obj)).replace(" -> None", "")
            return doc != generated
        return bool(doc and doc.strip())
    return bool((getattr(obj, "__doc__", None) or "").strip())


def _needs_docstring(obj: Any) -> bool:
    return inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)


@dataclasses.dataclass
class Section:
    """The names of one module that a page documents."""

    module: str
    names: list[str]
    doc: str


@dataclasses.dataclass
class Page:
    """One API page: a top-level public module and its sub-modules' extra names."""

    module: str
    sections: list[Section]

    @property
    def path(self) -> str:
        return "api/index.md" if self.module == PACKAGE else f"api/{self.module.split('.', 1)[1]}.md"


def collect_api() -> tuple[list[Page], list[str]]:
    """The API pages, and one problem line per public class or function without a docstring."""
    # Document the sources next to this file, whatever else is installed.
    src = str(_ROOT / "src")
    if src in sys.path:
        sys.path.remove(src)
    sys.path.insert(0, src)
    root = importlib.import_module(PACKAGE)
    problems: list[str] = []
    pages: list[Page] = []
    exported_below: dict[int, str] = {}  # id(object) -> the public path of a sub-package's name

    top_level = [info.name for info in pkgutil.iter_modules(root.__path__, PACKAGE + ".")
                 if _is_public_module(info.name)]
    for top in sorted(top_level):
        module = importlib.import_module(top)
        seen: set[int] = set()
        sections = []
        for name in [top, *_submodules(module)]:
            sub = importlib.import_module(name)
            names = []
            for attr in public_names(sub):
                if not hasattr(sub, attr):
                    problems.append(f"{name}.__all__ lists {attr!r}, which the module does not have")
                    continue
                obj = getattr(sub, attr)
                key = id(obj)
                if _needs_docstring(obj):
                    if key in seen:  # the package above already documents it
                        continue
                    seen.add(key)
                    exported_below.setdefault(key, f"{top}.{attr}" if name == top else f"{name}.{attr}")
                    if not _documented(obj):
                        problems.append(f"public {'class' if inspect.isclass(obj) else 'function'} "
                                        f"{name}.{attr} has no docstring")
                names.append(attr)
            if names:
                sections.append(Section(name, names, _first_line(sub)))
        if sections:
            pages.append(Page(top, sections))

    # The top-level names: links to where they are documented, or documented here.
    own, linked = [], []
    for attr in public_names(root):
        obj = getattr(root, attr)
        if _needs_docstring(obj) and id(obj) in exported_below:
            linked.append((attr, exported_below[id(obj)]))
        else:
            own.append(attr)
    index = Page(PACKAGE, [Section(PACKAGE, own, _first_line(root))])
    index.linked = linked  # type: ignore[attr-defined]
    return [index, *pages], problems


def _first_line(module: ModuleType) -> str:
    doc = inspect.getdoc(module) or ""
    return " ".join(doc.split("\n\n")[0].split())


# -- writing pages ----------------------------------------------------------------------------------
def render(page: Page, pages: list[Page]) -> str:
    """The Markdown of one API page."""
    lines = [f"# `{page.module}`", ""]
    if page.module == PACKAGE:
        lines += [page.sections[0].doc, "", "| module | what it holds |", "| --- | --- |"]
        for other in pages:
            if other is not page:
                target = other.path.split("/", 1)[1]
                lines.append(f"| [`{other.module}`]({target}) | {_cell(other.sections[0].doc)} |")
        lines.append("")
        for attr, where in getattr(page, "linked", []):
            lines.append(f"- `{PACKAGE}.{attr}` is [`{where}`][{where}].")
        for attr in page.sections[0].names:
            if attr == "__version__":
                lines.append(f"- `{PACKAGE}.__version__`: this installation's version "
                             "(`warpnet --version` prints the same).")
            else:
                lines += ["", f"::: {PACKAGE}.{attr}"]
        return "\n".join(lines) + "\n"
    for i, section in enumerate(page.sections):
        if i:
            lines += [f"## `{section.module}`", "", section.doc, ""]
        else:
            lines += [section.doc, ""]
        for attr in section.names:
            lines += [f"::: {section.module}.{attr}", "    options:",
                      f"      heading_level: {3 if i else 2}", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _tutorials() -> list[Path]:
    return sorted((_ROOT / "notebooks").glob("*.md"))


def tutorial_page(notebook: Path) -> str:
    """The notebook's Markdown without its jupytext header, with a note on how to run it."""
    text = notebook.read_text(encoding="utf-8")
    if text.startswith("---\n"):
        text = text[text.index("\n---\n", 4) + 5:].lstrip("\n")
    title, _, body = text.partition("\n")
    note = (f'!!! note "This page is a notebook"\n'
            f"    Run it: `jupytext --to ipynb notebooks/{notebook.name}` and open the `.ipynb`"
            f" (or open the `.md` in Jupyter with jupytext installed). Its pictures, drawn by the"
            f" cells below, are also on the [figures page](../figures.md).\n")
    return f"{title}\n\n{note}\n{body}"


def _benchmarks() -> str:
    readme = (_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Benchmarks\n(.*?)(?=^## |\Z)", readme, flags=re.S | re.M)
    if match is None:
        log.warning("README.md has no '## Benchmarks' section for benchmarks.md")
        return "# Benchmarks\n"
    return ("# Benchmarks\n\nFrom the README; each row's command prints its table of ratios, "
            "measured in one run.\n" + match.group(1))


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


# -- MkDocs events ----------------------------------------------------------------------------------
_STATE: dict[str, Any] = {}


def on_config(config: Any) -> Any:
    """Collect the API and set the navigation."""
    pages, problems = collect_api()
    _STATE["pages"], _STATE["problems"] = pages, problems
    config["nav"] = [
        {"Home": "index.md"},
        {"Getting started": "getting-started.md"},
        {"Tutorial": [{_title(p): f"tutorial/{p.name}"} for p in _tutorials()]},
        {"Figures": "figures.md"},
        {"Benchmarks": "benchmarks.md"},
        {"API reference": [{("warpnet" if p.module == PACKAGE else p.module): p.path} for p in pages]},
        {"Changelog": "changelog.md"},
    ]
    return config


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages to the site."""
    for problem in _STATE["problems"]:
        log.warning(problem)
    pages = _STATE["pages"]
    for page in pages:
        files.append(File.generated(config, page.path, content=render(page, pages)))
    for notebook in _tutorials():
        files.append(File.generated(config, f"tutorial/{notebook.name}",
                                    content=tutorial_page(notebook)))
    files.append(File.generated(config, "benchmarks.md", content=_benchmarks()))
    changelog = (_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    files.append(File.generated(config, "changelog.md", content=changelog))
    return files


def on_post_build(config: Any) -> None:
    """Write the search index as a script too: pages opened from disk cannot fetch the JSON."""
    folder = Path(config["site_dir"]) / "search"
    index = folder / "search_index.json"
    if index.is_file():
        (folder / "search_index.js").write_text("var __index = " + index.read_text(encoding="utf-8"),
                                                encoding="utf-8")
