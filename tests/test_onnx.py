"""ONNX export: every graph passes onnx's checker, and onnxruntime (an independent
implementation of every operator) computes what steepest computes, for every activation,
output layer and kind of model, at batch 1 and 1000; files are written atomically; the
estimators' graphs give their labels and probabilities, alone and inside a Pipeline
converted by skl2onnx. Skips without onnx and onnxruntime."""

import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import steepest  # noqa: E402
from steepest.export import onnx as onnx_export  # noqa: E402

HIDDEN = ["identity", "relu", "sigmoid", "tanh"]
OUTPUTS = ["identity", "relu", "sigmoid", "tanh", "softmax"]
BATCHES = [1, 1000]
# |onnxruntime - steepest| / the output's largest magnitude. Both sum the same float32
# products in different orders (a 128-term sum is good to ~sqrt(128) 2^-24 = 7e-7 of its
# terms), which the issue bounds at 1e-6; float64 gets the same argument at 2^-53.
RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-13}


def session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def run(model, X, name="input"):
    return session(model).run(None, {name: X})


def assert_agree(got, want):
    """|got - want| <= RTOL * max |want|, element by element, same dtype and shape."""
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    scale = max(float(np.max(np.abs(want))), np.finfo(want.dtype).tiny)
    error = float(np.max(np.abs(got.astype(np.float64) - want))) / scale
    assert error <= RTOL[want.dtype], f"largest difference {error:.3g} of the largest output, above {RTOL[want.dtype]:.0e}"


def data(features, rows, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, features)).astype(dtype)


