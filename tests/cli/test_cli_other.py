"""``warpnet figures``, ``playground`` and ``bench``: the command line passes its flags through."""

from __future__ import annotations

import pytest

from warpnet.cli import main


def test_figures_writes_the_named_png(capsys, tmp_path):
    assert main(["figures", "activations", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "activations.png").read_bytes()[:4] == b"\x89PNG"
    assert "activations.png" in capsys.readouterr().out


@pytest.mark.parametrize("argv, code, needle", [
    (["figures", "no-such-figure"], 2, "no-such-figure"),
    (["figures", "training", "--run", "."], 1, "history"),
])
def test_figures_errors(capsys, tmp_path, monkeypatch, argv, code, needle):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--out", str(tmp_path / "figs")]) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_playground_passes_host_and_port(monkeypatch):
    import warpnet.playground

    calls = []
    monkeypatch.setattr(warpnet.playground, "serve", lambda **kw: calls.append(kw))
    assert main(["playground", "--port", "8123"]) == 0
    assert calls == [{"host": "127.0.0.1", "port": 8123, "open_browser": False}]


def test_bench_runs_scripts_and_reports_failures(capfd, tmp_path):
    (tmp_path / "ok.py").write_text("print('ratio 1.0')\n")
    (tmp_path / "bad.py").write_text("raise SystemExit(3)\n")
    assert main(["bench", "ok", "--dir", str(tmp_path)]) == 0
    assert "ratio 1.0" in capfd.readouterr().out  # the script's own output, from the child
    assert main(["bench", "--dir", str(tmp_path)]) == 1
    assert "bad" in capfd.readouterr().err
    assert main(["bench", "nope", "--dir", str(tmp_path)]) == 2
