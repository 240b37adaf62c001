"""steepest train CONFIG.toml: trains from .csv/.npy/.npz, keeps model, history, config and
pictures; a mistake in the config or the data exits 1 with a message naming it."""

import json
import sys
import textwrap

import numpy as np
import pytest

import steepest
from steepest.cli import main


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def blobs():
    """Three well separated classes in 4 features: any working classifier learns them."""
    rng = np.random.default_rng(0)
    y = np.arange(150) % 3
    X = rng.normal(scale=0.3, size=(150, 4)) + np.eye(3, 4)[y] * 3
    return X, y


def test_trains_a_classifier_from_csv_and_keeps_everything(tmp_path, blobs, capsys):
    X, y = blobs
    rows = "\n".join(",".join(f"{v:.6f}" for v in x) + f",{label}" for x, label in zip(X, y))
    (tmp_path / "blobs.csv").write_text("a,b,c,d,label\n" + rows + "\n")
    config = write(tmp_path / "run.toml", """
        [data]
        path = "blobs.csv"
        target = "label"
        [model]
        layer_sizes = [4, 16, 3]
        output_activation = "softmax"
        [training]
        epochs = 15
        loss = "softmax_cross_entropy"
        validation_split = 0.2
        [optimizer]
        name = "adam"
        lr = 0.01
        [output]
        folder = "out"
    """)
    assert main(["train", str(config)]) == 0
    out = capsys.readouterr().out
    assert "MLP (float32)" in out and "15 epochs in" in out and "val_accuracy" in out
    folder = tmp_path / "out"
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "diagnostics.png", "history.csv", "history.json", "loss.png", "model.steepest"]
    model = steepest.load(folder / "model.steepest")
    assert np.mean(np.argmax(model.predict(X), axis=1) == y) > 0.95
    assert (folder / "history.csv").read_text().splitlines()[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy")
    assert len(json.loads((folder / "history.json").read_text())["epochs"]) == 15
    assert (folder / "config.toml").read_text() == config.read_text()


def test_autoencoder_from_npz_colours_its_latent_space_by_the_target(tmp_path, blobs, capsys):
    X, y = blobs
    np.savez(tmp_path / "blobs.npz", X=X, labels=y)
    config = write(tmp_path / "ae.toml", """
        [data]
        path = "blobs.npz"
        target = "labels"
        [model]
        kind = "autoencoder"
        layer_sizes = [4, 8, 2]
        output_activation = "identity"
        [training]
        epochs = 3
        [early_stopping]
    """)
    assert main(["train", str(config), "--out", str(tmp_path / "elsewhere"), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "elsewhere" / "latent_2d.png").is_file()
    assert isinstance(steepest.load(tmp_path / "elsewhere" / "model.steepest"), steepest.Autoencoder)


def test_npy_with_target_column_index_and_default_output_folder(tmp_path, blobs):
    X, y = blobs
    np.save(tmp_path / "table.npy", np.column_stack([y, X]))
    config = write(tmp_path / "npy.toml", """
        [data]
        path = "table.npy"
        target = 0
        [model]
        layer_sizes = [4, 3]
        output_activation = "softmax"
        [training]
        epochs = 2
        loss = "softmax_cross_entropy"
        [output]
        plots = false
    """)
    assert main(["train", str(config), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "npy-output").iterdir()) == ["config.toml", "history.csv", "history.json", "model.steepest"]


GOOD_DATA = """
    [data]
    path = "points.npy"
"""


@pytest.mark.parametrize(
    "config, message",
    [
        ("[data]\npath = 'missing.csv'\n[model]\nlayer_sizes = [4, 2]\n", "no such file"),
        (GOOD_DATA + "[model]\nlayer_sizes = [4, 2]\n[training]\nepoch = 3\n", "unknown key 'epoch' in [training] (did you mean 'epochs'?)"),
        (GOOD_DATA + "[modle]\nlayer_sizes = [4, 2]\n", "unknown table [modle] (did you mean 'model'?)"),
        (GOOD_DATA + "[model]\nlayer_sizes = [5, 2]\n", "layer_sizes starts with 5 inputs but the data has 4 feature columns"),
        (GOOD_DATA + "[model]\nlayer_sizes = [4, 2]\nactivation = 'relux'\n", "unknown activation 'relux'"),
        (GOOD_DATA + "[model]\nlayer_sizes = [4, 2]\n[optimizer]\nname = 'adam'\nmomentum = 0.9\n", "'momentum' is not an argument of adam"),
        (GOOD_DATA + "[model]\nlayer_sizes = [4, 2]\nlatent_activation = 'tanh'\n", "'latent_activation' applies to kind = \"autoencoder\" only"),
        (GOOD_DATA + "[model]\n", "[model] needs 'layer_sizes'"),
        (GOOD_DATA + "[model\n", "is not valid TOML"),
        (GOOD_DATA + "target = 7\n[model]\nlayer_sizes = [3, 2]\n", "target column 7 is out of range: the data has 4 columns"),
        (GOOD_DATA + "[model]\nlayer_sizes = [4, 2]\n[training]\nepochs = 0\n", "cannot train: epochs must be >= 1"),
        ("[data]\npath = 'points.txt'\n[model]\nlayer_sizes = [4, 2]\n", "unknown data format '.txt'"),
    ],
    ids=["missing data", "unknown key", "unknown table", "sizes vs data", "bad activation", "optimizer argument",
         "autoencoder key on mlp", "required key", "bad toml", "column out of range", "bad training value", "data format"],
)
def test_config_mistakes_exit_1_naming_the_problem(tmp_path, capsys, config, message):
    np.save(tmp_path / "points.npy", np.zeros((10, 4)))
    path = tmp_path / "bad.toml"
    path.write_text(config)
    assert main(["train", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("steepest train: error: ")
    assert message in err


def test_missing_config_exits_1(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.toml")]) == 1
    assert "config file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "csv, target, message",
    [
        ("a,b,label\n1,2,0\n", "lable", "no column 'lable' (did you mean 'label'?); the columns are: a, b, label"),
        ("a,b,label\n1,x,0\n", "label", "line 2, column 'b': 'x' is not a number"),
        ("a,b,label\n1,2\n", "label", "line 2 has 2 values but the file has 3 columns"),
        ("a,b,label\n", "label", "no rows of data"),
    ],
    ids=["bad column", "not a number", "short row", "header only"],
)
def test_csv_mistakes_exit_1_naming_line_and_column(tmp_path, capsys, csv, target, message):
    (tmp_path / "data.csv").write_text(csv)
    write(tmp_path / "run.toml", f"""
        [data]
        path = "data.csv"
        target = "{target}"
        [model]
        layer_sizes = [2, 1]
    """)
    assert main(["train", str(tmp_path / "run.toml")]) == 1
    assert message in capsys.readouterr().err


def test_npz_names_the_arrays_it_holds(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", features=np.zeros((4, 2)))
    write(tmp_path / "run.toml", """
        [data]
        path = "d.npz"
        [model]
        kind = "autoencoder"
        layer_sizes = [2, 1]
    """)
    assert main(["train", str(tmp_path / "run.toml")]) == 1
    assert "features = 'X' is not an array of the archive; it holds: features" in capsys.readouterr().err


def test_diverging_training_exits_1_with_the_likely_cause(tmp_path, capsys):
    np.save(tmp_path / "points.npy", np.random.default_rng(0).normal(size=(64, 4)) * 1e3)
    write(tmp_path / "run.toml", """
        [data]
        path = "points.npy"
        target = 3
        [model]
        layer_sizes = [3, 64, 1]
        [training]
        epochs = 1
        [optimizer]
        lr = 1e6
    """)
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 1
    assert "learning rate too high" in capsys.readouterr().err


def test_without_matplotlib_the_run_succeeds_and_says_how_to_get_pictures(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "points.npy", np.random.default_rng(0).random((32, 4)))
    write(tmp_path / "run.toml", """
        [data]
        path = "points.npy"
        [model]
        kind = "autoencoder"
        layer_sizes = [4, 2]
        [training]
        epochs = 1
    """)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 0
    assert "pip install 'steepest[plot]'" in capsys.readouterr().err
    assert not list((tmp_path / "run-output").glob("*.png"))
