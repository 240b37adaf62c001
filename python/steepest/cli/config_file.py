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
    exclude = ["id"]             # .csv/.npy: columns that are not features (an id, a name)
    scale = "standard"           # or "minmax": features scaled by the training rows' mean
                                 # and standard deviation (or range), kept in the model file
                                 # and applied by steepest predict

    [model]
    kind = "mlp"                 # "mlp", "autoencoder" or "vae"
    layer_sizes = [64, 128, 10]  # starts with the number of features
    activation = "relu"
    output_activation = "softmax"
    seed = 0                     # the initial weights, the shuffling, the validation rows
    dropout = 0.2                # kind = "mlp": dropout after each hidden layer
    # kind = "autoencoder": latent_activation, decoder_sizes (as steepest.Autoencoder)
    # kind = "vae": decoder_sizes, reconstruction ("bernoulli" or "gaussian"), beta,
    #   n_classes (a conditional VAE: [data] target holds each sample's class, 0 to n - 1)

    [training]
    epochs = 20
    batch_size = 32
    loss = "softmax_cross_entropy"  # not for a VAE: its loss is its negative ELBO; default
                                 # for a target of text labels: the cross entropy that suits
                                 # the output layer
    validation_split = 0.2       # rows drawn at random, the same fraction of each class for
                                 # a classifier (a softmax or sigmoid output, or text labels)
    noise = ["mask", 0.25]       # or ["gaussian", std]: inputs corrupted while training
                                 # (a denoising autoencoder); the targets stay clean
    kl_warmup_epochs = 10        # a VAE: its KL weight rises to beta over these epochs

    [optimizer]
    name = "adam"                # "sgd" or "adam", with their arguments (lr, momentum, l2, ...)
    lr = 0.003

    [schedule]                   # optional: the learning rate epoch by epoch, from lr
    name = "cosine"              # "cosine" (epochs: default [training] epochs; min_lr),
                                 # "step" (step_size, gamma) or "exponential" (gamma)

    [early_stopping]             # optional: steepest.EarlyStopping's arguments
    patience = 5

    [output]
    folder = "digits-run"        # default: "<config name>-output" beside the config file
    plots = true                 # loss and diagnostics pictures (needs matplotlib); a VAE's
                                 # generated samples and KL per latent dimension too
    image_shape = [8, 8]         # how a VAE's samples are drawn: default square when the
                                 # feature count is a square, else one row per sample

A classifier's target may be text (``"setosa"``) or numbers: its classes, in sorted order,
are kept in the model's ``metadata`` with the feature columns and the scaling, so that
``steepest predict`` writes labels. A mistake (a missing file, an unknown key, a column that
is not there, a data file that is not what its name says) raises :class:`ConfigError`
naming the file, the table and the key, with the close matches.

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
>>> X, y, features = config_file.load_data(config)
>>> X.shape, y is None, features
((50, 4), True, {'columns': ['0', '1', '2', '3']})
>>> config_file.build_model(config, X)
Autoencoder([
    Dense(4, 2, activation='identity'),
    Dense(2, 4, activation='sigmoid')
], seed=0, dtype='float32')
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union, cast

import numpy as np

from steepest import io
from steepest.cli import data_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomllib joined the standard library in Python 3.11
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "Data",
    "build_callbacks",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "fit_arguments",
    "image_shape",
    "load_data",
    "output_folder",
    "read_config",
    "numeric_columns",
    "read_table",
    "targets_and_labels",
]

