"""Building, training, watching and keeping models: the behaviour a user relies on."""

import io
import math
import pickle

import numpy as np
import pytest

import reference
import steepest


def blobs(rows=300, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, features)) * 3
    labels = rng.integers(0, classes, rows)
    return (centers[labels] + rng.standard_normal((rows, features))).astype(np.float32), labels


def test_layer_weights_are_writable_views_onto_the_model():
    model = steepest.MLP([3, 4, 2], seed=0)
    layer = model.layers[0]
    layer.weight[...] = 0.0
    layer.bias[...] = 1.0
    X = np.ones((2, 3), np.float32)
    hidden = reference.dense_forward(X, layer.weight, layer.bias, "relu")
    expected = reference.dense_forward(hidden, model.layers[1].weight, model.layers[1].bias)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-6)
    assert np.shares_memory(layer.weight, model.layers[0].weight)


def test_initialisation_suits_the_activation_and_is_reproducible():
    wide = 2000
    relu = steepest.MLP([wide, 500, 1], "relu", seed=1).layers[0].weight
    tanh = steepest.MLP([wide, 500, 1], "tanh", seed=1).layers[0].weight
    assert relu.std() == pytest.approx(math.sqrt(2 / wide), rel=0.02)  # He
    assert np.abs(tanh).max() <= math.sqrt(6 / (wide + 500))  # Glorot uniform bound
    again = steepest.MLP([wide, 500, 1], "relu", seed=1).layers[0].weight
    assert relu.tobytes() == again.tobytes()


def test_sizes_that_do_not_chain_are_refused_with_the_layer_named():
    with pytest.raises(ValueError, match="layer 1"):
        steepest.Sequential([steepest.Dense(3, 4), steepest.Dense(5, 2)])
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        steepest.Dense(3, 4, "gelu")
    with pytest.raises(ValueError, match="output layer"):
        steepest.Sequential([steepest.Dense(3, 4, "softmax"), steepest.Dense(4, 2)])


def test_summary_and_repr_describe_the_model():
    model = steepest.Sequential([steepest.Dense(4, 8), steepest.Dropout(0.5), steepest.Dense(8, 2, "softmax")], seed=3)
    assert "Dropout(0.5)" in repr(model) and "seed=3" in repr(model)
    summary = model.summary()
    assert "total parameters: 58" in summary and "(None, 8)" in summary


def test_classifier_learns_separable_blobs_with_validation_metrics():
    X, y = blobs()
    model = steepest.MLP([4, 16, 3], output_activation="softmax", seed=0)
    history = model.fit(X, y, loss="softmax_cross_entropy", epochs=15, optimizer=steepest.Adam(lr=0.01), validation_split=0.2, verbose=0)
    assert history["val_accuracy"][-1] > 0.9
    assert history["loss"][-1] < history["loss"][0]
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time", "samples_per_second"}
    predicted = model.predict(X).argmax(axis=1)
    assert np.mean(predicted == y) > 0.9


def test_one_hot_targets_train_like_integer_labels():
    X, y = blobs(rows=96)
    one_hot = np.eye(3, dtype=np.float32)[y]
    runs = []
    for target in (y, one_hot):
        model = steepest.MLP([4, 8, 3], seed=2)
        model.fit(X, target, loss="softmax_cross_entropy", epochs=2, shuffle=False, verbose=0)
        runs.append(model.get_parameters())
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5, atol=1e-7)


def test_diagnostics_report_dead_relu_units_and_saturation():
    X, y = blobs(rows=64)
    model = steepest.Sequential([steepest.Dense(4, 6, "relu"), steepest.Dense(6, 5, "tanh"), steepest.Dense(5, 3, "identity")], seed=0)
    model.layers[0].bias[...] = -1000.0  # no input can switch these units on
    model.layers[1].weight[...] = 0.0
    model.layers[1].bias[...] = 50.0  # tanh(50) is saturated
    history = model.fit(X, y, loss="softmax_cross_entropy", epochs=1, optimizer=steepest.SGD(lr=1e-6), verbose=0)
    first, second, last = history.diagnostics[0]
    assert first["dead_fraction"] == 1.0
    assert second["saturated_fraction"] == 1.0
    assert last["dead_fraction"] is None and last["saturated_fraction"] is None
    assert last["gradient_norm"] > 0 and last["update_ratio"] > 0
    assert history.layer_diagnostic("dead_fraction")[0][0] == 1.0


def test_divergence_raises_with_epoch_batch_and_history_and_keeps_finite_weights():
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((256, 4)) * 1e3).astype(np.float32)
    y = rng.standard_normal((256, 1)).astype(np.float32)
    model = steepest.MLP([4, 32, 1], seed=0)
    with pytest.raises(steepest.TrainingDivergedError, match=r"epoch \d+, batch \d+.*learning rate") as caught:
        model.fit(X, y, epochs=50, optimizer=steepest.SGD(lr=10.0), verbose=0)
    assert isinstance(caught.value.history, steepest.History)
    assert np.isfinite(model.get_parameters()).all()


