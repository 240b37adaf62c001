"""The model file format (issue 18): the checksum covers every byte of a file, files of
format version 1 still load, and a save, a pickle or a load keep partial_fit's optimizer
state, so that training continues bit for bit as it would have without the round trip."""

import json
import pickle
import zlib

import numpy as np
import pytest

import steepest
from steepest import io
from steepest.nn import saving


def version_1_file(model):
    """The bytes steepest 0.1.0 wrote for ``model`` (format version 1): the CRC-32 of the
    parameters alone in the header, no trailer. Written here from the format's description,
    not with steepest's encoder, so that it stays a version-1 file whatever the encoder
    becomes."""
    parameters = model.get_parameters().astype(model.get_parameters().dtype.newbyteorder("<"))
    raw = parameters.tobytes()
    header = {
        "model": type(model).__name__,
        "seed": model.seed,
        "epochs_trained": 0,
        "layers": [saving._saved_layer(layer) for layer in model.layers],
        "config": model._config(),
        "dtype": parameters.dtype.name,
        "parameter_count": parameters.size,
        "crc32": zlib.crc32(raw),
    }
    text = json.dumps(header, sort_keys=True).encode()
    return b"STEEPEST" + (1).to_bytes(4, "little") + len(text).to_bytes(4, "little") + text + raw


@pytest.mark.parametrize(
    "model",
    [steepest.MLP([3, 4, 2], seed=1), steepest.Autoencoder([4, 3, 2], seed=2, dtype="float64")],
    ids=["mlp-float32", "autoencoder-float64"],
)
def test_version_1_files_still_load(model):
    loaded = saving.model_from_bytes(version_1_file(model))
    assert type(loaded) is type(model) and loaded.dtype == model.dtype
    assert np.array_equal(loaded.get_parameters(), model.get_parameters())
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in model.layers]
    # and are written back in the current version
    assert int.from_bytes(saving.model_to_bytes(loaded)[8:12], "little") == io.FORMAT_VERSION == 2


def test_every_single_bit_flip_of_a_file_is_refused():
    # The smallest autoencoder: a header with the fields that change what a model does
    # (encoder_layers, seed, epochs_trained, the layers), and a few parameters. Each of its
    # bits, flipped alone, must make the file refused: CRC-32 over the whole file detects
    # every single-bit error.
    model = steepest.Autoencoder([2, 1], seed=3)
    model.fit(np.ones((4, 2), np.float32), epochs=1, batch_size=2, verbose=0)
    data = bytearray(saving.model_to_bytes(model))
    loaded_silently = []
    for bit in range(8 * len(data)):
        data[bit // 8] ^= 1 << (bit % 8)
        try:
            saving.model_from_bytes(bytes(data))
        except ValueError:
            pass
        else:
            loaded_silently.append(bit)
        data[bit // 8] ^= 1 << (bit % 8)
    assert loaded_silently == [], f"{len(loaded_silently)} of {8 * len(data)} flips loaded, the first at bit {loaded_silently[:1]}"
    assert np.array_equal(saving.model_from_bytes(bytes(data)).get_parameters(), model.get_parameters())


def test_a_file_with_the_checksum_of_another_header_is_refused():
    # Version 1's blind spot: the header edited, the parameters untouched.
    data = saving.model_to_bytes(steepest.MLP([3, 4, 2], seed=1))
    edited = data.replace(b'"seed": 1', b'"seed": 3')
    assert edited != data
    with pytest.raises(ValueError, match="checksum"):
        saving.model_from_bytes(edited)


# ---- partial_fit's optimizer state survives a round trip ---------------------------------


def chunks(features=4, outputs=2, count=3, rows=24):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((rows, features)).astype(np.float32), rng.standard_normal((rows, outputs)).astype(np.float32)) for _ in range(count)]


def dropout_model():
    # Dropout draws from the trainer's step counter: it must carry over as well.
    return steepest.Sequential([steepest.Dense(4, 8, "relu"), steepest.Dropout(0.25), steepest.Dense(8, 2, "identity")], seed=5)


def through_pickle(model):
    return pickle.loads(pickle.dumps(model))


def through_file(tmp_path):
    def round_trip(model):
        path = tmp_path / "model.steepest"
        model.save(path)
        return steepest.load(path)

    return round_trip


