"""``warpnet train --model wired``: the run, the model file that stores the graph, and the errors."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from warpnet import io, nn
from warpnet.cli import main

pytest.importorskip("networkx")


@pytest.fixture(scope="module")
def wired_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("wired")
    code = main(["train", "--model", "wired", "--graph", "ba:12,2", "--width", "16", "--epochs", "4",
                 "--optimizer", "adam", "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_the_model_file_holds_the_graph_and_loading_never_resamples(wired_run):
    saved = io.load(wired_run / "model.safetensors")
    model = saved.model
    assert isinstance(model, nn.Graph)
    config = json.loads((wired_run / "config.json").read_text())["config"]
    assert (config["model"], config["graph"], config["width"]) == ("wired", "ba:12,2", 16)
    # The same graph drawn again from the run's seed: the file stored exactly these edges.
    again = nn.randomly_wired(64, 10, "ba", n_nodes=12, width=16, seed=config["seed"], m=2)
    assert model.edges == again.edges
    # A second load gives the same function, bit for bit.
    x = np.random.default_rng(0).standard_normal((7, 64)).astype(np.float32)
    np.testing.assert_array_equal(io.load(wired_run / "model.safetensors").model.forward(x),
                                  model.forward(x))


def test_eval_reads_the_wired_model(wired_run, capsys):
    assert main(["eval", str(wired_run / "model.safetensors")]) == 0
    assert "accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("argv,code,needle", [
    (["--graph", "ws:32,3,0.75"], 2, "k must be an even integer"),
    (["--graph", "ws:8,8,0.5"], 2, "2 <= k < n_nodes = 8"),
    (["--graph", "er:32,1.5"], 2, "p must be a probability in [0, 1]"),
    (["--graph", "ba:32,32"], 2, "1 <= m < n_nodes = 32"),
    (["--graph", "xx:3"], 2, "FAMILY one of ws, er, ba"),
    (["--graph", "er:12,0.001"], 2, "no connected graph"),
    (["--graph", "ws:32,4,0.75,1"], 2, "ws takes NODES,K,P"),
    (["--width", "0"], 2, "--width"),
    (["--graph", "ws:"], 2, "expected the number of nodes after 'ws:'"),
    (["--graph", "ws:32,4,x"], 2, "ws parameter p must be a number, got 'x'"),
    (["--graph", "zz:3"], 2, "FAMILY one of ws, er, ba"),
    (["--graph", "ws:32,5,0.5"], 2, "k must be an even integer"),
    (["--graph", "ws:2,4,0.5"], 2, "2 <= k < n_nodes = 2"),
    (["--graph", "er:32,2"], 2, "p must be a probability in [0, 1], got p=2.0"),
    (["--graph", "ba:5,5"], 2, "1 <= m < n_nodes = 5"),
    (["--graph", "ws:32,4,nan"], 2, "p must be a probability in [0, 1], got p=nan"),
    (["--graph", "ws:100000000"], 2, "the number of nodes must be in 2..10000, got '100000000'"),
    (["--graph", "ws:99999999999999999999999"], 2, "the number of nodes must be in 2..10000"),
    (["--width", "1e9"], 2, "--width: expected a whole number, got '1e9'"),
    (["--width", "1000000000"], 2, "width=1000000000 with n_nodes=32 gives about"),
    (["--hidden", "5"], 2, "apply to --model mlp, not wired"),
])
def test_bad_flags_exit_with_one_line(tmp_path, capsys, argv, code, needle):
    assert main(["train", "--model", "wired", *argv, "--epochs", "1", "--out", str(tmp_path / "r"),
                 "--quiet"]) == code
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_graph_flags_need_the_wired_model(tmp_path, capsys):
    assert main(["train", "--graph", "ws:8,2,0.5", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "apply to --model wired" in capsys.readouterr().err


def test_a_model_file_with_cyclic_edges_exits_1(tmp_path, capsys):
    g = nn.Graph({"a": nn.Linear(4, 4), "b": nn.Linear(4, 4)}, [("a", "b")], ["a"], ["b"])

    class Tampered:
        def get_config(self):
            config = g.get_config()
            config["nodes"]["c"] = nn.Linear(4, 4).get_config()
            config["edges"] += [["b", "c"], ["c", "b"]]
            return config

        def state_dict(self):
            return {**g.state_dict(), "c.weight": np.zeros((4, 4), np.float32),
                    "c.bias": np.zeros(4, np.float32)}

    path = tmp_path / "bad.safetensors"
    path.write_bytes(io.dumps(Tampered(), class_names=[str(i) for i in range(4)]))
    assert main(["eval", str(path)]) == 1
    err = capsys.readouterr().err
    assert "cycle 'b' -> 'c' -> 'b'" in err and len(err.strip().splitlines()) == 1


def _edit_cycle(config):
    a, b = next(e for e in config["edges"] if e[0] != "input" and e[1] not in ("output", "classifier"))
    config["edges"].append([b, a])


def _edit_width(config):
    node = next(n for n, c in config["nodes"].items() if c["type"] == "WiredNode")
    config["nodes"][node]["width"] += 1


def _edit_n_inputs(config):
    node = next(n for n, c in config["nodes"].items() if c["type"] == "WiredNode")
    config["nodes"][node]["n_inputs"] += 1


@pytest.mark.parametrize("edit,needle", [
    (_edit_cycle, "cycle|merge of"),
    (lambda c: c["edges"].append(["0", "nowhere"]), "unknown node 'nowhere'"),
    (lambda c: c["edges"].append([0, "1"]), "node names are strings, got int"),
    (_edit_width, "width"),
    (_edit_n_inputs, "is a merge of"),
    (lambda c: c.__setitem__("outputs", []), "outputs must be a non-empty list"),
])
@pytest.mark.parametrize("command", ["eval", "predict"])
def test_a_wired_model_file_with_edited_edges_exits_1_naming_the_problem(
        wired_run, tmp_path, capsys, edit, needle, command):
    saved = io.load(wired_run / "model.safetensors")
    config = json.loads(json.dumps(saved.model.get_config()))
    edit(config)
    state = {k: np.asarray(v) for k, v in saved.model.state_dict().items()}
    path = tmp_path / "edited.safetensors"
    # re-signed, as a user who edits the JSON and fixes the checksum would
    edited = SimpleNamespace(get_config=lambda: config, state_dict=lambda: state)
    path.write_bytes(io.dumps(edited))
    argv = [command, str(path)] + ([str(tmp_path / "img.png")] if command == "predict" else [])
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "edited.safetensors" in err or "architecture" in err
    assert re.search(needle, err), err
