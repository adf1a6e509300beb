import time

import numpy as np
import pytest

from warpnet.errors import DataError, UsageError
from warpnet.train import History
from warpnet.viz import FIGURE_NAMES, make_figures
from warpnet.viz import make as make_module

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def no_drawing(monkeypatch):
    """Make every figure builder fail, to prove the checks run before any work."""
    def refuse(ctx):
        raise AssertionError("a figure was drawn before the arguments were checked")

    monkeypatch.setattr(make_module, "_BUILDERS", dict.fromkeys(FIGURE_NAMES, refuse))


def test_names_are_the_documented_ones():
    assert FIGURE_NAMES == ("templates", "feature-transform", "image-features", "activations",
                            "space-warp", "capacity", "universal-approximation",
                            "loss-landscape", "training", "computational-graph",
                            "random-wiring")


def test_unknown_name_lists_the_known_ones(tmp_path, no_drawing):
    with pytest.raises(UsageError) as err:
        make_figures(["activations", "bogus"], tmp_path)
    assert "'bogus'" in str(err.value)
    for name in FIGURE_NAMES:
        assert name in str(err.value)
    with pytest.raises(UsageError, match="list of figure names"):
        make_figures("activations", tmp_path)


def test_unwritable_output_folder_is_refused_first(tmp_path, no_drawing):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="is a file"):
        make_figures(["activations"], blocker)
    with pytest.raises(DataError, match="cannot write"):
        make_figures(["activations"], blocker / "sub")


def test_run_folder_without_history_is_refused_first(tmp_path, no_drawing):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(DataError, match="history.json"):
        make_figures(["training"], tmp_path / "out", run_dir=run)


def test_bad_data_and_seed(tmp_path, no_drawing):
    with pytest.raises(UsageError, match="cifar10:PATH"):
        make_figures(["templates"], tmp_path, data="mnist:/x")
    with pytest.raises(DataError, match="no CIFAR-10 data"):
        make_figures(["templates"], tmp_path, data=f"cifar10:{tmp_path / 'missing'}")
    with pytest.raises(UsageError, match="seed"):
        make_figures(["activations"], tmp_path, seed=-1)


def test_writes_png_files_atomically(tmp_path, assert_not_blank):
    out = tmp_path / "new" / "figures"
    paths = make_figures(["activations", "activations"], out)
    assert paths == [out / "activations.png"]
    data = paths[0].read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert_not_blank(data)
    assert sorted(p.name for p in out.iterdir()) == ["activations.png"]  # no temp files left


def test_no_figure_is_left_with_pyplot(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    before = plt.get_fignums()
    make_figures(["activations"], tmp_path)
    assert plt.get_fignums() == before


def test_same_seed_same_picture(tmp_path):
    a = make_figures(["feature-transform"], tmp_path / "a", seed=3)[0].read_bytes()
    b = make_figures(["feature-transform"], tmp_path / "b", seed=3)[0].read_bytes()
    c = make_figures(["feature-transform"], tmp_path / "c", seed=4)[0].read_bytes()
    assert a == b
    assert a != c


def test_training_from_a_run_folder(tmp_path, assert_not_blank):
    run = tmp_path / "run"
    run.mkdir()
    History([{"epoch": e, "loss": 1.0 / e, "train_accuracy": 0.5 + e / 10, "val_loss": 1.2 / e,
              "val_accuracy": 0.4 + e / 10, "lr": 0.1, "seconds": 0.1}
             for e in range(1, 5)]).save_json(run / "history.json")
    lines = []
    (path,) = make_figures(["training"], tmp_path / "out", run_dir=run, log=lines.append)
    assert_not_blank(path.read_bytes())
    assert lines == [f"wrote {path}"]


def test_cifar_folder_of_npz_chunks(tmp_path, assert_not_blank):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar"
    folder.mkdir()
    x = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    np.savez(folder / "train_00.npz", x=x, y=np.arange(40) % 10)
    (path,) = make_figures(["templates"], tmp_path / "out", data=f"cifar10:{folder}")
    assert_not_blank(path.read_bytes())


@pytest.mark.slow
def test_all_figures_on_digits_and_toy_data(tmp_path, assert_not_blank):
    notes = []
    start = time.perf_counter()
    paths = make_figures(None, tmp_path, log=notes.append)
    seconds = time.perf_counter() - start
    assert [p.name for p in paths] == [f"{n}.png" for n in FIGURE_NAMES]
    for path in paths:
        assert_not_blank(path.read_bytes())
    assert any(n.startswith("note: training: no run folder") for n in notes)
    print(f"all {len(paths)} figures in {seconds:.1f} s")


def test_save_png(tmp_path, assert_not_blank):
    from warpnet.viz import plot_activations, save_png

    path = save_png(plot_activations(), tmp_path / "a.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert_not_blank(path.read_bytes())
    with pytest.raises(TypeError, match="Figure"):
        save_png(b"not a figure", tmp_path / "b.png")
