"""A training run described in a TOML file, as ``steepest train CONFIG.toml`` reads it.

The file has these tables (only ``[data]`` ``path`` and ``[model]`` ``layer_sizes`` are
required; the other keys default as in the Python API)::

    [data]
    path = "digits.csv"          # .npy, .npz or .csv; relative to this file's folder
    target = "label"             # .csv: column name or index; .npy: column index;
                                 # .npz: name of the array of targets. Omit for an autoencoder
                                 # (or give it: it colours the latent-space picture); a
                                 # conditional VAE's classes.
    features = "X"               # .npz: name of the array of features (default "X");
                                 # .csv/.npy: list of columns (default: all but the target)

    [model]
    kind = "mlp"                 # "mlp", "autoencoder" or "vae"
    layer_sizes = [64, 128, 10]  # starts with the number of features
    activation = "relu"
    output_activation = "softmax"
    seed = 0
    # kind = "autoencoder": latent_activation, decoder_sizes (as steepest.Autoencoder)
    # kind = "vae": decoder_sizes, reconstruction ("bernoulli" or "gaussian"), beta,
    #   n_classes (a conditional VAE: [data] target holds each sample's class, 0 to n - 1)

    [training]
    epochs = 20
    batch_size = 32
    loss = "softmax_cross_entropy"  # not for a VAE: its loss is its negative ELBO
    validation_split = 0.2
    noise = ["mask", 0.25]       # or ["gaussian", std]: inputs corrupted while training
                                 # (a denoising autoencoder); the targets stay clean
    kl_warmup_epochs = 10        # a VAE: its KL weight rises to beta over these epochs

    [optimizer]
    name = "adam"                # "sgd" or "adam", with their arguments (lr, momentum, l2, ...)
    lr = 0.003

    [early_stopping]             # optional: steepest.EarlyStopping's arguments
    patience = 5

    [output]
    folder = "digits-run"        # default: "<config name>-output" beside the config file
    plots = true                 # loss and diagnostics pictures (needs matplotlib); a VAE's
                                 # generated samples and KL per latent dimension too
    image_shape = [8, 8]         # how a VAE's samples are drawn: default square when the
                                 # feature count is a square, else one row per sample

A mistake (a missing file, an unknown key, a column that is not there) raises
:class:`ConfigError` naming the file, the table and the key, with the close matches.

Examples
--------
>>> import os, tempfile, numpy as np
>>> from steepest.cli import config_file
>>> folder = tempfile.mkdtemp()
>>> np.save(os.path.join(folder, "points.npy"), np.random.default_rng(0).random((50, 4)))
>>> path = os.path.join(folder, "run.toml")
>>> with open(path, "w") as f:
...     _ = f.write('[data]\\npath = "points.npy"\\n[model]\\nkind = "autoencoder"\\nlayer_sizes = [4, 2]\\n')
>>> config = config_file.read_config(path)
>>> X, y = config_file.load_data(config)
>>> X.shape, y is None
((50, 4), True)
>>> config_file.build_model(config, X)
Autoencoder([
    Dense(4, 2, activation='identity'),
    Dense(2, 4, activation='sigmoid')
], seed=0, dtype='float32')
"""

from __future__ import annotations

import csv
import difflib
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union, cast

import numpy as np

from steepest import io

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomllib joined the standard library in Python 3.11
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "build_callbacks",
    "build_model",
    "build_optimizer",
    "fit_arguments",
    "image_shape",
    "load_data",
    "output_folder",
    "read_config",
    "targets_and_labels",
]

# Every key each table accepts; anything else is a mistake worth reporting.
TABLES: Dict[str, Tuple[str, ...]] = {
    "data": ("path", "target", "features"),
    "model": ("kind", "layer_sizes", "activation", "output_activation", "latent_activation", "decoder_sizes", "reconstruction", "beta", "n_classes", "seed", "dtype"),
    "training": ("epochs", "batch_size", "loss", "shuffle", "validation_split", "noise", "kl_warmup_epochs"),
    "optimizer": ("name", "lr", "momentum", "nesterov", "beta1", "beta2", "eps", "l1", "l2"),
    "early_stopping": ("monitor", "patience", "min_delta", "mode", "restore_best_weights"),
    "output": ("folder", "plots", "image_shape"),
}
REQUIRED = {"data": ("path",), "model": ("layer_sizes",)}
MODEL_KINDS = ("mlp", "autoencoder", "vae")
OPTIMIZER_KEYS = {"sgd": ("lr", "momentum", "nesterov", "l1", "l2"), "adam": ("lr", "beta1", "beta2", "eps", "l1", "l2")}
# Keys that only some kinds of model take, by table.
KIND_ONLY: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "model": {
        "latent_activation": ("autoencoder",),
        "decoder_sizes": ("autoencoder", "vae"),
        "reconstruction": ("vae",),
        "beta": ("vae",),
        "n_classes": ("vae",),
    },
    "training": {"loss": ("mlp", "autoencoder"), "kl_warmup_epochs": ("vae",)},
}
# Why a key does not apply, where the kind alone does not say.
NOT_APPLICABLE_HINTS = {"loss": ": a VAE's loss is its negative ELBO (choose [model] reconstruction)"}
DATA_SUFFIXES = (".npy", ".npz", ".csv")

