"""Coverage-guided fuzzing of model loading (issue 8): for any bytes, steepest's loader
returns a model that works or raises ValueError. Anything else (another exception, a
crash, a hang, a model that cannot predict or does not survive a save) is a finding.

The first byte of each input picks how the rest is used (its value modulo 3):
- 0: the rest is a model file, as is (the signature, lengths, JSON and checksum checks);
- 1: the rest is a JSON header, a NUL byte, then raw arrays; the harness frames them with
  the signature, the version, the length and the right CRC-32 of the whole (io.frame).
  Random mutations would almost never keep the checksum right, so without this the fuzzer
  would never get past it to the layers and the model building;
- 2: the rest drives a header built field by field (atheris.FuzzedDataProvider): mostly
  plausible layer sizes and names, sometimes huge, negative, non-integer, infinite, NaN,
  string, null or nested values, with a matching block of parameters. Byte mutations of
  JSON text rarely produce such values in the right places.

Usage: python fuzz/fuzz_load.py [libFuzzer flags] CORPUS_DIRECTORY
       (seed it with fuzz/make_corpus.py; .ci/fuzz runs both for a bounded time)
"""

import json
import sys

import atheris

with atheris.instrument_imports(include=["steepest"]):
    import numpy as np

    from steepest import io
    from steepest.nn import saving

# A hostile header may describe a model whose input is wide; predicting on it must not
# need more than this many input values.
_MAX_PROBE_VALUES = 1 << 16


def field_value(provider: atheris.FuzzedDataProvider, usual: list) -> object:
    """One of `usual` most of the time, else a value of an unexpected size or type."""
    choice = provider.ConsumeIntInRange(0, 15)
    if choice < 9 or not usual:
        return provider.PickValueInList(usual) if usual else provider.ConsumeIntInRange(0, 8)
    return [
        lambda: provider.ConsumeInt(10),  # beyond 64 bits, either sign
        lambda: provider.ConsumeFloat(),  # includes inf, -inf and NaN
        lambda: provider.ConsumeUnicode(6),
        lambda: None,
        lambda: provider.ConsumeBool(),
        lambda: [provider.ConsumeIntInRange(0, 8)],
        lambda: {"x": 1},
    ][choice - 9]()


def structured_file(data: bytes) -> bytes:
    provider = atheris.FuzzedDataProvider(data)
    sizes = list(range(1, 9))
    layers = []
    for _ in range(provider.ConsumeIntInRange(0, 6)):
        layers.append(
            {
                "type": field_value(provider, ["dense", "dense", "dropout"]),
                "in_features": field_value(provider, sizes),
                "out_features": field_value(provider, sizes),
                "features": field_value(provider, sizes),
                "activation": field_value(provider, ["identity", "relu", "sigmoid", "tanh", "softmax"]),
                "rate": field_value(provider, [0.0, 0.25, 0.5]),
            }
        )
    dtype = field_value(provider, ["float32", "float64"])
    itemsize = 8 if dtype == "float64" else 4
    count = sum(
        layer["in_features"] * layer["out_features"] + layer["out_features"]
        for layer in layers
        if layer["type"] == "dense" and all(type(layer[k]) is int and 0 < layer[k] < 64 for k in ("in_features", "out_features"))
    )
    header = {
        "model": field_value(provider, ["Sequential", "MLP", "Autoencoder"]),
        "dtype": dtype,
        "seed": field_value(provider, [0, 1, 7]),
        "epochs_trained": field_value(provider, [0, 3]),
        "layers": layers,
        "config": {"encoder_layers": field_value(provider, [1, 2, 3])},
        "arrays": [["parameters", field_value(provider, [count])]],
    }
    if provider.ConsumeIntInRange(0, 3) == 0:  # partial_fit's optimizer state, Adam's two arrays
        header["partial_fit"] = {"settings": [4, "mse"], "steps": field_value(provider, [0, 5]), "arrays": ["optimizer_0", "optimizer_1"]}
        header["arrays"] += [["optimizer_0", field_value(provider, [count])], ["optimizer_1", count]]
    raw = provider.ConsumeBytes(sum(entry[1] for entry in header["arrays"] if type(entry[1]) is int and 0 <= entry[1] < 1 << 16) * itemsize)
    return io.frame(json.dumps(header).encode(), raw)


def file_from_input(data: bytes) -> bytes:
    mode = data[0] % 3 if data else 0
    if mode == 0:
        return data[1:]
    if mode == 1:
        header, _, raw = data[1:].partition(b"\0")
        return io.frame(header, raw)
    return structured_file(data[1:])


def TestOneInput(data: bytes) -> None:
    try:
        model = saving.model_from_bytes(file_from_input(data))
    except ValueError:
        return
    # It loaded: it must predict on a small batch and save to what it was read from.
    if model.input_features <= _MAX_PROBE_VALUES:
        X = np.linspace(-1, 1, 2 * model.input_features).reshape(2, -1)
        prediction = model.predict(X)
        assert prediction.shape == (2, model.output_features), prediction.shape
    again = saving.model_from_bytes(saving.model_to_bytes(model))
    assert type(again) is type(model)
    assert np.array_equal(again.get_parameters(), model.get_parameters(), equal_nan=True)
    assert [repr(layer) for layer in again.layers] == [repr(layer) for layer in model.layers]


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
