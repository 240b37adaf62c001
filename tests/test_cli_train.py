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
    config = write(
        tmp_path / "run.toml",
        """
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
    """,
    )
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
    config = write(
        tmp_path / "ae.toml",
        """
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
    """,
    )
    assert main(["train", str(config), "--out", str(tmp_path / "elsewhere"), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "elsewhere" / "latent_2d.png").is_file()
    assert isinstance(steepest.load(tmp_path / "elsewhere" / "model.steepest"), steepest.Autoencoder)


def test_npy_with_target_column_index_and_default_output_folder(tmp_path, blobs):
    X, y = blobs
    np.save(tmp_path / "table.npy", np.column_stack([y, X]))
    config = write(
        tmp_path / "npy.toml",
        """
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
    """,
    )
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
    config = write(
        tmp_path / "vae.toml",
        """
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
    """,
    )
    assert main(["train", str(config)]) == 0
    out = capsys.readouterr().out
    assert "VAE (float32)" in out and "12 epochs in" in out and "val_kl" in out
    folder = tmp_path / "vae-output"
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.toml",
        "diagnostics.png",
        "history.csv",
        "history.json",
        "latent_2d.png",
        "latent_kl.png",
        "loss.png",
        "manifold_2d.png",
        "model.steepest",
        "samples.png",
    ]
    model = steepest.load(folder / "model.steepest")
    assert type(model) is steepest.VAE and (model.beta, model.n_classes, model.latent_features) == (0.5, None, 2)
    history = json.loads((folder / "history.json").read_text())["history"]
    # The warm-up: the KL weight (loss - reconstruction) / kl rises by beta / 4 an epoch to beta.
    weights = [(loss - r) / k for loss, r, k in zip(history["loss"], history["reconstruction"], history["kl"])]
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
    write(
        tmp_path / "cvae.toml",
        """
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
    """,
    )
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
    write(
        tmp_path / "dae.toml",
        """
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
    """,
    )
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
        (
            VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\nlatent_activation = 'tanh'\n",
            "'latent_activation' applies to kind = \"autoencoder\" only",
        ),
        (VAE_DATA + "[model]\nlayer_sizes = [4, 2]\nbeta = 2.0\n", "'beta' applies to kind = \"vae\" only"),
        (VAE_DATA + "[model]\nlayer_sizes = [4, 2]\ndecoder_sizes = [2, 4]\n", '\'decoder_sizes\' applies to kind = "autoencoder" or "vae" only'),
        (
            VAE_DATA + "[model]\nkind = 'autoencoder'\nlayer_sizes = [4, 2]\n[training]\nkl_warmup_epochs = 3\n",
            "'kl_warmup_epochs' applies to kind = \"vae\" only",
        ),
        (
            VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nloss = 'mse'\n",
            '\'loss\' applies to kind = "mlp" or "autoencoder" only: a VAE\'s loss is its negative ELBO',
        ),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nkl_warmup_epoch = 3\n", "(did you mean 'kl_warmup_epochs'?)"),
        (
            VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nkl_warmup_epochs = -1\n",
            "cannot train: kl_warmup_epochs must be an int >= 0",
        ),
        (
            VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nnoise = 0.3\n",
            '[training] noise must be ["gaussian", std] or ["mask", rate], got 0.3',
        ),
        (
            VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[training]\nnoise = ['salt', 0.3]\n",
            "[training] noise: unknown noise 'salt'; expected one of: gaussian, mask",
        ),
        (
            VAE_DATA + "[model]\nkind = 'autoencoder'\nlayer_sizes = [4, 2]\n[training]\nnoise = ['mask', 1.5]\n",
            "[training] noise: the amount of mask noise must be in [0, 1)",
        ),
        (
            VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\nn_classes = 3\n",
            "n_classes = 3 makes a conditional VAE: name the column of each sample's class as [data] target",
        ),
        (
            VAE_DATA + "target = 1\n[model]\nkind = 'vae'\nlayer_sizes = [3, 8, 2]\nn_classes = 3\n",
            "whose classes are 0 to 2, but [data] target holds 0.5 (sample 0)",
        ),
        (
            VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[output]\nimage_shape = [3, 2]\n",
            "[output] image_shape [3, 2] holds 6 pixels but the data has 4 features",
        ),
        (VAE_DATA + "[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n[output]\nimage_shape = [2, 'x']\n", "[output] image_shape must be [height, width]"),
        ("[data]\npath = 'wide.npy'\n[model]\nkind = 'vae'\nlayer_sizes = [4, 8, 2]\n", "reconstruction='bernoulli' needs X in [0, 1]"),
    ],
    ids=[
        "kind",
        "misspelt key",
        "bad beta",
        "bad reconstruction",
        "autoencoder key on vae",
        "vae key on mlp",
        "decoder sizes on mlp",
        "warm-up on autoencoder",
        "loss on vae",
        "misspelt warm-up",
        "bad warm-up",
        "noise not a pair",
        "unknown noise",
        "mask rate",
        "classes without target",
        "target not classes",
        "image shape vs data",
        "image shape not two ints",
        "data outside [0, 1]",
    ],
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
    ids=[
        "missing data",
        "unknown key",
        "unknown table",
        "sizes vs data",
        "bad activation",
        "optimizer argument",
        "autoencoder key on mlp",
        "required key",
        "bad toml",
        "column out of range",
        "bad training value",
        "data format",
    ],
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
    write(
        tmp_path / "run.toml",
        f"""
        [data]
        path = "data.csv"
        target = "{target}"
        [model]
        layer_sizes = [2, 1]
    """,
    )
    assert main(["train", str(tmp_path / "run.toml")]) == 1
    assert message in capsys.readouterr().err