PathLike = Union[str, "os.PathLike[str]"]


class ConfigError(ValueError):
    """A training config that cannot be used; the message names the file, the table and
    the key, and what would be accepted."""


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_config(path: PathLike) -> Dict[str, Any]:
    """Read and check a training config.

    Returns the tables as dicts (absent optional tables empty; ``early_stopping`` is
    ``None`` when absent), plus ``"source"``: the
    config's path, and ``"folder"``: the folder relative paths in it start from.

    Raises
    ------
    ConfigError
        The file is missing or not valid TOML, or has an unknown table or key, or lacks a
        required key.
    """
    source = Path(os.fspath(path))
    try:
        with io.open_regular(source) as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(source)!r} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{str(source)!r} is a folder, not a config file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source} is not valid TOML: {error}") from None
    except ValueError as error:  # not a regular file (a FIFO would block the read forever)
        raise ConfigError(str(error)) from None
    config: Dict[str, Any] = {"source": source, "folder": source.resolve().parent}
    for table, value in document.items():
        if table not in TABLES:
            raise ConfigError(f"{source}: unknown table [{table}]{_did_you_mean(table, TABLES)}; the tables are: {', '.join(TABLES)}")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {table!r} must be a table ([{table}]), got a {type(value).__name__}")
        for key in value:
            if key not in TABLES[table]:
                raise ConfigError(f"{source}: unknown key {key!r} in [{table}]{_did_you_mean(key, TABLES[table])}; it accepts: {', '.join(TABLES[table])}")
    for table in TABLES:
        config[table] = dict(document.get(table, {}))
    # EarlyStopping has usable defaults, so an empty [early_stopping] table asks for it.
    config["early_stopping"] = document.get("early_stopping")
    for table, keys in REQUIRED.items():
        for key in keys:
            if key not in config[table]:
                raise ConfigError(f"{source}: [{table}] needs {key!r}")
    kind = config["model"].setdefault("kind", "mlp")
    if kind not in MODEL_KINDS:
        raise ConfigError(f"{source}: [model] kind must be one of {', '.join(map(repr, MODEL_KINDS))}, got {kind!r}")
    for table, rules in KIND_ONLY.items():
        for key, kinds in rules.items():
            if key in config[table] and kind not in kinds:
                names = " or ".join(f'"{k}"' for k in kinds)
                raise ConfigError(f"{source}: [{table}] {key!r} applies to kind = {names} only{NOT_APPLICABLE_HINTS.get(key, '')}")
    shape = config["output"].get("image_shape")
    if shape is not None and not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)):
        raise ConfigError(f"{source}: [output] image_shape must be [height, width], two whole numbers >= 1; got {shape!r}")
    name = config["optimizer"].setdefault("name", "sgd")
    if name not in OPTIMIZER_KEYS:
        raise ConfigError(f"{source}: [optimizer] name must be one of {', '.join(map(repr, OPTIMIZER_KEYS))}, got {name!r}")
    for key in config["optimizer"]:
        if key != "name" and key not in OPTIMIZER_KEYS[name]:
            raise ConfigError(f"{source}: [optimizer] {key!r} is not an argument of {name}; it takes: {', '.join(OPTIMIZER_KEYS[name])}")
    if not isinstance(config["data"]["path"], str):
        raise ConfigError(f"{source}: [data] path must be a string")
    return config


def output_folder(config: Dict[str, Any]) -> Path:
    """Where the run's results go: ``[output] folder`` (relative to the config's folder),
    by default ``<config name>-output`` beside the config."""
    folder = config["output"].get("folder", f"{config['source'].stem}-output")
    return cast(Path, config["folder"] / folder)


