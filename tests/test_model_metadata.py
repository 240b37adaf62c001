"""A model's metadata: any JSON object of the user's, kept by save, load and pickle, refused
at save when JSON would not give it back, and checked on load."""

import json
import pickle

import numpy as np
import pytest

import steepest
from steepest import io
from steepest.nn import saving

METADATA = {"classes": ["cat", "dog"], "scale": {"offset": [0.5, -1.0], "scale": [2.0, 1e-3]}, "note": None, "trained": True, "n": 3}


@pytest.mark.parametrize(
    "make",
    [lambda: steepest.MLP([2, 4, 2], dropout=0.5), lambda: steepest.Autoencoder([2, 1]), lambda: steepest.VAE([2, 4, 1])],
    ids=["mlp", "autoencoder", "vae"],
)
def test_metadata_survives_save_load_and_pickle(tmp_path, make):
    model = make()
    assert model.metadata == {}
    model.metadata = dict(METADATA)
    model.save(tmp_path / "m.steepest")
    loaded = steepest.load(tmp_path / "m.steepest")
    assert type(loaded) is type(model) and loaded.metadata == METADATA
    assert pickle.loads(pickle.dumps(model)).metadata == METADATA
    # A model without metadata writes no field: its file is as before.
    assert "metadata" not in json.dumps(io.decode(saving.model_to_bytes(make()))[0])


@pytest.mark.parametrize(
    "metadata, error, message",
    [
        (["not", "a", "dict"], TypeError, "must be a dict, got list"),
        ({"shape": (2, 3)}, TypeError, "lists rather than tuples"),
        ({1: "int key"}, TypeError, "str keys"),
        ({"x": float("nan")}, TypeError, "must be JSON"),
        ({"x": {1, 2}}, TypeError, "must be JSON"),
        ({"x": np.float32(1.0)}, TypeError, "must be JSON"),
        ({"x": "a" * (1 << 20)}, ValueError, "at most 524288 are saved"),
    ],
    ids=["not a dict", "tuple", "int key", "nan", "set", "numpy scalar", "too large"],
)
def test_metadata_that_would_not_load_back_the_same_is_refused_at_save(tmp_path, metadata, error, message):
    model = steepest.MLP([2, 1])
    model.metadata = metadata
    with pytest.raises(error, match=message):
        model.save(tmp_path / "m.steepest")
    assert not (tmp_path / "m.steepest").exists()


def test_a_file_whose_metadata_is_not_an_object_is_refused_on_load():
    model = steepest.MLP([2, 1])
    header, arrays = io.decode(saving.model_to_bytes(model))
    for key in ("dtype", "arrays"):  # the format's own fields, which encode writes again
        del header[key]
    header["metadata"] = ["a", "list"]
    with pytest.raises(ValueError, match="header field 'metadata' is missing or of the wrong type"):
        saving.model_from_bytes(io.encode(header, arrays))


def test_an_mlp_with_dropout_loads_as_an_mlp_and_predicts_the_same(tmp_path):
    model = steepest.MLP([3, 8, 8, 2], dropout=0.3, seed=2)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    X = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    model.fit(X, X[:, :2], epochs=2, batch_size=5, verbose=0)
    model.save(tmp_path / "m.steepest")
    loaded = steepest.load(tmp_path / "m.steepest")
    assert type(loaded) is steepest.MLP
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # Rows of the loaded model's own dtype are accepted in Fortran order too.
    np.testing.assert_array_equal(loaded.predict(np.asfortranarray(X).astype(loaded.dtype)), model.predict(X))
    with pytest.raises(ValueError, match="rate must be"):
        steepest.MLP([3, 2], dropout=1.0)