def test_npz_names_the_arrays_it_holds(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", features=np.zeros((4, 2)))
    write(
        tmp_path / "run.toml",
        """
        [data]
        path = "d.npz"
        [model]
        kind = "autoencoder"
        layer_sizes = [2, 1]
    """,
    )
    assert main(["train", str(tmp_path / "run.toml")]) == 1
    assert "features = 'X' is not an array of the archive; it holds: features" in capsys.readouterr().err


def test_diverging_training_exits_1_with_the_likely_cause(tmp_path, capsys):
    np.save(tmp_path / "points.npy", np.random.default_rng(0).normal(size=(64, 4)) * 1e3)
    write(
        tmp_path / "run.toml",
        """
        [data]
        path = "points.npy"
        target = 3
        [model]
        layer_sizes = [3, 64, 1]
        [training]
        epochs = 1
        [optimizer]
        lr = 1e6
    """,
    )
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 1
    assert "learning rate too high" in capsys.readouterr().err


def test_without_matplotlib_the_run_succeeds_and_says_how_to_get_pictures(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "points.npy", np.random.default_rng(0).random((32, 4)))
    write(
        tmp_path / "run.toml",
        """
        [data]
        path = "points.npy"
        [model]
        kind = "autoencoder"
        layer_sizes = [4, 2]
        [training]
        epochs = 1
    """,
    )
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 0
    assert "pip install 'steepest[plot]'" in capsys.readouterr().err
    assert not list((tmp_path / "run-output").glob("*.png"))


# ---------------------------------------------------------------- real CSVs (issue 19) ----

SPECIES = np.array(["setosa", "versicolor", "virginica"])


@pytest.fixture
def flowers(tmp_path):
    """Three classes named by text, sorted by class, with an id column and features on
    scales a thousand times apart: a CSV as a user brings it."""
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 40)
    X = (rng.normal(scale=0.4, size=(120, 4)) + np.eye(3, 4)[y] * 2) * [1.0, 10.0, 1000.0, 0.01] + [0.0, 5.0, 2000.0, 0.0]
    rows = "\n".join(f"{i}," + ",".join(f"{v:.6g}" for v in x) + f",{SPECIES[label]}" for i, (x, label) in enumerate(zip(X, y)))
    (tmp_path / "flowers.csv").write_text("id,sepal,petal,stem,leaf,species\n" + rows + "\n")
    return X, SPECIES[y]


FLOWERS = """
    [data]
    path = "flowers.csv"
    target = "species"
    exclude = ["id"]
    scale = "{scale}"
    [model]
    layer_sizes = [4, 16, 3]
    output_activation = "softmax"
    [training]
    epochs = 40
    validation_split = {split}
    [optimizer]
    name = "adam"
    lr = 0.01
    [output]
    plots = false
"""