OPTIMIZERS = {
    "sgd": lambda: steepest.SGD(lr=0.05),
    "momentum": lambda: steepest.SGD(lr=0.05, momentum=0.9),
    "nesterov": lambda: steepest.SGD(lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda: steepest.Adam(lr=0.01),
}


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("way", ["pickle", "file", "pickle-twice"])
def test_partial_fit_continues_bit_for_bit_after_a_round_trip(optimizer, way, tmp_path):
    round_trip = {"pickle": through_pickle, "file": through_file(tmp_path), "pickle-twice": lambda m: through_pickle(through_pickle(m))}[way]
    first, *rest = chunks()
    model = dropout_model()
    model.partial_fit(*first, batch_size=5, optimizer=OPTIMIZERS[optimizer]())
    copy = round_trip(model)
    for X, y in rest:
        model.partial_fit(X, y, batch_size=5, optimizer=OPTIMIZERS[optimizer]())
        copy.partial_fit(X, y, batch_size=5, optimizer=OPTIMIZERS[optimizer]())
        assert np.array_equal(copy.get_parameters(), model.get_parameters())


def test_without_the_optimizer_state_the_continuation_differs():
    # The test above could not fail if the state did not matter: it does (Adam's moments).
    first, second, _ = chunks()
    model = dropout_model()
    model.partial_fit(*first, batch_size=5, optimizer=steepest.Adam(lr=0.01))
    copy = dropout_model()
    copy.set_parameters(model.get_parameters())
    model.partial_fit(*second, batch_size=5, optimizer=steepest.Adam(lr=0.01))
    copy.partial_fit(*second, batch_size=5, optimizer=steepest.Adam(lr=0.01))
    assert not np.array_equal(copy.get_parameters(), model.get_parameters())


def test_the_saved_state_is_dropped_when_the_settings_change():
    first, second, _ = chunks()
    model = steepest.MLP([4, 6, 2], seed=1)
    model.partial_fit(*first, batch_size=5, optimizer=steepest.Adam(lr=0.01))
    copy = through_pickle(model)
    fresh = steepest.MLP([4, 6, 2], seed=1)
    fresh.set_parameters(model.get_parameters())
    # Another learning rate is the same trainer (the rate goes to each run); other betas
    # are not: those start afresh, as without the round trip.
    copy.partial_fit(*second, batch_size=5, optimizer=steepest.Adam(lr=0.01, beta1=0.8))
    fresh.partial_fit(*second, batch_size=5, optimizer=steepest.Adam(lr=0.01, beta1=0.8))
    assert np.array_equal(copy.get_parameters(), fresh.get_parameters())


def test_an_estimators_partial_fit_continues_identically_after_pickling():
    from steepest.sklearn import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    y = (X[:, 0] > 0).astype(int)
    estimator = MLPClassifier(hidden_layer_sizes=(6,), solver="adam", random_state=0)
    estimator.partial_fit(X[:20], y[:20], classes=[0, 1])
    copy = through_pickle(estimator)
    estimator.partial_fit(X[20:], y[20:])
    copy.partial_fit(X[20:], y[20:])
    assert np.array_equal(copy.model_.get_parameters(), estimator.model_.get_parameters())


def test_a_hostile_optimizer_state_is_refused():
    model = steepest.MLP([3, 4, 2], seed=1)
    model.partial_fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), optimizer=steepest.Adam())
    header, arrays = io.decode(saving.model_to_bytes(model))
    for edit, phrase in [
        (lambda h, a: h["partial_fit"].__setitem__("steps", -1), "steps"),
        (lambda h, a: h["partial_fit"].__setitem__("arrays", ["parameters"]), "arrays"),
        (lambda h, a: h["partial_fit"].__setitem__("arrays", ["missing"]), "arrays"),
        (lambda h, a: a.__setitem__("optimizer_0", a["optimizer_0"][:-1]), "finite values"),
        (lambda h, a: a.__setitem__("optimizer_1", np.full_like(a["optimizer_1"], np.inf)), "finite values"),
        (lambda h, a: h.__setitem__("partial_fit", [1]), "'partial_fit'"),
    ]:
        edited_header, edited_arrays = json.loads(json.dumps(header)), dict(arrays)
        edit(edited_header, edited_arrays)
        for key in ("dtype", "arrays"):
            edited_header.pop(key)
        with pytest.raises(ValueError, match="not a valid steepest model file") as raised:
            saving.model_from_bytes(io.encode(edited_header, edited_arrays))
        assert phrase in str(raised.value)


def test_a_vae_continues_its_draws_after_a_round_trip():
    # The sampling layer's noise is drawn from the trainer's step counter.
    X = np.random.default_rng(0).random((30, 6)).astype(np.float32)
    model = steepest.VAE([6, 4, 2], seed=1)
    model.partial_fit(X[:10], batch_size=4, optimizer=steepest.Adam(lr=0.01))
    copy = through_pickle(model)
    for each in (model, copy):
        each.partial_fit(X[10:], batch_size=4, optimizer=steepest.Adam(lr=0.01))
    assert np.array_equal(copy.get_parameters(), model.get_parameters())


def test_a_state_that_does_not_fit_its_settings_is_refused_once_then_dropped():
    # A well-formed file whose arrays are not what its optimizer keeps (Adam's two moments,
    # one given): the partial_fit that would take it up says so; the next starts afresh.
    X, y = np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)
    model = steepest.MLP([3, 4, 2], seed=1)
    model.partial_fit(X, y, optimizer=steepest.Adam())
    header, arrays = io.decode(saving.model_to_bytes(model))
    header["partial_fit"]["arrays"] = ["optimizer_0"]
    del arrays["optimizer_1"]
    for key in ("dtype", "arrays"):
        header.pop(key)
    loaded = saving.model_from_bytes(io.encode(header, arrays))
    with pytest.raises(ValueError, match="does not fit its settings.*2 arrays of state, not 1"):
        loaded.partial_fit(X, y, optimizer=steepest.Adam())
    fresh = steepest.MLP([3, 4, 2], seed=1)
    fresh.set_parameters(model.get_parameters())
    for each in (loaded, fresh):
        each.partial_fit(X, y, optimizer=steepest.Adam())
    assert np.array_equal(loaded.get_parameters(), fresh.get_parameters())
