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


@pytest.fixture
def digits_csv(tmp_path):
    """scikit-learn's digits, pixels in [0, 1], as a CSV with a label column."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data[:600] / 16, digits.target[:600]
    header = ",".join(f"p{i}" for i in range(64)) + ",label"
    rows = "\n".join(",".join(f"{v:g}" for v in x) + f",{label}" for x, label in zip(X, y))
    (tmp_path / "digits.csv").write_text(header + "\n" + rows + "\n")
    return X, y


def image_of(path):
    import matplotlib.image

    return matplotlib.image.imread(str(path))


def test_a_vae_from_csv_with_warmup_and_noise_writes_its_samples_manifold_and_kl(tmp_path, digits_csv, capsys):
    X, y = digits_csv
    config = write(tmp_path / "vae.toml", """
        [data]
        path = "digits.csv"
        target = "label"
        [model]
        kind = "vae"
        layer_sizes = [64, 64, 2]
        beta = 0.5
        [training]
        epochs = 12
        kl_warmup_epochs = 4
        noise = ["mask", 0.2]
        validation_split = 0.2
        [optimizer]
        name = "adam"
        lr = 0.005
    """)
    assert main(["train", str(config)]) == 0
    out = capsys.readouterr().out
    assert "VAE (float32)" in out and "12 epochs in" in out and "val_kl" in out
    folder = tmp_path / "vae-output"
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.toml", "diagnostics.png", "history.csv", "history.json", "latent_2d.png", "latent_kl.png", "loss.png",
        "manifold_2d.png", "model.steepest", "samples.png",
    ]
    model = steepest.load(folder / "model.steepest")
    assert type(model) is steepest.VAE and (model.beta, model.n_classes, model.latent_features) == (0.5, None, 2)
    history = json.loads((folder / "history.json").read_text())["history"]
    # The warm-up: the KL weight (loss - reconstruction) / kl rises by beta / 4 an epoch to beta.
    weights = [(l - r) / k for l, r, k in zip(history["loss"], history["reconstruction"], history["kl"])]
    assert weights[:5] == pytest.approx([0.125, 0.25, 0.375, 0.5, 0.5], rel=1e-5)
    # Without the noise, the same config trains other weights.
    (tmp_path / "clean.toml").write_text(config.read_text().replace('noise = ["mask", 0.2]\n', ""))
    assert main(["train", str(tmp_path / "clean.toml"), "--quiet"]) == 0
    clean = steepest.load(tmp_path / "clean-output" / "model.steepest")
    assert not np.array_equal(clean.get_parameters(), model.get_parameters())
    # The samples picture is 5 rows of 10 digits of 8x8 pixels: taller than wide by about 5 to 10.
    height, width = image_of(folder / "samples.png").shape[:2]
    assert 1.5 < width / height < 2.5


def test_a_conditional_vae_takes_the_target_as_its_classes(tmp_path, digits_csv):
    X, y = digits_csv
    write(tmp_path / "cvae.toml", """
        [data]
        path = "digits.csv"
        target = "label"
        [model]
        kind = "vae"
        layer_sizes = [64, 64, 4]
        n_classes = 10
        [training]
        epochs = 15
        validation_split = 0.25
        [optimizer]
        name = "adam"
        lr = 0.005
        [output]
        image_shape = [8, 8]
    """)
    assert main(["train", str(tmp_path / "cvae.toml"), "--quiet"]) == 0
    folder = tmp_path / "cvae-output"
    assert sorted(p.name for p in folder.glob("*.png")) == ["diagnostics.png", "latent_kl.png", "loss.png", "samples.png"]
    model = steepest.load(folder / "model.steepest")
    assert model.n_classes == 10
    # It learned the classes: a chosen digit's samples lie nearer its own mean image than any other's.
    centroids = np.stack([X[y == k].mean(axis=0) for k in range(10)])
    hits = [np.mean(np.argmin(((model.sample(20, seed=k, labels=k)[:, None] - centroids[None]) ** 2).sum(axis=2), axis=1) == k) for k in range(10)]
    assert np.mean(hits) > 0.6, hits
    # One row per class: the picture is about as tall as it is wide.
    height, width = image_of(folder / "samples.png").shape[:2]
    assert 0.7 < width / height < 1.4


def test_a_denoising_autoencoder_from_a_config(tmp_path, blobs):
    X, _ = blobs
    np.save(tmp_path / "points.npy", X)
    write(tmp_path / "dae.toml", """
        [data]
        path = "points.npy"
        [model]
        kind = "autoencoder"
        layer_sizes = [4, 8, 2]
        output_activation = "identity"
        [training]
        epochs = 3
        noise = ["gaussian", 0.3]
        [output]
        plots = false
    """)
    assert main(["train", str(tmp_path / "dae.toml"), "--quiet"]) == 0
    noisy = steepest.load(tmp_path / "dae-output" / "model.steepest")
    clean = steepest.Autoencoder([4, 8, 2], output_activation="identity", seed=0)
    clean.fit(X, epochs=3, verbose=0)
    assert not np.array_equal(noisy.get_parameters(), clean.get_parameters())


VAE_DATA = """
    [data]
    path = "points.npy"