def test_a_rising_loss_warns_of_divergence():
    class InflateOutputWeights(steepest.Callback):
        """Makes every epoch worse than the last, as a too-high learning rate would."""

        def on_epoch_end(self, epoch, logs=None):
            self.model.layers[-1].weight[...] *= 3.0

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2)).astype(np.float32)
    y = np.zeros((64, 1), np.float32)
    model = steepest.MLP([2, 8, 1], "tanh", seed=0)
    with pytest.warns(RuntimeWarning, match="risen for 3 epochs"):
        model.fit(X, y, epochs=5, optimizer=steepest.SGD(lr=1e-9), callbacks=[InflateOutputWeights()], verbose=0)


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = blobs(rows=128)
    model = steepest.MLP([4, 8, 3], seed=0)
    stop = steepest.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    # A learning rate that turns harmful after epoch 2 makes the loss rise.
    schedule = lambda epoch: 0.05 if epoch < 3 else 5.0
    history = model.fit(X, y, loss="softmax_cross_entropy", epochs=30, optimizer=steepest.SGD(lr=schedule), callbacks=[stop], verbose=0)
    assert len(history) < 30 and stop.stopped_epoch is not None
    best_epoch, best_loss = history.best("loss")
    assert stop.best_epoch == best_epoch
    # Restored: the model is as good as at its best epoch, not as bad as at its last.
    restored = steepest.ops.loss("softmax_cross_entropy", model.predict(X), y)[0]
    assert restored < history["loss"][-1]


def test_schedules_and_plateau_set_the_learning_rate_per_epoch():
    X, y = blobs(rows=64)
    model = steepest.MLP([4, 4, 3], seed=0)
    history = model.fit(X, y, loss="softmax_cross_entropy", epochs=4, optimizer=steepest.SGD(lr=steepest.StepDecay(0.1, 2, 0.5)), verbose=0)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05])
    plateau = steepest.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    history = model.fit(X, y, loss="softmax_cross_entropy", epochs=3, optimizer=steepest.SGD(lr=0.1), callbacks=[plateau], verbose=0)
    # Epoch 0 sets the baseline; epoch 1 fails to beat it by min_delta, so epoch 2 runs at half.
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05])


def test_progress_prints_one_line_per_epoch_off_a_terminal(capsys):
    X, y = blobs(rows=64)
    steepest.MLP([4, 4, 3], seed=0).fit(X, y, loss="softmax_cross_entropy", epochs=3, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"Epoch {i + 1}/3") for i, line in enumerate(lines))
    assert "\r" not in "".join(lines) and "samples/s" in lines[0]
    steepest.MLP([4, 4, 3], seed=0).fit(X, y, loss="softmax_cross_entropy", epochs=3, verbose=0)
    assert capsys.readouterr().out == ""


def test_the_progress_bar_draws_on_a_terminal():
    from steepest.train.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = Progress(1, epochs=2, batches=10, stream=stream)
    progress.epoch_begin(0)
    progress.batches_done(10, 320, 0.5)
    progress.epoch_end({"loss": 0.5, "lr": 0.1, "time": 1.0, "samples_per_second": 320.0})
    text = stream.getvalue()
    assert "\rEpoch 1/2 [" in text and "10/10" in text and "ETA" in text and text.endswith("\n")


def test_save_load_gives_bit_identical_predictions_and_pickles(tmp_path):
    X, y = blobs(rows=64)
    model = steepest.Sequential([steepest.Dense(4, 8, "tanh"), steepest.Dropout(0.1), steepest.Dense(8, 3, "softmax")], seed=1, dtype="float64")
    model.fit(X, y, loss="softmax_cross_entropy", epochs=2, verbose=0)
    path = tmp_path / "model.steepest"
    model.save(path)
    loaded = steepest.load(path)
    assert type(loaded) is steepest.Sequential and loaded.dtype == np.float64
    assert loaded.predict(X).tobytes() == model.predict(X).tobytes()
    assert repr(loaded) == repr(model)
    unpickled = pickle.loads(pickle.dumps(model))
    assert unpickled.predict(X).tobytes() == model.predict(X).tobytes()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_loading_a_damaged_file_raises_a_clear_error(tmp_path):
    path = tmp_path / "model.steepest"
    steepest.MLP([3, 4, 2]).save(path)
    data = path.read_bytes()
    damaged = {
        "truncated": data[:-3],
        "flipped": data[:-1] + bytes([data[-1] ^ 1]),
        "not a model": b"hello world, not a model at all",
        "newer version": data[:8] + (99).to_bytes(4, "little") + data[12:],
    }
    for name, content in damaged.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match="not a valid steepest model file"):
            steepest.load(tmp_path / name)


