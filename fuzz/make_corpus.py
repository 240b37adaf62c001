"""Writes the seed corpus of fuzz_load.py: valid model files of every kind the format
describes (so the fuzzer starts from deep inside the parser), plus a few near misses, in
both of the target's input modes.

Usage: python fuzz/make_corpus.py DIRECTORY
"""

import json
import sys
from pathlib import Path

import numpy as np

import steepest
from steepest.nn import saving


def models():
    yield "mlp-f32", steepest.MLP([3, 4, 2], seed=0)
    yield "mlp-f64", steepest.MLP([2, 3, 3, 1], activation="tanh", output_activation="sigmoid", seed=1, dtype="float64")
    yield "classifier", steepest.MLP([4, 5, 3], output_activation="softmax", seed=2)
    yield "autoencoder", steepest.Autoencoder([6, 4, 2], seed=3)
    yield "autoencoder-decoder", steepest.Autoencoder([5, 2], decoder_sizes=[2, 3, 5], seed=4, dtype="float64")
    yield "dropout", steepest.Sequential([steepest.Dense(3, 4, "relu"), steepest.Dropout(0.25), steepest.Dense(4, 1, "identity")], seed=5)
    trained = steepest.MLP([2, 3, 1], seed=6)
    trained.fit(np.ones((8, 2), np.float32), np.ones((8, 1), np.float32), epochs=2, batch_size=4, verbose=0)
    yield "trained", trained
    # with partial_fit's optimizer state: Adam's two arrays, and SGD's velocity
    for name, optimizer in [("adam", steepest.Adam()), ("momentum", steepest.SGD(momentum=0.9))]:
        streamed = steepest.MLP([2, 3, 1], seed=7)
        streamed.partial_fit(np.ones((8, 2), np.float32), np.ones((8, 1), np.float32), batch_size=4, optimizer=optimizer)
        yield f"partial-fit-{name}", streamed


def main(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, model in models():
        data = saving.model_to_bytes(model)
        length = int.from_bytes(data[12:16], "little")
        # Mode byte 0: the file as is; 1: header, NUL, parameters (see fuzz_load.py); mode 2
        # needs no seeds, any bytes describe a header.
        (folder / name).write_bytes(b"\0" + data)
        # (the trailing checksum left off: the harness frames it with a right one)
        raw = data[16 + length : -4]
        (folder / f"{name}-framed").write_bytes(b"\1" + data[16 : 16 + length] + b"\0" + raw)
        # The same header with the parameters cut off, and a header with an unknown field:
        # both must be refused or read, never crash.
        (folder / f"{name}-truncated").write_bytes(b"\0" + data[: 16 + length + 3])
        header = json.loads(data[16 : 16 + length])
        header["comment"] = "x"
        encoded = json.dumps(header).encode()
        (folder / f"{name}-extra-field").write_bytes(b"\1" + encoded + b"\0" + raw)
    for seed in range(8):
        (folder / f"structured-{seed}").write_bytes(bytes([2]) + np.random.default_rng(seed).bytes(256))
    print(f"wrote {len(list(folder.iterdir()))} seed files to {folder}")


if __name__ == "__main__":
    main(sys.argv[1])
