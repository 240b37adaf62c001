"""Building, training, watching and keeping models: the behaviour a user relies on."""

import io
import math
import pickle
import warnings

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
    with pytest.warns(steepest.DeadNetworkWarning, match="layer 0"):
        history = model.fit(X, y, loss="softmax_cross_entropy", epochs=1, optimizer=steepest.SGD(lr=1e-6), verbose=0)
    first, second, last = history.diagnostics[0]
    assert first["dead_fraction"] == 1.0
    assert second["saturated_fraction"] == 1.0
    assert last["dead_fraction"] is None and last["saturated_fraction"] is None
    assert last["gradient_norm"] > 0 and last["update_ratio"] > 0
    assert history.layer_diagnostic("dead_fraction")[0][0] == 1.0


@pytest.mark.parametrize("optimizer", [steepest.SGD, steepest.Adam])
def test_l1_drives_weights_to_exact_zeros_and_the_diagnostics_count_them(optimizer):
    # Only the first of six features matters: L1 should zero the weights of the others.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 6)).astype(np.float32)
    y = 2 * X[:, :1]
    subgradient = steepest.MLP([6, 1], seed=0)
    subgradient.fit(X, y, epochs=30, optimizer=optimizer(lr=0.01, l1=0.1, l1_step="subgradient"), verbose=0)
    assert np.count_nonzero(subgradient.layers[0].weight == 0) == 0  # it only wobbles around 0
    proximal = steepest.MLP([6, 1], seed=0)
    history = proximal.fit(X, y, epochs=30, optimizer=optimizer(lr=0.01, l1=0.1), verbose=0)
    weight = proximal.layers[0].weight
    np.testing.assert_array_equal(weight[1:], 0.0)
    assert weight[0, 0] > 1  # the feature that matters keeps its weight (shrunk by l1)
    assert history.diagnostics[-1][0]["zero_fraction"] == pytest.approx(5 / 6)
    assert history.diagnostics[0][0]["zero_fraction"] <= history.diagnostics[-1][0]["zero_fraction"]


def test_l1_step_must_be_a_known_form():
    with pytest.raises(ValueError, match="l1_step must be one of 'proximal', 'subgradient'"):
        steepest.SGD(l1=0.1, l1_step="soft")
    with pytest.raises(ValueError, match="sgd_update: argument 'l1_step'"):
        steepest.ops.sgd_update(np.zeros(2), np.zeros(2), lr=0.1, l1_step=None)


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
    with pytest.warns(RuntimeWarning, match="risen for 3 epochs") as caught:
        model.fit(X, y, epochs=5, optimizer=steepest.SGD(lr=1e-9), callbacks=[InflateOutputWeights()], verbose=0)
    assert caught[0].filename == __file__  # the user's line, not steepest's