def test_text_labels_and_scaling_round_trip_through_train_and_predict(tmp_path, flowers, capsys):
    X, labels = flowers
    write(tmp_path / "run.toml", FLOWERS.format(scale="standard", split=0))
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 0
    model = steepest.load(tmp_path / "run-output" / "model.steepest")
    assert type(model) is steepest.MLP
    assert model.metadata["classes"] == list(SPECIES)
    assert model.metadata["features"] == {"columns": ["sepal", "petal", "stem", "leaf"]}
    # The stored scaling is NumPy's mean and (population) standard deviation of the features.
    assert model.metadata["scale"]["offset"] == pytest.approx(X.mean(axis=0).tolist())
    assert model.metadata["scale"]["scale"] == pytest.approx(X.std(axis=0).tolist())
    assert main(["predict", str(tmp_path / "run-output" / "model.steepest"), str(tmp_path / "flowers.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    header, *predicted = (tmp_path / "p.csv").read_text().splitlines()
    assert header == "species"
    # predict applied the scaling: the labels are those of the model on the scaled features.
    expected = SPECIES[model.predict(((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)).argmax(axis=1)]
    assert predicted == list(expected)
    assert np.mean(np.array(predicted) == labels) > 0.95
    # Without --out the same CSV goes to stdout.
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run-output" / "model.steepest"), str(tmp_path / "flowers.csv")]) == 0
    assert capsys.readouterr().out.splitlines() == [header, *predicted]


def test_minmax_scaling_is_applied_at_prediction_on_a_features_only_npy(tmp_path, flowers):
    X, _ = flowers
    write(tmp_path / "run.toml", FLOWERS.format(scale="minmax", split=0))
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 0
    path = tmp_path / "run-output" / "model.steepest"
    model = steepest.load(path)
    np.save(tmp_path / "new.npy", X[:7])  # only the four feature columns, no names
    assert main(["predict", str(path), str(tmp_path / "new.npy"), "--out", str(tmp_path / "p.npy")]) == 0
    scaled = (X[:7] - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
    assert np.load(tmp_path / "p.npy").ravel().tolist() == list(SPECIES[model.predict(scaled.astype(np.float32)).argmax(axis=1)])


def test_an_autoencoders_predictions_come_back_in_the_data_units(tmp_path, flowers):
    X, _ = flowers
    write(
        tmp_path / "ae.toml",
        """
        [data]
        path = "flowers.csv"
        exclude = ["id", "species"]
        scale = "standard"
        [model]
        kind = "autoencoder"
        layer_sizes = [4, 3]
        output_activation = "identity"
        [training]
        epochs = 2
        [output]
        plots = false
    """,
    )
    assert main(["train", str(tmp_path / "ae.toml"), "--quiet"]) == 0
    path = tmp_path / "ae-output" / "model.steepest"
    assert main(["predict", str(path), str(tmp_path / "flowers.csv"), "--out", str(tmp_path / "r.csv")]) == 0
    header, *rows = (tmp_path / "r.csv").read_text().splitlines()
    assert header == "sepal,petal,stem,leaf"
    model = steepest.load(path)
    X = np.loadtxt(tmp_path / "flowers.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3, 4))  # as written, to 6 digits
    mean, std = X.mean(axis=0), X.std(axis=0)
    expected = model.predict(((X - mean) / std).astype(np.float32)).astype(np.float64) * std + mean
    np.testing.assert_allclose(np.array([row.split(",") for row in rows], dtype=np.float64), expected, rtol=1e-6)


def test_the_validation_rows_are_drawn_from_every_class_of_a_sorted_file():
    from steepest.cli.preparation import split_rows

    classes = np.repeat([0, 1, 2, 3], [50, 30, 15, 2])  # sorted, unbalanced, one class of two rows
    train, validation = split_rows(len(classes), 0.2, seed=3, classes=classes)
    assert sorted(np.concatenate([train, validation]).tolist()) == list(range(len(classes)))
    assert np.bincount(classes[validation]).tolist() == [10, 6, 3, 1]
    # Drawn, not the last rows, and the same draw for the same seed.
    assert not np.array_equal(validation, np.arange(len(classes) - len(validation), len(classes)))
    assert np.array_equal(split_rows(len(classes), 0.2, seed=3, classes=classes)[1], validation)
    assert not np.array_equal(split_rows(len(classes), 0.2, seed=4, classes=classes)[1], validation)
    # Without classes: the fraction of the rows, at random.
    _, rows = split_rows(100, 0.25, seed=0)
    assert len(rows) == 25 and rows.max() - rows.min() > 50


def test_a_stratified_split_validates_on_every_class(tmp_path, flowers):
    write(tmp_path / "run.toml", FLOWERS.format(scale="standard", split=0.25))
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 0
    # On a class-sorted file the last quarter is one class; drawn by class, the validation
    # accuracy of a model that learned the three classes is high.
    history = json.loads((tmp_path / "run-output" / "history.json").read_text())["history"]
    assert history["val_accuracy"][-1] > 0.9


def test_a_reused_output_folder_is_refused_without_force(tmp_path, flowers, capsys):
    write(tmp_path / "run.toml", FLOWERS.format(scale="standard", split=0))
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 0
    model_file = tmp_path / "run-output" / "model.steepest"
    first = model_file.read_bytes()
    (tmp_path / "run.toml").write_text((tmp_path / "run.toml").read_text().replace("lr = 0.01", "lr = 0.02"))
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 1
    assert "is not empty: pass --force" in capsys.readouterr().err
    assert model_file.read_bytes() == first
    assert main(["train", str(tmp_path / "run.toml"), "--quiet", "--force"]) == 0
    assert model_file.read_bytes() != first
    (tmp_path / "a-file").write_text("")
    assert main(["train", str(tmp_path / "run.toml"), "--quiet", "--out", str(tmp_path / "a-file")]) == 1
    assert "is a file" in capsys.readouterr().err


def test_schedule_and_dropout_from_the_config_and_the_mlp_stays_an_mlp(tmp_path, blobs):
    X, y = blobs
    np.save(tmp_path / "table.npy", np.column_stack([X, y]))
    write(
        tmp_path / "run.toml",
        """
        [data]
        path = "table.npy"
        target = -1
        [model]
        layer_sizes = [4, 16, 8, 3]
        output_activation = "softmax"
        dropout = 0.25
        [training]
        epochs = 6
        loss = "softmax_cross_entropy"
        [optimizer]
        lr = 0.1
        [schedule]
        name = "cosine"
        min_lr = 0.01
        [output]
        plots = false
    """,
    )
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 0
    model = steepest.load(tmp_path / "run-output" / "model.steepest")
    assert type(model) is steepest.MLP
    assert [repr(layer) for layer in model.layers if isinstance(layer, steepest.Dropout)] == ["Dropout(0.25)", "Dropout(0.25)"]
    lr = json.loads((tmp_path / "run-output" / "history.json").read_text())["history"]["lr"]
    assert lr == pytest.approx([steepest.CosineDecay(0.1, 6, min_lr=0.01)(epoch) for epoch in range(6)])


def test_a_dead_network_is_reported(tmp_path, capsys):
    # SGD at 0.3 on targets of -100 and below pushes every hidden ReLU unit negative for
    # good after the first steps: the network then predicts its output bias only.
    rng = np.random.default_rng(0)
    X = rng.random((200, 4))
    np.save(tmp_path / "table.npy", np.column_stack([X, -100 * X.sum(axis=1) - 100]))
    write(
        tmp_path / "run.toml",
        """
        [data]
        path = "table.npy"
        target = 4
        [model]
        layer_sizes = [4, 8, 1]
        [training]
        epochs = 5
        [optimizer]
        lr = 0.3
        [output]
        plots = false
    """,
    )
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "steepest train: warning: every ReLU unit of layer 0 was inactive on all of epoch 5" in err
    assert "DeadNetworkWarning" not in err  # said once, in the command's words
    (tmp_path / "run.toml").write_text((tmp_path / "run.toml").read_text().replace("lr = 0.3", "lr = 1e-9"))
    assert main(["train", str(tmp_path / "run.toml"), "--quiet", "--force"]) == 0
    assert "the training loss never fell below its first epoch's" in capsys.readouterr().err


@pytest.mark.parametrize(
    "data, message",
    [
        ("exclude = ['id']\nfeatures = ['sepal']\n", "give features (the columns to use) or exclude"),
        ("exclude = ['species']\n", "exclude names the target column 'species'"),
        ("exclude = 'id'\n", "exclude must be a list of columns"),
        ("exclude = ['idd']\n", "exclude: no column 'idd' (did you mean 'id'?)"),
        ("exclude = ['id']\nscale = 'robust'\n", "scale must be one of 'standard', 'minmax', got 'robust'"),
    ],
    ids=["features and exclude", "exclude the target", "exclude not a list", "misspelt column", "unknown scale"],
)
def test_data_preparation_mistakes_exit_1_naming_them(tmp_path, flowers, capsys, data, message):
    write(tmp_path / "run.toml", "[data]\npath = 'flowers.csv'\ntarget = 'species'\n" + data + "[model]\nlayer_sizes = [4, 3]\noutput_activation = 'softmax'\n")
    assert main(["train", str(tmp_path / "run.toml")]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "model, training, message",
    [
        (
            "layer_sizes = [4, 4]\noutput_activation = 'softmax'",
            "",
            "holds 3 classes ('setosa', 'versicolor', 'virginica') but a softmax_cross_entropy classifier",
        ),
        ("layer_sizes = [4, 3]", "loss = 'mse'", "holds text labels ('setosa', 'versicolor', 'virginica', ...): a classifier's loss is one of"),
        (
            "layer_sizes = [4, 1]\noutput_activation = 'sigmoid'",
            "",
            "holds 3 classes ('setosa', 'versicolor', 'virginica') but a binary_cross_entropy classifier of this model has 2 classes",
        ),
        ("layer_sizes = [4, 3]", "validation_split = 1.5", "validation_split must be a number in [0, 1), got 1.5"),
        ("layer_sizes = [4, 3]\n[schedule]\nname = 'linear'", "", "[schedule] needs name, one of 'cosine', 'step', 'exponential'; got 'linear'"),
        (
            "layer_sizes = [4, 3]\n[schedule]\nname = 'step'\nmin_lr = 0.1",
            "",
            "[schedule] 'min_lr' is not an argument of the step schedule; it takes: step_size, gamma",
        ),
        ("layer_sizes = [4, 3]\n[schedule]\nname = 'step'", "", "[schedule] StepDecay.__init__() missing 1 required positional argument: 'step_size'"),
        ("kind = 'autoencoder'\nlayer_sizes = [4, 3]\ndropout = 0.5", "", "'dropout' applies to kind = \"mlp\" only"),
        ("layer_sizes = [4, 3]\ndropout = 1.5", "", "rate must be"),
    ],
    ids=[
        "classes vs outputs",
        "text labels with mse",
        "three classes, one output",
        "split",
        "schedule name",
        "schedule key",
        "schedule argument",
        "dropout on autoencoder",
        "dropout rate",
    ],
)
def test_classifier_and_schedule_mistakes_exit_1_naming_them(tmp_path, flowers, capsys, model, training, message):
    config = "[data]\npath = 'flowers.csv'\ntarget = 'species'\nexclude = ['id']\n[model]\n" + model + "\n"
    if training:
        config += "[training]\n" + training + "\n"
    write(tmp_path / "run.toml", config)
    assert main(["train", str(tmp_path / "run.toml")]) == 1
    assert message in capsys.readouterr().err


def test_predict_mistakes_exit_1_naming_them(tmp_path, flowers, capsys):
    write(tmp_path / "run.toml", FLOWERS.format(scale="standard", split=0))
    assert main(["train", str(tmp_path / "run.toml"), "--quiet"]) == 0
    model = str(tmp_path / "run-output" / "model.steepest")
    (tmp_path / "other.csv").write_text("sepal,petal\n1,2\n")
    (tmp_path / "broken.steepest").write_bytes(b"not a model")
    cases = [
        ([model, str(tmp_path / "other.csv")], "takes 4 features but the file has 2 columns; it lacks 'stem', 'leaf'"),
        ([model, str(tmp_path / "missing.csv")], "no such file"),
        ([str(tmp_path / "broken.steepest"), str(tmp_path / "flowers.csv")], "cannot load the model"),
        ([model, str(tmp_path / "flowers.csv"), "--out", str(tmp_path / "p.txt")], "write predictions to a .csv or .npy file"),
    ]
    for arguments, message in cases:
        assert main(["predict", *arguments]) == 1
        err = capsys.readouterr().err
        assert err.startswith("steepest predict: error: ") and message in err, err


def npy_declaring(rows):
    """The bytes of an .npy file holding 2 float64 rows of 4 whose header declares ``rows``."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (rows, 4)})
    return buffer.getvalue() + np.zeros((2, 4)).tobytes()


def malformed_files(folder):
    """Each malformed data file, by name, with what the error says."""
    np.savez(folder / "zero_d.npz", X=np.zeros((4, 2)), y=np.float64(3.0))
    np.savez(folder / "good.npz", X=np.zeros((40, 2)), y=np.zeros(40))
    (folder / "truncated.npz").write_bytes((folder / "good.npz").read_bytes()[:300])
    (folder / "not_zip.npz").write_bytes(b"PK\x03\x04 garbage that is no zip archive")
    (folder / "huge.npy").write_bytes(npy_declaring(10**13))
    (folder / "text.csv").write_bytes(b"a,b\n1,\xff\xfe\n")
    return {
        "zero_d.npz": "the target must hold one value per sample, got a single value",
        "objects.npy": "holds Python objects (dtype object), which steepest does not load",
        "objects.npz": "array 'X': it holds Python objects (dtype object)",
        "truncated.npz": "it is not a readable .npz (zip) archive",
        "not_zip.npz": "it is not a readable .npz (zip) archive",
        "huge.npy": "its header declares shape (10000000000000, 4) of float64 (320,000,000,000,000 bytes) but the file holds 64 bytes of data",
        "text.csv": "it is not UTF-8 text",
        "fifo.npy": "is a FIFO: steepest reads and writes regular files only",
    }


@pytest.mark.parametrize("name", ["zero_d.npz", "objects.npy", "objects.npz", "truncated.npz", "not_zip.npz", "huge.npy", "text.csv", "fifo.npy"])
def test_malformed_data_files_exit_1_with_a_clear_error(tmp_path, capsys, name):
    messages = malformed_files(tmp_path)
    if name.startswith("objects"):
        objects = np.array([[1, "a"], [2, "b"]], dtype=object)
        np.save(tmp_path / "objects.npy", objects, allow_pickle=True) if name.endswith(".npy") else np.savez(tmp_path / "objects.npz", X=objects)
    if name == "fifo.npy":
        import os

        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this system")
        os.mkfifo(tmp_path / "fifo.npy")
    target = "target = 'y'\n" if name.endswith(".npz") else ""
    write(tmp_path / "run.toml", f"[data]\npath = '{name}'\n{target}[model]\nkind = 'autoencoder'\nlayer_sizes = [2, 1]\n")
    assert main(["train", str(tmp_path / "run.toml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("steepest train: error: ") and "Traceback" not in err
    assert messages[name] in err, err


def test_the_readmes_config_and_commands_run_as_written(tmp_path, flowers, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## The command line") :]
    (config,) = re.findall(r"```toml\n(.*?)```", section, re.S)[:1]
    commands = re.findall(r"```bash\n(.*?)```", section, re.S)[0]
    (tmp_path / "flowers.toml").write_text(config)
    X, labels = flowers
    np.savetxt(tmp_path / "new-flowers.csv", X[::10], delimiter=",", header="sepal,petal,stem,leaf", comments="")
    monkeypatch.chdir(tmp_path)
    for line in commands.splitlines():
        arguments = line.split("#")[0].split()
        assert arguments[0] == "steepest"
        assert main(arguments[1:] + (["--quiet"] if arguments[1] == "train" else [])) == 0
    assert (tmp_path / "species.csv").read_text().splitlines() == ["species", *labels[::10]]
