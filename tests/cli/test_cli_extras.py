"""A missing optional package: one line naming the extra to install, exit 2, before any work."""

from __future__ import annotations

import sys

import pytest

from warpnet.cli import _extras, main
from warpnet.errors import UsageError


def hide(monkeypatch, *modules: str) -> None:
    """Make ``modules`` unimportable (a None entry in sys.modules is what an absent module is)."""
    for name in modules:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, loaded)
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("extra", sorted(_extras.EXTRAS))
def test_require_names_the_extra(monkeypatch, extra):
    top = _extras.EXTRAS[extra][0]
    hide(monkeypatch, top)
    with pytest.raises(UsageError) as info:
        _extras.require(extra, "the feature")
    message = str(info.value)
    assert message == f'the feature needs {top}, which is not installed: pip install "warpnet[{extra}]"'
    assert "\n" not in message


def test_require_passes_when_installed(monkeypatch):
    # numpy stands in for an installed package: require looks modules up without importing them.
    monkeypatch.setitem(_extras.EXTRAS, "numpy-stand-in", ("numpy", "numpy.linalg"))
    _extras.require("numpy-stand-in", "x")
    assert _extras.missing_modules("numpy-stand-in") == []


def test_unknown_extra():
    with pytest.raises(ValueError, match="unknown extra 'gpu'"):
        _extras.require("gpu", "x")


def test_playground_without_its_extra_exits_2_before_serving(monkeypatch, capsys):
    hide(monkeypatch, "uvicorn")
    started = []
    import warpnet.playground

    monkeypatch.setattr(warpnet.playground, "serve", lambda **kw: started.append(kw))
    code = main(["playground", "--port", "0"])
    out, err = capsys.readouterr()
    assert code == 2
    assert started == [] and out == ""
    assert err == ('warpnet: error: warpnet playground needs uvicorn, which is not installed: '
                   'pip install "warpnet[playground]"\n')


@pytest.mark.parametrize("module, extra", [("torch", "torch"), ("dask.array", "dask"),
                                           ("starlette.routing", "playground")])
def test_an_unchecked_import_of_an_optional_package_still_gets_the_line(monkeypatch, capsys,
                                                                         module, extra):
    from warpnet.cli import _train

    def needs_it(args):
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)

    monkeypatch.setattr(_train, "run", needs_it)
    code = main(["train", "--epochs", "1"])  # the parser, built now, takes the patched handler
    err = capsys.readouterr().err
    assert code == 2
    assert err == f'warpnet: error: {module} is not installed: pip install "warpnet[{extra}]"\n'


def test_extra_for_module():
    assert _extras.extra_for_module("torch.nn") == "torch"
    assert _extras.extra_for_module("websockets") == "playground"
    assert _extras.extra_for_module("scipy") is None
    assert _extras.extra_for_module(None) is None


def test_a_present_but_broken_optional_package_is_not_called_missing(monkeypatch, capsys):
    from warpnet.cli import _train

    def broken(args):
        raise ImportError("cannot import name 'compile' from 'torch'", name="torch")

    monkeypatch.setattr(_train, "run", broken)
    assert main(["train", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "a dependency is missing: cannot import name 'compile'" in err and "pip install" not in err


@pytest.mark.parametrize("argv, module, extra", [
    (["features", "--data", "digits", "--features", "hog", "--out", "{tmp}/f.zarr"], "zarr", "dask"),
    (["train", "--data", "zarr:{tmp}/f.zarr", "--out", "{tmp}/run"], "zarr", "dask"),
    (["train", "--device", "cuda", "--out", "{tmp}/run"], "torch", "torch"),
    (["train", "--distributed", "--out", "{tmp}/run"], "torch", "torch"),
])
def test_scale_flags_without_their_extra_exit_2_before_any_work(monkeypatch, capsys, tmp_path,
                                                                 argv, module, extra):
    hide(monkeypatch, module)
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and f'pip install "warpnet[{extra}]"' in err
    assert list(tmp_path.iterdir()) == []  # nothing written