def load_data(config: Dict[str, Any]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """The features ``X`` (2-D float64) and targets ``y`` (``None`` when the config names
    no target) of the config's ``[data]``.

    Raises
    ------
    ConfigError
        The data file is missing, of an unknown format, not numeric, or lacks the named
        columns or arrays.
    """
    data = config["data"]
    path = config["folder"] / data["path"]
    where = f"{config['source']}: [data] path {data['path']!r}"
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise ConfigError(f"{where}: unknown data format {path.suffix!r}; use one of: {', '.join(DATA_SUFFIXES)}")
    if not path.exists():
        raise ConfigError(f"{where}: no such file {str(path)!r}")
    try:  # a FIFO, a device or a folder is refused before anything opens it for reading
        io.open_regular(path).close()
    except (OSError, ValueError) as error:
        raise ConfigError(f"{where}: {error}") from None
    if path.suffix.lower() == ".npz":
        return _load_npz(path, data, where)
    if path.suffix.lower() == ".npy":
        try:
            with io.open_regular(path) as file:
                table = np.load(file, allow_pickle=False)
        except ValueError as error:
            raise ConfigError(f"{where}: cannot read it as a NumPy array ({error})") from None
        names = [str(i) for i in range(table.shape[1])] if table.ndim == 2 else []
    else:
        names, table = _read_csv(path, where)
    if table.ndim != 2:
        raise ConfigError(f"{where}: expected a 2-D table (samples, columns), got shape {table.shape}")
    if table.dtype.kind not in "fiub":
        raise ConfigError(f"{where}: expected numbers, got dtype {table.dtype}")
    target = data.get("target")
    target_column = None if target is None else _column(target, names, "target", where)
    if "features" in data:
        requested = data["features"]
        if not isinstance(requested, list) or not requested:
            raise ConfigError(f"{where}: [data] features must be a non-empty list of columns")
        feature_columns = [_column(c, names, "features", where) for c in requested]
    else:
        feature_columns = [i for i in range(table.shape[1]) if i != target_column]
    X = np.asarray(table[:, feature_columns], dtype=np.float64)
    y = None if target_column is None else np.asarray(table[:, target_column])
    return X, y


def _load_npz(path: Path, data: Dict[str, Any], where: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    file = io.open_regular(path)
    try:
        archive = np.load(file, allow_pickle=False)
    except ValueError as error:
        file.close()
        raise ConfigError(f"{where}: cannot read it as a NumPy .npz archive ({error})") from None
    with file, archive:
        names = list(archive.files)

        def array(key: str, argument: str) -> np.ndarray:
            if not isinstance(key, str) or key not in names:
                raise ConfigError(f"{where}: [data] {argument} = {key!r} is not an array of the archive{_did_you_mean(str(key), names)}; it holds: {', '.join(names)}")
            return cast(np.ndarray, archive[key])

        X = array(data.get("features", "X"), "features")
        y = array(data["target"], "target") if "target" in data else None
    if X.ndim != 2:
        raise ConfigError(f"{where}: the features must be a 2-D array (samples, features), got shape {X.shape}")
    if y is not None and len(y) != len(X):
        raise ConfigError(f"{where}: {len(y)} targets for {len(X)} samples")
    return X, y


def _read_csv(path: Path, where: str) -> Tuple[List[str], np.ndarray]:
    """Column names and values of a CSV file; the first row is a header when it is not all
    numbers (then columns are named by position)."""
    with io.open_text(path) as file:
        rows = [row for row in csv.reader(file) if row]
    if not rows:
        raise ConfigError(f"{where}: the file is empty")
    header = not all(_is_number(cell) for cell in rows[0])
    names = [cell.strip() for cell in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    if not body:
        raise ConfigError(f"{where}: no rows of data after the header")
    values = np.empty((len(body), len(names)), dtype=np.float64)
    for line, row in enumerate(body, start=2 if header else 1):
        if len(row) != len(names):
            raise ConfigError(f"{where}: line {line} has {len(row)} values but the file has {len(names)} columns")
        for column, cell in enumerate(row):
            try:
                values[line - (2 if header else 1), column] = float(cell)
            except ValueError:
                raise ConfigError(f"{where}: line {line}, column {names[column]!r}: {cell!r} is not a number") from None
    return names, values


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _column(key: Any, names: List[str], argument: str, where: str) -> int:
    """Index of a column given by name or by (possibly negative) position."""
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise ConfigError(f"{where}: [data] {argument} must name columns by name or index, got {key!r}")
    if isinstance(key, int):
        if not -len(names) <= key < len(names):
            raise ConfigError(f"{where}: [data] {argument} column {key} is out of range: the data has {len(names)} columns")
        return key % len(names)
    if key not in names:
        raise ConfigError(f"{where}: [data] {argument}: no column {key!r}{_did_you_mean(key, names)}; the columns are: {', '.join(names)}")
    return names.index(key)


def build_model(config: Dict[str, Any], X: np.ndarray) -> Any:
    """The untrained model the config's ``[model]`` describes, checked against the data.

    Raises
    ------
    ConfigError
        The layer sizes do not start with the number of features, or a setting is
        invalid (the message says which).
    """
    from steepest.nn import MLP, VAE, Autoencoder

    settings = dict(config["model"])
    kind = settings.pop("kind")
    sizes = settings.get("layer_sizes")
    where = f"{config['source']}: [model]"
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise ConfigError(f"{where} layer_sizes must be a list of at least two sizes, e.g. [{X.shape[1]}, 32, 10]; got {sizes!r}")
    if sizes[0] != X.shape[1]:
        raise ConfigError(f"{where} layer_sizes starts with {sizes[0]} inputs but the data has {X.shape[1]} feature columns")
    try:
        return {"mlp": MLP, "autoencoder": Autoencoder, "vae": VAE}[kind](**settings)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where} {error}") from None


def targets_and_labels(config: Dict[str, Any], model: Any, y: Optional[np.ndarray]) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """What ``fit`` learns ``X`` against, and the labels that colour the pictures.

    An MLP learns the target; an autoencoder and a VAE learn from ``X`` alone, and their
    target, when the config names one, only colours the latent-space picture; a conditional
    VAE (``n_classes``) takes the target as each sample's class.

    Raises
    ------
    ConfigError
        A conditional VAE without a target, or with a target that is not its classes.
    """
    from steepest.nn import VAE, Autoencoder

    if isinstance(model, VAE) and model.n_classes:
        n_classes = model.n_classes
        where = f"{config['source']}: [model] n_classes = {n_classes} makes a conditional VAE"
        if y is None:
            raise ConfigError(f"{where}: name the column of each sample's class as [data] target")
        values = np.asarray(y)
        if values.ndim != 1 or values.dtype.kind not in "fiu":
            raise ConfigError(f"{where}: [data] target must hold one number per sample, its class (0 to {n_classes - 1})")
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)) | (values < 0) | (values >= n_classes))
        if bad.size:
            raise ConfigError(f"{where}, whose classes are 0 to {n_classes - 1}, but [data] target holds {values[bad[0]]:g} (sample {bad[0]})")
        classes = values.astype(np.int64)
        return classes, classes
    if isinstance(model, (VAE, Autoencoder)):
        return None, y
    return y, None