"""


@pytest.mark.parametrize(
    "config, message",
    [
        (VAE_DATA + "[model]\nkind = 'vea'\nlayer_sizes = [4, 2]\n", "kind must be one of 'mlp', 'autoencoder', 'vae', got 'vea'"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\nbeat = 2.0\n", "unknown key 'beat' in [model] (did you mean 'beta'?)"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\nbeta = -1.0\n", "[model] beta must be"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\nreconstruction = 'poisson'\n", "[model] unknown reconstruction 'poisson'"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\nlatent_activation = 'tanh'\n", "'latent_activation' applies to kind = \"autoencoder\" only"),
        (VAE_DATA + "[model]\nlayer_sizes = [4, 2]\nbeta = 2.0\n", "'beta' applies to kind = \"vae\" only"),
        (VAE_DATA + "[model]\nlayer_sizes = [4, 2]\ndecoder_sizes = [2, 4]\n", "'decoder_sizes' applies to kind = \"autoencoder\" or \"vae\" only"),
        (VAE_DATA + "[model]\nkind = 'autoencoder'\nlayer_sizes = [4, 2]\n[training]\nkl_warmup_epochs = 3\n", "'kl_warmup_epochs' applies to kind = \"vae\" only"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nloss = 'mse'\n", "'loss' applies to kind = \"mlp\" or \"autoencoder\" only: a VAE's loss is its negative ELBO"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nkl_warmup_epoch = 3\n", "(did you mean 'kl_warmup_epochs'?)"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nkl_warmup_epochs = -1\n", "cannot train: kl_warmup_epochs must be an int >= 0"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nnoise = 0.3\n", '[training] noise must be ["gaussian", std] or ["mask", rate], got 0.3'),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nnoise = ['salt', 0.3]\n", "[training] noise: unknown noise 'salt'; expected one of: gaussian, mask"),
        (VAE_DATA + "[model]\nkind = 'autoencoder'\nlayer_sizes = [4, 2]\n[training]\nnoise = ['mask', 1.5]\n", "[training] noise: the amount of mask noise must be in [0, 1)"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\nn_classes = 3\n", "n_classes = 3 makes a conditional VAE: name the column of each sample's class as [data] target"),
        (VAE_DATA + "target = 1\n[model]\nkind = 'vae'\nlayer_sizes = [3, 8, 2]\nn_classes = 3\n", "whose classes are 0 to 2, but [data] target holds 0.5 (sample 0)"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[output]\nimage_shape = [3, 2]\n", "[output] image_shape [3, 2] holds 6 pixels but the data has 4 features"),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[output]\nimage_shape = [2, 'x']\n", "[output] image_shape must be [height, width]"),
        ("[data]\npath = 'wide.npy'\n[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n", "reconstruction='bernoulli' needs X in [0, 1]"),
    ],
    ids=["kind", "misspelt key", "bad beta", "bad reconstruction", "autoencoder key on vae", "vae key on mlp", "decoder sizes on mlp",
         "warm-up on autoencoder", "loss on vae", "misspelt warm-up", "bad warm-up", "noise not a pair", "unknown noise", "mask rate",
         "classes without target", "target not classes", "image shape vs data", "image shape not two ints", "data outside [0, 1]"],
)
def test_vae_config_mistakes_exit_1_naming_the_problem(tmp_path, capsys, config, message):
    np.save(tmp_path / "points.npy", np.tile([[0.0, 0.5, 1.0, 0.25]], (10, 1)))
    np.save(tmp_path / "wide.npy", np.full((10, 4), 2.0))
    path = tmp_path / "bad.toml"
    path.write_text(config)
    assert main(["train", str(path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("steepest train: error: ")
    assert message in err


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
