"""``steepest predict MODEL DATA``: a saved model's predictions for the rows of a data file,
prepared as ``steepest train`` prepared its training data."""

from __future__ import annotations

import argparse
import csv
import sys
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from steepest import io
from steepest.cli.exit_codes import FAILED, OK, CommandError

EXAMPLES = """\
examples:
  steepest predict run-output/model.steepest new.csv                   the predictions on stdout, as CSV
  steepest predict run-output/model.steepest new.csv --out labels.csv  or into a file (.csv or .npy)

The features are the columns the model was trained on, found by name in a CSV with a
header (other columns, such as the target, are ignored), else all the file's columns when
there are as many as the model takes; an .npz gives them as the array they came from. The
model's feature scaling is applied first. A classifier trained by steepest train writes
its labels (the classes it was trained on, text or numbers), any other model its outputs:
an autoencoder's reconstruction in the units of the data."""


def add_parser(commands: Any) -> None:
    """Register ``steepest predict`` and its options with the subcommand parser."""
    parser = commands.add_parser(
        "predict",
        help="predict with a saved model on a .csv, .npy or .npz file",
        description="Apply a model saved by steepest train (or model.save) to the rows of a data file and write its predictions.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="the model file (model.steepest)")
    parser.add_argument("data", help="the rows to predict: a .csv, .npy or .npz file")
    parser.add_argument("--out", help="write the predictions here (.csv or .npy) instead of to stdout as CSV")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Predict and write; return the exit status."""
    import steepest

    try:
        model = steepest.load(args.model)
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot load the model {args.model!r}: {error}", FAILED) from None
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".csv", ".npy"):
        raise CommandError(f"--out {args.out!r}: write predictions to a .csv or .npy file", FAILED)
    names, predictions = predict_file(model, Path(args.data))
    if out is None:
        _write_csv(sys.stdout, names, predictions)
        return OK
    # Written whole and atomically, as a model is: a failure leaves an earlier file as it was.
    if out.suffix.lower() == ".npy":
        buffer = BytesIO()
        np.save(buffer, predictions, allow_pickle=False)
        data: Union[bytes, str] = buffer.getvalue()
    else:
        text = StringIO(newline="")
        _write_csv(text, names, predictions)
        data = text.getvalue()
    try:
        io.write_atomically(data, out)
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot write the predictions to {args.out}: {error}", FAILED) from None
    return OK


def predict_file(model: Any, path: Path) -> Tuple[List[str], np.ndarray]:
    """The column names and values of ``model``'s predictions for the rows of ``path``:
    labels (one column) for a classifier that keeps its classes, else the outputs, an
    autoencoder's unscaled back into the data's units.

    Raises
    ------
    CommandError
        The data file is malformed, lacks the model's features, or the model's metadata is
        not what ``steepest train`` writes.
    """
    from steepest.cli.preparation import Scaling
    from steepest.nn import Autoencoder

    metadata = model.metadata
    X = _features(model, path)
    scaling = None
    if "scale" in metadata:
        try:
            scaling = Scaling.from_metadata(metadata["scale"], model.input_features)
        except ValueError as error:
            raise CommandError(f"the model's metadata is not usable: {error}", FAILED) from None
        X = scaling.apply(X)
    try:
        outputs = np.asarray(model.predict(X.astype(model.dtype)), dtype=np.float64)
    except ValueError as error:
        raise CommandError(f"{path}: cannot predict: {error}", FAILED) from None
    target = str(metadata.get("target", "prediction"))
    classes = metadata.get("classes")
    if classes is not None:
        return [target], _labels(model, outputs, classes)[:, None]
    if isinstance(model, Autoencoder):
        if scaling is not None:
            outputs = scaling.invert(outputs)
        columns = metadata.get("features", {}).get("columns")
        names = list(columns) if columns and len(columns) == outputs.shape[1] else [f"output_{i}" for i in range(outputs.shape[1])]
        return names, outputs
    return ([target] if outputs.shape[1] == 1 else [f"{target}_{i}" for i in range(outputs.shape[1])]), outputs


def _labels(model: Any, outputs: np.ndarray, classes: Any) -> np.ndarray:
    """Each row's class: the largest output of a softmax (or logit) layer; for one output,
    whether it is above 0.5 (a probability) or 0 (a logit)."""
    if not isinstance(classes, list) or len(classes) != max(2, outputs.shape[1]):
        raise CommandError(
            f"the model's metadata is not usable: it names {len(classes) if isinstance(classes, list) else 'no list of'} classes for {outputs.shape[1]} outputs",
            FAILED,
        )
    if outputs.shape[1] == 1:
        threshold = 0.5 if model.output_activation == "sigmoid" else 0.0
        indices = (outputs[:, 0] > threshold).astype(np.int64)
    else:
        indices = outputs.argmax(axis=1)
    # Text labels stay text, numbers numbers (an object array would not save to .npy).
    return np.asarray(classes)[indices]


def _features(model: Any, path: Path) -> np.ndarray:
    """The rows of ``path`` as the model's features (see EXAMPLES)."""
    from steepest.cli import config_file, data_file

    where = f"{path}"
    features = model.metadata.get("features", {})
    suffix = path.suffix.lower()
    if suffix not in config_file.DATA_SUFFIXES:
        raise CommandError(f"{where}: unknown data format {path.suffix!r}; use one of: {', '.join(config_file.DATA_SUFFIXES)}", FAILED)
    try:
        if suffix == ".npz":
            arrays = data_file.read_npz(path)
            name = features.get("array", "X")
            if name not in arrays:
                raise CommandError(f"{where}: the model's features are the archive's array {name!r}; it holds: {', '.join(arrays)}", FAILED)
            table, names, first_line = arrays[name], [str(i) for i in range(arrays[name].shape[-1])], 0
        else:
            names, table, first_line = config_file.read_table(path)
    except data_file.DataFileError as error:
        raise CommandError(f"{where}: {error}", FAILED) from None
    if table.ndim != 2:
        raise CommandError(f"{where}: expected a 2-D table (samples, columns), got shape {table.shape}", FAILED)
    wanted: Optional[List[str]] = features.get("columns")
    if wanted and all(column in names for column in wanted) and suffix != ".npz":
        columns = [names.index(column) for column in wanted]
    elif table.shape[1] == model.input_features:
        columns = list(range(table.shape[1]))
    else:
        missing = [column for column in wanted or [] if column not in names]
        lacks = f"; it lacks {', '.join(map(repr, missing[:5]))}" if missing and any(not name.isdigit() for name in names) else ""
        raise CommandError(f"{where}: the model takes {model.input_features} features but the file has {table.shape[1]} columns{lacks}", FAILED)
    try:
        return config_file.numeric_columns(table, columns, names, first_line, where)
    except config_file.ConfigError as error:
        raise CommandError(str(error), FAILED) from None


def _write_csv(stream: Any, names: List[str], values: np.ndarray) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(values.tolist())