def test_a_rising_validation_loss_is_overfitting_not_divergence():
    # Validation targets opposite to the training ones: as the training loss falls, the
    # validation loss rises every epoch, by far more than the divergence warning's margins.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 3)).astype(np.float32)
    y = X @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = steepest.MLP([3, 1], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(X, y, epochs=8, optimizer=steepest.SGD(lr=0.02), validation_data=(X, -y), verbose=0)
    val = history["val_loss"]
    assert all(b > a * 1.01 for a, b in zip(val, val[1:])) and val[-1] > 1.2 * min(val)
    assert history["loss"][-1] < history["loss"][0]


def dead_relu_model():
    """A 4-8-8-1 ReLU network whose second hidden layer can never fire: its biases are
    far below anything its inputs can reach."""
    model = steepest.MLP([4, 8, 8, 1], seed=0)
    model.layers[1].bias[...] = -1e3
    return model


def test_a_dead_network_warns_at_the_users_line_and_history_names_the_layer():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = X[:, :1] * 2 + 1
    model = dead_relu_model()
    with pytest.warns(steepest.DeadNetworkWarning, match="every ReLU unit of layer 1") as caught:
        history = model.fit(X, y, epochs=3, optimizer=steepest.SGD(lr=0.01), verbose=0)
    assert len(caught) == 1 and caught[0].filename == __file__
    assert issubclass(steepest.DeadNetworkWarning, RuntimeWarning)
    assert history.dead_layers() == [1] and history.dead_layers(0) == [1]
    # The output is a constant: the best it can do is the variance of y.
    np.testing.assert_allclose(np.ptp(model.predict(X)), 0.0, atol=1e-6)


def test_a_network_with_some_dead_units_is_not_dead():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    model = steepest.MLP([4, 8, 1], seed=0)
    model.layers[0].bias[:7] = -1e3  # one unit of eight still fires
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(X, X[:, :1], epochs=2, verbose=0)
    assert history.dead_layers() == [] and history.diagnostics[-1][0]["dead_fraction"] == pytest.approx(7 / 8)
    # Without diagnostics there is nothing to judge by: no warning, no dead layers.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = dead_relu_model().fit(X, X[:, :1], epochs=1, diagnostics=False, verbose=0)
    assert quiet.dead_layers() == []


def test_callbacks_see_each_layers_diagnostics_in_their_logs():
    class Record(steepest.Callback):
        def __init__(self):
            super().__init__()
            self.logs = []

        def on_epoch_end(self, epoch, logs=None):
            self.logs.append(logs)

    X, labels = blobs(rows=64)
    model = steepest.Sequential([steepest.Dense(4, 8, "relu"), steepest.Dropout(0.1), steepest.Dense(8, 3, "tanh"), steepest.Dense(3, 3, "softmax")], seed=0)
    record = Record()
    history = model.fit(X, labels, loss="softmax_cross_entropy", epochs=2, callbacks=[record], verbose=0)
    assert [logs["diagnostics"] for logs in record.logs] == history.diagnostics
    relu, dropout, tanh, _ = record.logs[-1]["diagnostics"]
    assert dropout is None
    assert {"gradient_norm", "update_ratio", "dead_fraction", "saturated_fraction", "zero_fraction"} <= set(relu)
    assert relu["gradient_norm"] > 0 and 0 <= relu["dead_fraction"] <= 1 and relu["saturated_fraction"] is None
    assert tanh["dead_fraction"] is None and 0 <= tanh["saturated_fraction"] <= 1
    assert record.logs[-1]["loss"] == history["loss"][-1]
    assert "diagnostics" not in history  # the History keeps them in history.diagnostics only
    # Without diagnostics, no key that would hold nothing.
    record.logs.clear()
    model.fit(X, labels, loss="softmax_cross_entropy", epochs=1, callbacks=[record], diagnostics=False, verbose=0)
    assert "diagnostics" not in record.logs[0]


def test_reduce_lr_on_dead_units_lowers_the_rate_when_more_units_die():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    model = steepest.MLP([4, 8, 1], seed=0)
    model.layers[0].bias[:4] = -1e3  # half the hidden units are dead from the start
    guard = steepest.ReduceLROnDeadUnits(max_dead_fraction=0.25, factor=0.5)
    history = model.fit(X, X[:, :1], epochs=4, optimizer=steepest.SGD(lr=0.1), callbacks=[guard], verbose=0)
    # Half dead after epoch 0 (> 0.25): halved once; no more die after, so no more halving.
    assert history["lr"] == [0.1, 0.05, 0.05, 0.05] and guard.reductions == [0]
    model.layers[0].bias[:6] = -1e3  # two more die: it acts again, from the rate it left
    history = model.fit(X, X[:, :1], epochs=2, optimizer=steepest.SGD(lr=0.1), callbacks=[guard], verbose=0)
    assert history["lr"] == [0.05, 0.025] and guard.reductions == [0, 0]


def test_reduce_lr_on_dead_units_leaves_a_live_network_alone_and_needs_diagnostics():
    X, labels = blobs(rows=64)
    guard = steepest.ReduceLROnDeadUnits()
    history = steepest.MLP([4, 16, 3], seed=0).fit(
        X, labels, loss="softmax_cross_entropy", epochs=3, optimizer=steepest.SGD(lr=0.01), callbacks=[guard], verbose=0
    )
    assert history.diagnostics[-1][0]["dead_fraction"] <= 0.25 and history["lr"] == [0.01] * 3 and guard.reductions == []
    with pytest.raises(ValueError, match="diagnostics=True"):
        steepest.MLP([4, 3], seed=0).fit(X, labels, loss="softmax_cross_entropy", epochs=1, callbacks=[guard], diagnostics=False, verbose=0)
    with pytest.raises(ValueError, match="max_dead_fraction"):
        steepest.ReduceLROnDeadUnits(max_dead_fraction=1.5)


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = blobs(rows=128)
    model = steepest.MLP([4, 8, 3], seed=0)
    stop = steepest.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)

    # A learning rate that turns harmful after epoch 2 makes the loss rise.
    def schedule(epoch):
        return 0.05 if epoch < 3 else 5.0

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
    assert [(layer.in_features, layer.out_features) for layer in ae.layers] == [(12, 6), (6, 2), (2, 6), (6, 12)]
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
    assert [layer.out_features for layer in ae.layers] == [4, 7, 10]
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


def test_history_behaves_like_the_dict_of_its_metrics():
    history = steepest.History()
    history.record(3, {"loss": 1.0, "lr": 0.1}, [])
    history.record(4, {"loss": 0.5, "val_loss": 0.7, "lr": 0.1}, [])
    assert "val_loss" in history and "accuracy" not in history and 0 not in history
    assert list(history) == list(history.keys()) == ["loss", "lr", "val_loss"]
    items = dict(history.items())
    assert items["loss"] == [1.0, 0.5] and math.isnan(items["val_loss"][0]) and items["val_loss"][1] == 0.7
    assert list(history.values())[0] == [1.0, 0.5]
    assert history.get("accuracy") is None and history.get("loss") == [1.0, 0.5]
    assert len(history) == 2  # epochs, as before


def test_history_to_dataframe_has_one_row_per_epoch():
    pandas = pytest.importorskip("pandas")
    history = steepest.History()
    history.record(3, {"loss": 1.0}, [])
    history.record(4, {"loss": 0.5, "val_loss": 0.7}, [])
    frame = history.to_dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.index) == [3, 4] and frame.index.name == "epoch"
    assert frame["loss"].tolist() == [1.0, 0.5] and math.isnan(frame["val_loss"][3])


def test_history_to_dataframe_without_pandas_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match="pip install pandas"):
        steepest.History().to_dataframe()


def test_predict_takes_an_equal_dtype_that_is_not_numpys_own_descriptor():
    """The engine compares dtypes by identity; an equal descriptor (with metadata, as a
    memmap's may be) must not slip through validation's shortcut for ready arrays."""
    model = steepest.MLP([4, 3], seed=0)
    X = np.random.default_rng(0).random((5, 4)).astype(np.float32)
    tagged = X.view(np.dtype(np.float32, metadata={"source": "memmap"}))
    assert tagged.dtype == np.float32 and tagged.dtype is not np.dtype(np.float32)
    np.testing.assert_array_equal(model.predict(tagged), model.predict(X))