# Every key each table accepts; anything else is a mistake worth reporting.
TABLES: Dict[str, Tuple[str, ...]] = {
    "data": ("path", "target", "features", "exclude", "scale"),
    "model": (
        "kind",
        "layer_sizes",
        "activation",
        "output_activation",
        "dropout",
        "latent_activation",
        "decoder_sizes",
        "reconstruction",
        "beta",
        "n_classes",
        "seed",
        "dtype",
    ),
    "training": ("epochs", "batch_size", "loss", "shuffle", "validation_split", "noise", "kl_warmup_epochs"),
    "optimizer": ("name", "lr", "momentum", "nesterov", "beta1", "beta2", "eps", "l1", "l2"),
    "schedule": ("name", "epochs", "min_lr", "step_size", "gamma"),
    "early_stopping": ("monitor", "patience", "min_delta", "mode", "restore_best_weights"),
    "output": ("folder", "plots", "image_shape"),
}
REQUIRED = {"data": ("path",), "model": ("layer_sizes",)}
MODEL_KINDS = ("mlp", "autoencoder", "vae")
OPTIMIZER_KEYS = {"sgd": ("lr", "momentum", "nesterov", "l1", "l2"), "adam": ("lr", "beta1", "beta2", "eps", "l1", "l2")}
SCHEDULE_KEYS = {"cosine": ("epochs", "min_lr"), "step": ("step_size", "gamma"), "exponential": ("gamma",)}
# The losses of a classifier: its target is classes, split class by class for validation.
CLASSIFICATION_LOSSES = ("softmax_cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits")
# Keys that only some kinds of model take, by table.
KIND_ONLY: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "model": {
        "dropout": ("mlp",),
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

    Returns the tables as dicts (absent optional tables empty; ``early_stopping`` and
    ``schedule`` are ``None`` when absent), plus ``"source"``: the
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
    config["schedule"] = document.get("schedule")
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
    if shape is not None and not (
        isinstance(shape, list) and len(shape) == 2 and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
    ):
        raise ConfigError(f"{source}: [output] image_shape must be [height, width], two whole numbers >= 1; got {shape!r}")
    name = config["optimizer"].setdefault("name", "sgd")
    if name not in OPTIMIZER_KEYS:
        raise ConfigError(f"{source}: [optimizer] name must be one of {', '.join(map(repr, OPTIMIZER_KEYS))}, got {name!r}")
    for key in config["optimizer"]:
        if key != "name" and key not in OPTIMIZER_KEYS[name]:
            raise ConfigError(f"{source}: [optimizer] {key!r} is not an argument of {name}; it takes: {', '.join(OPTIMIZER_KEYS[name])}")
    if not isinstance(config["data"]["path"], str):
        raise ConfigError(f"{source}: [data] path must be a string")
    _check_data_and_schedule(config)
    return config


def _check_data_and_schedule(config: Dict[str, Any]) -> None:
    """The settings of how the data is prepared (scaling, excluded columns, the validation
    fraction) and of the schedule, which nothing downstream checks."""
    from steepest.cli.preparation import SCALINGS

    source, data = config["source"], config["data"]
    if "scale" in data and data["scale"] not in SCALINGS:
        raise ConfigError(f"{source}: [data] scale must be one of {', '.join(map(repr, SCALINGS))}, got {data['scale']!r}")
    if "exclude" in data:
        if not isinstance(data["exclude"], list):
            raise ConfigError(f'{source}: [data] exclude must be a list of columns, e.g. ["id"], got {data["exclude"]!r}')
        if "features" in data:
            raise ConfigError(f"{source}: [data] give features (the columns to use) or exclude (the columns to leave out), not both")
    split = config["training"].get("validation_split", 0.0)
    if isinstance(split, bool) or not isinstance(split, (int, float)) or not 0 <= split < 1:
        raise ConfigError(f"{source}: [training] validation_split must be a number in [0, 1), got {split!r}")
    schedule = config["schedule"]
    if schedule is None:
        return
    name = schedule.get("name")
    if name not in SCHEDULE_KEYS:
        raise ConfigError(f"{source}: [schedule] needs name, one of {', '.join(map(repr, SCHEDULE_KEYS))}; got {name!r}")
    for key in schedule:
        if key != "name" and key not in SCHEDULE_KEYS[name]:
            raise ConfigError(f"{source}: [schedule] {key!r} is not an argument of the {name} schedule; it takes: {', '.join(SCHEDULE_KEYS[name])}")


def output_folder(config: Dict[str, Any]) -> Path:
    """Where the run's results go: ``[output] folder`` (relative to the config's folder),
    by default ``<config name>-output`` beside the config."""
    folder = config["output"].get("folder", f"{config['source'].stem}-output")
    return cast(Path, config["folder"] / folder)


class Data(NamedTuple):
    """A config's data: the features ``X`` (2-D float64), the targets ``y`` (``None``
    when the config names no target; numbers, or text labels) and where the features came
    from, as ``steepest predict`` looks for them again: ``{"columns": [names]}`` of a
    ``.csv`` or ``.npy`` table (names are positions when it has none), ``{"array": name}``
    of an ``.npz``."""

    X: np.ndarray
    y: Optional[np.ndarray]
    features: Dict[str, Any]


def load_data(config: Dict[str, Any]) -> Data:
    """The features and targets of the config's ``[data]``.

    Raises
    ------
    ConfigError
        The data file is missing, of an unknown format, malformed (see
        :mod:`steepest.cli.data_file`), not numeric where features are, or lacks the named
        columns or arrays.
    """
    data = config["data"]
    path = config["folder"] / data["path"]
    where = f"{config['source']}: [data] path {data['path']!r}"
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise ConfigError(f"{where}: unknown data format {path.suffix!r}; use one of: {', '.join(DATA_SUFFIXES)}")
    try:
        if suffix == ".npz":
            return _npz_data(data_file.read_npz(path), data, where)
        names, table, first_line = read_table(path)
    except data_file.DataFileError as error:
        raise ConfigError(f"{where}: {error}") from None
    if table.ndim != 2:
        raise ConfigError(f"{where}: expected a 2-D table (samples, columns), got shape {table.shape}")
    target = data.get("target")
    target_column = None if target is None else _column(target, names, "target", where)
    if "features" in data:
        requested = data["features"]
        if not isinstance(requested, list) or not requested:
            raise ConfigError(f"{where}: [data] features must be a non-empty list of columns")
        feature_columns = [_column(c, names, "features", where) for c in requested]
    else:
        excluded = {_column(c, names, "exclude", where) for c in data.get("exclude", [])}
        if target_column in excluded:
            raise ConfigError(f"{where}: [data] exclude names the target column {names[target_column]!r}")
        feature_columns = [i for i in range(table.shape[1]) if i != target_column and i not in excluded]
        if not feature_columns:
            raise ConfigError(f"{where}: no feature columns are left (the target and [data] exclude take them all)")
    X = numeric_columns(table, feature_columns, names, first_line, where)
    y = None if target_column is None else _target(table[:, target_column])
    return Data(X, y, {"columns": [names[i] for i in feature_columns]})


def read_table(path: Path) -> Tuple[List[str], np.ndarray, int]:
    """Column names and values of a ``.csv`` (cells as text) or ``.npy`` file (names are
    positions), and the line of a CSV's first row of values (0 for ``.npy``).
    DataFileError if the file is malformed."""
    if path.suffix.lower() == ".npy":
        table = data_file.read_npy(path)
        return ([str(i) for i in range(table.shape[1])] if table.ndim == 2 else []), table, 0
    return data_file.read_csv(path)


def numeric_columns(table: np.ndarray, columns: List[int], names: List[str], first_line: int, where: str) -> np.ndarray:
    """The ``columns`` of ``table`` as float64; ConfigError naming the first cell that is not
    a number (its line, for a CSV)."""
    values = table[:, columns]
    if values.dtype.kind in "biuf":
        return np.asarray(values, dtype=np.float64)
    if values.dtype.kind != "U":
        raise ConfigError(f"{where}: expected numbers, got dtype {values.dtype}")
    try:
        return values.astype(np.float64)
    except ValueError:
        row, column = next((r, c) for r in range(values.shape[0]) for c in range(values.shape[1]) if not data_file.is_number(values[r, c]))
        line = first_line + row
        raise ConfigError(f"{where}: line {line}, column {names[columns[column]]!r}: {str(values[row, column])!r} is not a number") from None


def _target(column: np.ndarray) -> np.ndarray:
    """A target column: numbers when every cell is one, else the text labels."""
    if column.dtype.kind != "U":
        return column
    try:
        return column.astype(np.float64)
    except ValueError:
        return column


def _npz_data(arrays: Dict[str, np.ndarray], data: Dict[str, Any], where: str) -> Data:
    names = list(arrays)

    def array(key: Any, argument: str) -> np.ndarray:
        if not isinstance(key, str) or key not in arrays:
            raise ConfigError(
                f"{where}: [data] {argument} = {key!r} is not an array of the archive{_did_you_mean(str(key), names)}; it holds: {', '.join(names)}"
            )
        return arrays[key]

    if "exclude" in data:
        raise ConfigError(f"{where}: [data] exclude picks columns of a .csv or .npy table; an .npz names its arrays (features, target)")
    features = data.get("features", "X")
    X = array(features, "features")
    y = array(data["target"], "target") if "target" in data else None
    if X.ndim != 2:
        raise ConfigError(f"{where}: the features must be a 2-D array (samples, features), got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise ConfigError(f"{where}: the features must be numbers, got dtype {X.dtype}")
    if y is not None and y.ndim == 0:
        raise ConfigError(f"{where}: the target must hold one value per sample, got a single value (shape ())")
    if y is not None and len(y) != len(X):
        raise ConfigError(f"{where}: {len(y)} targets for {len(X)} samples")
    return Data(np.asarray(X, dtype=np.float64), y, {"array": features})


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


class Classes(NamedTuple):
    """A classifier's target: its ``classes`` (sorted), each sample's ``target`` as ``fit``
    takes it (class indices; one 0/1 column for a single sigmoid or logit output), the
    ``indices`` into ``classes``, and the ``loss``."""

    classes: List[Any]
    target: np.ndarray
    indices: np.ndarray
    loss: str


def classes_of(config: Dict[str, Any], model: Any, y: Optional[np.ndarray]) -> Optional[Classes]:
    """The classes of an MLP trained as a classifier: one whose target is text labels, or
    whose loss is a cross entropy (``CLASSIFICATION_LOSSES``); None for any other model.

    Without a ``loss``, text labels take the cross entropy that suits the output layer:
    softmax cross entropy for several outputs, binary cross entropy for one sigmoid output
    (with logits for an identity one). Integer labels 0 to n - 1 of n outputs are their own
    classes even when one is missing from the data.

    Raises
    ------
    ConfigError
        Text labels with a loss that is not a cross entropy, or more (or fewer) classes than
        the output layer has room for.
    """
    from steepest.cli.preparation import encode_classes
    from steepest.nn import MLP

    loss = config["training"].get("loss")
    text = y is not None and y.dtype.kind in "US"
    if not isinstance(model, MLP) or y is None or (not text and loss not in CLASSIFICATION_LOSSES) or (not text and y.ndim != 1):
        return None
    where = f"{config['source']}: [data] target"
    if y.ndim != 1:
        raise ConfigError(f"{where}: text labels must be one column")
    outputs, output_activation = model.output_features, model.output_activation
    if loss is None:
        loss = "softmax_cross_entropy" if outputs > 1 else "binary_cross_entropy" if output_activation == "sigmoid" else "binary_cross_entropy_with_logits"
    elif loss not in CLASSIFICATION_LOSSES:
        shown = ", ".join(repr(str(label)) for label in np.unique(y)[:3])
        raise ConfigError(f"{where} holds text labels ({shown}, ...): a classifier's loss is one of {', '.join(CLASSIFICATION_LOSSES)}, not {loss!r}")
    if not text:
        if not np.all(np.isfinite(y)):
            raise ConfigError(f"{where} holds {y[~np.isfinite(y)][0]}: a class must be a finite number or a text label")
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
    room = outputs if loss == "softmax_cross_entropy" else 2
    if y.dtype.kind in "iu" and y.min() >= 0 and y.max() < room:
        classes, indices = list(range(room)), y.astype(np.int64)
    else:
        classes, indices = encode_classes(y)
    if len(classes) != room:
        shown = ", ".join(map(repr, classes[:5])) + (", ..." if len(classes) > 5 else "")
        needs = f"{room} outputs (layer_sizes ends with {outputs})" if loss == "softmax_cross_entropy" else "2 classes for one sigmoid or logit output"
        raise ConfigError(f"{where} holds {len(classes)} classes ({shown}) but a {loss} classifier of this model has {needs}")
    target = indices if loss == "softmax_cross_entropy" else indices.astype(np.float64)[:, None]
    return Classes(classes, target, indices, loss)


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
    """``steepest.SGD`` or ``steepest.Adam`` from the config's ``[optimizer]``, its learning
    rate following the ``[schedule]`` when there is one."""
    from steepest.train import SGD, Adam

    settings = dict(config["optimizer"])
    name = settings.pop("name")
    try:
        optimizer = (Adam if name == "adam" else SGD)(**settings)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config['source']}: [optimizer] {error}") from None
    if config["schedule"] is not None:
        # The optimizer checked lr: it is the number the config gave, or the default.
        optimizer.lr = build_schedule(config, cast(float, optimizer.lr))
    return optimizer


def build_schedule(config: Dict[str, Any], initial_lr: float) -> Any:
    """The ``[schedule]``'s learning-rate schedule, starting from ``initial_lr``; a cosine
    decays over ``[training] epochs`` unless it names its own."""
    from steepest.train import CosineDecay, ExponentialDecay, StepDecay

    settings = dict(config["schedule"])
    name = settings.pop("name")
    if name == "cosine":
        settings.setdefault("epochs", config["training"].get("epochs", 10))
    try:
        return {"cosine": CosineDecay, "step": StepDecay, "exponential": ExponentialDecay}[name](initial_lr, **settings)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config['source']}: [schedule] {error}") from None


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
    callbacks included; not ``validation_split``, whose rows the command line draws itself
    (see :func:`steepest.cli.preparation.split_rows`)."""
    from steepest.train.objective import check_noise

    arguments = dict(config["training"])
    arguments.pop("validation_split", None)
    if "noise" in arguments:
        try:
            arguments["noise"] = check_noise(arguments["noise"])
        except TypeError:
            raise ConfigError(f'{config["source"]}: [training] noise must be ["gaussian", std] or ["mask", rate], got {arguments["noise"]!r}') from None
        except ValueError as error:
            raise ConfigError(f"{config['source']}: [training] noise: {error}") from None
    arguments["optimizer"] = build_optimizer(config)
    arguments["callbacks"] = build_callbacks(config)
    return arguments