def test_autoencoder_mirrors_the_encoder_and_shares_weights_with_its_parts():
    rng = np.random.default_rng(0)
    X = rng.random((200, 12)).astype(np.float32)
    ae = steepest.Autoencoder([12, 6, 2], seed=0)
    assert [(l.in_features, l.out_features) for l in ae.layers] == [(12, 6), (6, 2), (2, 6), (6, 12)]
    assert ae.layers[1].activation == "identity" and ae.layers[-1].activation == "sigmoid"
    before = ae.reconstruction_error(X).mean()
    ae.fit(X, epochs=30, optimizer=steepest.Adam(lr=0.01), verbose=0)
    assert ae.reconstruction_error(X).mean() < before
    np.testing.assert_array_equal(ae.decode(ae.encode(X)), ae.reconstruct(X))
    encoder = ae.encoder
    assert np.shares_memory(encoder.layers[0].weight, ae.layers[0].weight)
    ae.layers[0].bias[...] += 1.0
    np.testing.assert_array_equal(encoder.predict(X), ae.encode(X))


def test_autoencoder_with_its_own_decoder_sizes_saves_and_loads(tmp_path):
    ae = steepest.Autoencoder([10, 4], decoder_sizes=[4, 7, 10], seed=0)
    assert [l.out_features for l in ae.layers] == [4, 7, 10]
    ae.save(tmp_path / "ae")
    loaded = steepest.load(tmp_path / "ae")
    assert isinstance(loaded, steepest.Autoencoder) and loaded.latent_features == 4
    with pytest.raises(ValueError, match="decoder_sizes"):
        steepest.Autoencoder([10, 4], decoder_sizes=[3, 10])


def test_partial_fit_streams_chunks_like_one_epoch():
    X, y = blobs(rows=96)
    streamed, whole = steepest.MLP([4, 8, 3], seed=0), steepest.MLP([4, 8, 3], seed=0)
    optimizer = steepest.SGD(lr=0.05, momentum=0.9)
    for begin in range(0, 96, 32):
        streamed.partial_fit(X[begin : begin + 32], y[begin : begin + 32], batch_size=16, optimizer=optimizer, loss="softmax_cross_entropy")
    whole.fit(X, y, batch_size=16, epochs=1, shuffle=False, optimizer=optimizer, loss="softmax_cross_entropy", verbose=0)
    np.testing.assert_array_equal(streamed.get_parameters(), whole.get_parameters())


def test_data_errors_name_the_problem():
    model = steepest.MLP([3, 4, 2], seed=0)
    X = np.zeros((8, 3), np.float32)
    with pytest.raises(ValueError, match=r"X contains nan at position \(2, 1\)"):
        bad = X.copy()
        bad[2, 1] = np.nan
        model.fit(bad, np.zeros((8, 2)), verbose=0)
    with pytest.raises(ValueError, match="X has 5 features but the model takes 3"):
        model.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="batch_size=100 is larger"):
        model.fit(X, np.zeros((8, 2)), batch_size=100, verbose=0)
    with pytest.raises(ValueError, match="y has 5 rows but X has 8"):
        model.fit(X, np.zeros((5, 2)), verbose=0)
    with pytest.raises(ValueError, match="unknown loss"):
        model.fit(X, np.zeros((8, 2)), loss="hinge", verbose=0)
    with pytest.raises(ValueError, match="needs a sigmoid output"):
        model.fit(X, np.zeros((8, 2)), loss="binary_cross_entropy", verbose=0)
    with pytest.raises(TypeError, match="complex"):
        model.predict(np.zeros((2, 3), np.complex64))


def test_history_json_is_strict_with_missing_metrics_as_null(tmp_path):
    import json

    history = steepest.History()
    history.record(0, {"loss": 1.0}, [])
    history.record(1, {"loss": 0.5, "val_loss": 0.7}, [{"gradient_norm": float("inf")}])
    history.to_json(tmp_path / "h.json")
    data = json.loads((tmp_path / "h.json").read_text(), parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert data["history"]["val_loss"] == [None, 0.7]
    assert data["diagnostics"][1][0]["gradient_norm"] is None


def test_predict_takes_an_equal_dtype_that_is_not_numpys_own_descriptor():
    """The engine compares dtypes by identity; an equal descriptor (with metadata, as a
    memmap's may be) must not slip through validation's shortcut for ready arrays."""
    model = steepest.MLP([4, 3], seed=0)
    X = np.random.default_rng(0).random((5, 4)).astype(np.float32)
    tagged = X.view(np.dtype(np.float32, metadata={"source": "memmap"}))
    assert tagged.dtype == np.float32 and tagged.dtype is not np.dtype(np.float32)
    np.testing.assert_array_equal(model.predict(tagged), model.predict(X))