def randomized(model, seed=1):
    """Weights and non-zero biases of the scale training gives, so that every unit is used."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, steepest.Dense):
            layer.weight[...] = rng.standard_normal(layer.weight.shape) / np.sqrt(layer.in_features)
            layer.bias[...] = 0.3 * rng.standard_normal(layer.bias.shape)
    return model


def check_against_steepest(model, graph):
    onnx.checker.check_model(graph, full_check=True)
    for rows in BATCHES:
        X = data(model.input_features, rows, model.dtype)
        (output,) = run(graph, X)
        assert_agree(output, model.predict(X))


# ------------------------------------------------------------------- core models ----


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_mlp_every_activation_and_output_layer(hidden, output, dtype):
    model = randomized(steepest.MLP([64, 128, 32, 10], hidden, output, dtype=dtype))
    check_against_steepest(model, model.to_onnx())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_sequential_with_dropout_exports_dropout_as_the_identity(dtype):
    layers = [steepest.Dense(20, 30, "tanh"), steepest.Dropout(0.5), steepest.Dense(30, 7, "relu"), steepest.Dropout(0.2), steepest.Dense(7, 3, "sigmoid")]
    model = randomized(steepest.Sequential(layers, dtype=dtype))
    graph = model.to_onnx()
    assert [node.op_type for node in graph.graph.node] == ["Gemm", "Tanh", "Gemm", "Relu", "Gemm", "Sigmoid"]
    check_against_steepest(model, graph)


@pytest.mark.parametrize("part", ["whole", "encoder", "decoder"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_autoencoder_whole_and_its_parts(part, dtype):
    autoencoder = randomized(steepest.Autoencoder([30, 16, 4], "tanh", "identity", "sigmoid", dtype=dtype))
    model = {"whole": autoencoder, "encoder": autoencoder.encoder, "decoder": autoencoder.decoder}[part]
    check_against_steepest(model, model.to_onnx())


@pytest.mark.parametrize("classes", [None, 3], ids=["plain", "conditional"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_vae_decoder_as_a_generator_and_encoder_mean(classes, dtype):
    vae = randomized(steepest.VAE([20, 16, 4], n_classes=classes, dtype=dtype))
    rows = 50
    labels = None if classes is None else np.arange(rows) % classes
    one_hot = np.zeros((rows, classes or 0), dtype=dtype)
    if classes:
        one_hot[np.arange(rows), labels] = 1
    Z = data(4, rows, dtype)
    (generated,) = run(vae.to_onnx(part="decoder"), np.hstack([Z, one_hot]))
    assert_agree(generated, vae.decode(Z, labels))
    X = np.random.default_rng(3).random((rows, 20)).astype(dtype)
    encoder = vae.to_onnx(part="encoder")
    onnx.checker.check_model(encoder, full_check=True)
    (means,) = run(encoder, np.hstack([X, one_hot]))
    assert_agree(means, vae.encode(X, labels))
    with pytest.raises(ValueError, match="part must be"):
        vae.to_onnx(part="whole")


def test_a_trained_model_and_the_graphs_layout():
    X, y = data(8, 256, np.float32), np.arange(256) % 3
    model = steepest.MLP([8, 16, 3], output_activation="softmax", seed=0)
    model.fit(X, y, loss="softmax_cross_entropy", epochs=3, optimizer=steepest.Adam(lr=0.01), verbose=0)
    graph = model.to_onnx()
    assert [node.op_type for node in graph.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]
    (given,), (gives,) = graph.graph.input, graph.graph.output
    for value, width in ((given, 8), (gives, 3)):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        batch, features = value.type.tensor_type.shape.dim
        assert batch.dim_param == "batch" and features.dim_value == width
    assert (given.name, gives.name) == ("input", "output")
    assert graph.opset_import[0].version == onnx_export.DEFAULT_OPSET and graph.producer_name == "steepest"
    check_against_steepest(model, graph)


def test_a_slice_of_columns_of_the_last_output():
    """What a VAE's encoder exports: the mean, the first half of its last layer's output."""
    model = randomized(steepest.MLP([12, 16, 6], "relu", "identity", dtype="float64"))
    dense = [layer for layer in model.layers if isinstance(layer, steepest.Dense)]
    graph = onnx_export.dense_model(dense, model.dtype, columns=(0, 3), output_name="mean")
    onnx.checker.check_model(graph, full_check=True)
    X = data(12, 50, np.float64)
    assert_agree(session(graph).run(["mean"], {"input": X})[0], model.predict(X)[:, :3])
    with pytest.raises(ValueError, match="columns"):
        onnx_export.dense_model(dense, model.dtype, columns=(2, 7))


@pytest.mark.parametrize("opset", [onnx_export.OPSET_MIN, onnx_export.DEFAULT_OPSET, 21])
def test_opsets(opset):
    model = randomized(steepest.MLP([5, 9, 4], "tanh", "softmax"))
    graph = model.to_onnx(opset=opset)
    assert graph.opset_import[0].version == opset
    check_against_steepest(model, graph)


def test_round_trip_through_a_file(tmp_path):
    model = randomized(steepest.MLP([10, 20, 2], "relu", "sigmoid"))
    path = tmp_path / "model.onnx"
    returned = model.to_onnx(path)
    assert onnx.load(str(path)) == returned
    X = data(10, 1000, np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    loaded = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    assert_agree(loaded.run(None, {"input": X})[0], model.predict(X))
    assert os.listdir(tmp_path) == ["model.onnx"]  # no temporary file left beside it


# --------------------------------------------------------------------- estimators ----


CLASS_LABELS = {
    "integers": lambda y: y,
    "strings": lambda y: np.array([f"digit {d}" for d in y]),
    "binary strings": lambda y: np.where(y % 2 == 0, "even", "odd"),
    "binary integers": lambda y: np.where(y < 5, -1, 7),
    "floats": lambda y: y.astype(np.float64) + 10,
    "bools": lambda y: y > 4,
}


@pytest.mark.parametrize("labels", CLASS_LABELS, ids=list(CLASS_LABELS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_classifier_labels_are_the_original_classes(digits, labels, dtype, fit_quietly):
    from steepest.sklearn import MLPClassifier

    X, y = digits
    X = X.astype(dtype)
    y = CLASS_LABELS[labels](y)
    clf = fit_quietly(MLPClassifier((32,), max_iter=10, random_state=0, dtype=dtype), X, y)
    graph = clf.to_onnx()
    onnx.checker.check_model(graph, full_check=True)
    assert [output.name for output in graph.graph.output] == ["label", "probabilities"]
    for rows in BATCHES:
        label, probabilities = run(graph, X[:rows], "X")
        expected = clf.predict(X[:rows])
        assert label.shape == expected.shape and (label == expected).all()
        assert_agree(probabilities, clf.predict_proba(X[:rows]))
    kind = label.dtype.kind
    assert kind == ("O" if "strings" in labels else "i"), label.dtype


def test_multilabel_classifier_gives_the_indicator(digits, fit_quietly):
    from steepest.sklearn import MLPClassifier

    X, y = digits
    Y = np.stack([y % 2, y > 4, y == 0], axis=1).astype(int)
    clf = fit_quietly(MLPClassifier((32,), max_iter=10, random_state=0), X, Y)
    label, probabilities = run(clf.to_onnx(), X, "X")
    assert label.dtype == np.int64 and (label == clf.predict(X)).all()
    assert_agree(probabilities, clf.predict_proba(X))


@pytest.mark.parametrize("outputs", [1, 3])
def test_regressor_outputs_variable(digits, outputs, fit_quietly):
    from steepest.sklearn import MLPRegressor

    X, _ = digits
    reg = fit_quietly(MLPRegressor(hidden_layer_sizes=(32,), max_iter=10, random_state=0), X, X[:, 20 : 20 + outputs] if outputs > 1 else X[:, 20])
    graph = reg.to_onnx()
    assert [output.name for output in graph.graph.output] == ["variable"]
    (variable,) = run(graph, X, "X")
    assert_agree(variable, reg.predict(X).reshape(len(X), outputs))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_autoencoder_transformer_outputs_the_encoding(digits, dtype, fit_quietly):
    from steepest.sklearn import AutoencoderTransformer

    X = digits[0].astype(dtype)
    ae = fit_quietly(AutoencoderTransformer(n_components=3, hidden_layer_sizes=(24,), activation="tanh", max_iter=10, random_state=0, dtype=dtype), X)
    graph = ae.to_onnx()
    (variable,) = run(graph, X, "X")
    assert variable.shape == (len(X), 3)
    assert_agree(variable, ae.transform(X))


# --------------------------------------------------------------------- skl2onnx ----


@pytest.mark.parametrize("zipmap", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_pipeline_through_skl2onnx(digits, zipmap, dtype, fit_quietly):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from steepest.sklearn import MLPClassifier

    X, y = digits
    y = np.array(list("abcdefghij"))[y]
    pipeline = fit_quietly(make_pipeline(StandardScaler(), MLPClassifier((32,), max_iter=10, random_state=0, dtype=dtype)), X, y)
    graph = skl2onnx.to_onnx(pipeline, X[:1], options=None if zipmap else {"zipmap": False})
    onnx.checker.check_model(graph)
    label, probabilities = run(graph, X, "X")
    assert (label == pipeline.predict(X)).all()
    if zipmap:  # skl2onnx's default: one {class: probability} per row
        probabilities = np.array([[row[c] for c in pipeline.classes_] for row in probabilities], np.float32)
    # The scaler's float32 output differs from scikit-learn's float64 one in its last bits.
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(X), rtol=0, atol=1e-5)


def test_skl2onnx_option_nocl_gives_class_indices(digits, fit_quietly):
    skl2onnx = pytest.importorskip("skl2onnx")
    from steepest.sklearn import MLPClassifier

    X, y = digits
    clf = fit_quietly(MLPClassifier((16,), max_iter=5, random_state=0), X, np.array(list("abcdefghij"))[y])
    label, _ = run(skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False, "nocl": True}), X, "X")
    assert label.dtype == np.int64 and (clf.classes_[label] == clf.predict(X)).all()


def test_regressor_and_transformer_pipelines_through_skl2onnx(digits, fit_quietly):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from steepest.sklearn import AutoencoderTransformer, MLPRegressor

    X, _ = digits
    regression = fit_quietly(make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(16,), max_iter=10, random_state=0)), X, X[:, 20])
    encoding = fit_quietly(make_pipeline(StandardScaler(), AutoencoderTransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=10, random_state=0)), X)
    for pipeline, want in ((regression, regression.predict(X)[:, None]), (encoding, encoding.transform(X))):
        (got,) = run(skl2onnx.to_onnx(pipeline, X[:1]), X, "X")
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())


NOTHING_IMPORTED = "assert 'skl2onnx' not in sys.modules and 'onnx' not in sys.modules"
IMPORT_ORDERS = {
    "steepest first": ["import steepest.sklearn", NOTHING_IMPORTED, "import skl2onnx"],
    "skl2onnx first": ["import skl2onnx", "import steepest.sklearn"],
    "looked up, then imported": [
        "import steepest.sklearn",
        "import importlib.util; assert importlib.util.find_spec('skl2onnx') is not None",
        NOTHING_IMPORTED,
        "import skl2onnx",
    ],
}


@pytest.mark.parametrize("order", list(IMPORT_ORDERS))
def test_converters_are_registered_in_either_import_order(order):
    """And importing steepest.sklearn imports neither skl2onnx nor onnx; looking skl2onnx up
    (importlib.util.find_spec) before importing it is not importing it."""
    pytest.importorskip("skl2onnx")
    script = "\n".join(
        [
            "import sys, numpy as np",
            *IMPORT_ORDERS[order],
            "from steepest.sklearn import MLPRegressor",
            "X = np.random.default_rng(0).random((40, 3)).astype(np.float32)",
            "reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(X, X[:, 0])",
            "print(len(skl2onnx.to_onnx(reg, X[:1]).graph.node))",
        ]
    )
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 3


# -------------------------------------------------------------------- bad input ----


def test_an_unfitted_estimator_is_refused_as_scikit_learn_does(tmp_path):
    from sklearn.exceptions import NotFittedError

    from steepest.sklearn import AutoencoderTransformer, MLPClassifier, MLPRegressor

    for estimator in (MLPClassifier(), MLPRegressor(), AutoencoderTransformer()):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            estimator.to_onnx(tmp_path / "model.onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "opset, error, words",
    [
        (12, ValueError, "opset 12 is not supported"),
        (10**4, ValueError, "unknown opset 10000"),
        ("17", TypeError, "opset must be an int"),
        (17.0, TypeError, "opset must be an int"),
    ],
)
def test_unsupported_opsets_are_refused_and_nothing_is_written(tmp_path, opset, error, words):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the previous export")
    with pytest.raises(error, match=words):
        steepest.MLP([3, 2]).to_onnx(path, opset=opset)
    assert path.read_bytes() == b"the previous export" and os.listdir(tmp_path) == ["model.onnx"]


def test_a_folder_that_does_not_exist_is_named(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match="the folder .*such.* does not exist"):
        steepest.MLP([3, 2]).to_onnx(missing / "model.onnx")
    assert not (tmp_path / "no").exists()
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        steepest.MLP([3, 2]).to_onnx(3)


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the previous export")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        steepest.MLP([3, 2]).to_onnx(path)
    assert path.read_bytes() == b"the previous export" and os.listdir(tmp_path) == ["model.onnx"]


def test_non_finite_parameters_are_refused():
    model = steepest.MLP([3, 4, 2])
    model.layers[1].weight[0, 1] = np.nan
    with pytest.raises(ValueError, match="layer 1 has a parameter that is NaN or infinite"):
        model.to_onnx()


def test_layers_that_do_not_chain_are_refused():
    first, second = steepest.MLP([3, 4]).layers[0], steepest.MLP([5, 2]).layers[0]
    with pytest.raises(ValueError, match="layer 1 takes 5 features but the layer before it gives 4"):
        onnx_export.dense_model([first, second], np.float32)
    with pytest.raises(ValueError, match="no dense layers"):
        onnx_export.dense_model([], np.float32)
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        onnx_export.dense_model([first], np.float16)


def test_without_onnx_the_error_says_what_to_install(monkeypatch):
    import steepest.export

    monkeypatch.delitem(sys.modules, "steepest.export.onnx")
    monkeypatch.delattr(steepest.export, "onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)  # what an absent package looks like to import
    with pytest.raises(ImportError, match=r"pip install 'steepest\[onnx\]'"):
        steepest.MLP([3, 2]).to_onnx()