def image_shape(config: Dict[str, Any], features: int) -> Tuple[int, int]:
    """How one sample of ``features`` values is drawn as an image: ``[output] image_shape``,
    else square when ``features`` is a square number, else one row.

    Raises
    ------
    ConfigError
        ``[output] image_shape`` does not hold ``features`` pixels.
    """
    shape = config["output"].get("image_shape")
    if shape is None:
        side = int(np.sqrt(features))
        return (side, side) if side * side == features else (1, features)
    if shape[0] * shape[1] != features:
        raise ConfigError(f"{config['source']}: [output] image_shape {shape} holds {shape[0] * shape[1]} pixels but the data has {features} features")
    return int(shape[0]), int(shape[1])


def build_optimizer(config: Dict[str, Any]) -> Any:
    """``steepest.SGD`` or ``steepest.Adam`` from the config's ``[optimizer]``."""
    from steepest.train import SGD, Adam

    settings = dict(config["optimizer"])
    name = settings.pop("name")
    try:
        return (Adam if name == "adam" else SGD)(**settings)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config['source']}: [optimizer] {error}") from None


def build_callbacks(config: Dict[str, Any]) -> List[Any]:
    """An ``EarlyStopping`` callback when the config has an ``[early_stopping]`` table."""
    from steepest.train import EarlyStopping

    if config["early_stopping"] is None:
        return []
    try:
        return [EarlyStopping(**config["early_stopping"])]
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config['source']}: [early_stopping] {error}") from None


def fit_arguments(config: Dict[str, Any]) -> Dict[str, Any]:
    """Keyword arguments for ``model.fit`` from the config's ``[training]``, optimizer and
    callbacks included."""
    from steepest.train.objective import check_noise

    arguments = dict(config["training"])
    if "noise" in arguments:
        try:
            arguments["noise"] = check_noise(arguments["noise"])
        except TypeError:
            raise ConfigError(f"{config['source']}: [training] noise must be [\"gaussian\", std] or [\"mask\", rate], got {arguments['noise']!r}") from None
        except ValueError as error:
            raise ConfigError(f"{config['source']}: [training] noise: {error}") from None
    arguments["optimizer"] = build_optimizer(config)
    arguments["callbacks"] = build_callbacks(config)
    return arguments
