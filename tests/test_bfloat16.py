"""bfloat16 mixed precision (issue 15): ``ops.matmul(..., precision="bfloat16")`` at every
bfloat16 level this CPU runs, against the float64 product of operands rounded by an
independent reference; and models with ``precision="bfloat16"``, whose training must track
float32's (or, on a CPU without fast bfloat16 products, warn and be float32's exactly)."""

import io
import math
import pickle
import warnings

import numpy as np
import pytest

import steepest
from steepest import _core, ops
from steepest.runtime import bfloat16_level


def bfloat16(x):
    """x rounded to bfloat16's 8 significant bits, to nearest with ties to even (np.rint),
    in float64: float32 denormals to zeros of their sign, NaN and ±inf kept, values past
    bfloat16's largest to inf. Written without the library's bit manipulation."""
    x = np.asarray(x, dtype=np.float32)
    mantissa, exponent = np.frexp(x.astype(np.float64))  # mantissa in [0.5, 1)
    rounded = np.ldexp(np.rint(np.ldexp(mantissa, 8)), exponent - 8)
    rounded = np.where(np.abs(rounded) > np.finfo(np.float32).max, np.copysign(np.inf, rounded), rounded)
    denormal = (x != 0) & (np.abs(x) < np.finfo(np.float32).tiny)
    rounded = np.where(denormal, np.copysign(0.0, x), rounded)
    return np.where(np.isfinite(x), rounded, x.astype(np.float64))


def check_product(got, a, b, trans_a=False, trans_b=False):
    """got against the exact product of the rounded operands: |error| <= 8 float32 ulps ·
    sqrt(K) of Σ|a||b| (the float32 accumulation's random walk)."""
    a64, b64 = bfloat16(a), bfloat16(b)
    a64, b64 = (a64.T if trans_a else a64), (b64.T if trans_b else b64)
    want, magnitude = a64 @ b64, np.abs(a64) @ np.abs(b64)
    assert got.dtype == np.float32 and got.shape == want.shape
    K = a64.shape[1]
    bound = 8 * np.finfo(np.float32).eps * math.sqrt(K + 1) * magnitude
    error = np.abs(got.astype(np.float64) - want)
    assert (error <= bound).all(), f"largest error / bound {np.max(error / np.maximum(bound, 1e-300)):.3g}"


@pytest.fixture(params=_core.available_bfloat16_levels())
def bf16_level(request):
    """Each bfloat16 level this CPU runs (chosen explicitly, so models train with it too),
    then the default choice again."""
    _core.set_bfloat16_level(request.param)
    yield request.param
    _core.set_bfloat16_level("")


SHAPES = [(1, 1, 1), (3, 5, 7), (16, 32, 16), (17, 33, 31), (31, 64, 33), (33, 65, 47), (12, 1, 12), (100, 300, 10), (130, 1030, 70)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("trans_a", [False, True], ids=["N", "T"])
@pytest.mark.parametrize("trans_b", [False, True], ids=["N", "T"])
def test_matmul_is_the_product_of_the_rounded_operands(bf16_level, shape, trans_a, trans_b):
    M, K, N = shape
    rng = np.random.default_rng(M * 10007 + K * 101 + N)
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(np.float32)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(np.float32)
    got = ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, precision="bfloat16")
    check_product(got, a, b, trans_a, trans_b)


def test_bfloat16_rounding_is_not_float32(bf16_level):
    # The rounding is there to see: 1 + 2^-10 is exact in float32 and rounds to 1.
    a = np.full((1, 1), 1 + 2.0**-10, dtype=np.float32)
    one = np.ones((1, 1), np.float32)
    assert ops.matmul(a, one, precision="bfloat16")[0, 0] == 1.0
    assert ops.matmul(a, one)[0, 0] == np.float32(1 + 2.0**-10)


def from_bits(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


def test_rounding_edge_cases(bf16_level):
    # Each value times 1 with K = 1: the product is the rounded value itself.
    x = from_bits(
        [
            0x3F808000,  # a tie between 0x3F80 and 0x3F81: to the even one, 1.0
            0x3F818000,  # a tie between 0x3F81 and 0x3F82: to the even one, up
            0xBF818000,  # the same, negative
            0x3F808001,
            0x3F807FFF,  # just above a tie: up; just below: down
            0x00000001,
            0x807FFFFF,  # float32 denormals: flushed to zero
            0x00800000,  # the smallest normal float32 stays
            0x7F800000,
            0xFF800000,  # ±inf stay
            0x7F7FFFFF,  # float32's largest is past bfloat16's: to inf
            0x7F7F7FFF,  # just below that tie: bfloat16's largest
        ]
    )
    got = ops.matmul(x.reshape(-1, 1), np.ones((1, 1), np.float32), precision="bfloat16").ravel()
    np.testing.assert_array_equal(got, bfloat16(x).astype(np.float32))
    assert got.view(np.uint32)[:3].tolist() == [0x3F800000, 0x3F820000, 0xBF820000]
    assert got[5] == 0 and got[6] == 0
    nan = ops.matmul(np.full((1, 1), np.nan, np.float32), np.ones((1, 1), np.float32), precision="bfloat16")
    assert np.isnan(nan).all()


def test_matmul_is_bitwise_the_same_for_any_thread_count(bf16_level):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((150, 700)).astype(np.float32)
    b = rng.standard_normal((700, 140)).astype(np.float32)
    before = steepest.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            steepest.set_num_threads(threads)
            results.append(ops.matmul(a, b, precision="bfloat16"))
    finally:
        steepest.set_num_threads(before)
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


def test_matmul_rejects_float64_and_unknown_precisions():
    a64 = np.ones((2, 2))
    with pytest.raises(ValueError, match="float32 arrays"):
        ops.matmul(a64, a64, precision="bfloat16")
    a32 = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match="precision must be 'float32' or 'bfloat16'"):
        ops.matmul(a32, a32, precision="float16")


def test_an_unknown_level_is_refused_naming_the_ones_that_run():
    with pytest.raises(ValueError, match="bfloat16 levels this CPU supports: emulated"):
        _core.set_bfloat16_level("no-such-level")


def test_show_config_reports_the_bfloat16_path():
    buffer = io.StringIO()
    steepest.show_config(file=buffer)
    line = next(line for line in buffer.getvalue().splitlines() if line.startswith("bfloat16 products:"))
    if bfloat16_level() == "emulated":
        assert "none fast on this CPU" in line and "train in float32" in line
    else:
        assert line.startswith(f"bfloat16 products: {bfloat16_level()} (")


# ------------------------------------------------------------------ models ----


def test_precision_is_validated_and_described():
    model = steepest.MLP([4, 8, 2], precision="bfloat16")
    assert model.precision == "bfloat16"
    assert "precision='bfloat16'" in repr(model)
    assert steepest.MLP([4, 8, 2]).precision == "float32"
    assert steepest.MLP([4, 8, 2], dtype="float64", precision="float64").precision == "float64"
    with pytest.raises(ValueError, match="precision='bfloat16' is for float32 models"):
        steepest.MLP([4, 8, 2], dtype="float64", precision="bfloat16")
    with pytest.raises(ValueError, match="precision must be None, 'float32' or 'bfloat16'"):
        steepest.MLP([4, 8, 2], precision="half")


def test_precision_survives_save_load_and_pickle(tmp_path):
    for model in (
        steepest.MLP([4, 8, 2], precision="bfloat16"),
        steepest.Autoencoder([6, 3], precision="bfloat16"),
        steepest.VAE([6, 4, 2], precision="bfloat16"),
        steepest.Sequential([steepest.Dense(3, 2, "tanh")], precision="bfloat16"),
    ):
        path = tmp_path / f"{type(model).__name__}.stp"
        model.save(path)
        assert steepest.load(path).precision == "bfloat16"
        copy = pickle.loads(pickle.dumps(model))
        assert type(copy) is type(model) and copy.precision == "bfloat16"
        np.testing.assert_array_equal(copy.get_parameters(), model.get_parameters())
    assert pickle.loads(pickle.dumps(steepest.MLP([4, 8, 2]))).precision == "float32"


def test_the_autoencoders_parts_share_its_precision():
    model = steepest.Autoencoder([6, 3], precision="bfloat16")
    assert model.encoder.precision == "bfloat16" and model.decoder.precision == "bfloat16"


def regression_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((512, 20)).astype(np.float32)
    w = rng.standard_normal((20, 1)).astype(np.float32)
    return X, np.tanh(X @ w).astype(np.float32)


def fit_loss(precision, X, y, epochs=20):
    model = steepest.MLP([20, 64, 64, 1], activation="tanh", seed=3, precision=precision)
    history = model.fit(X, y, epochs=epochs, batch_size=32, optimizer=steepest.Adam(lr=1e-3), verbose=0)
    return model, history["loss"]


def test_without_fast_bfloat16_products_training_warns_and_is_float32s():
    if _core.bfloat16_trains():
        pytest.skip(f"this CPU trains with bfloat16 products ({bfloat16_level()})")
    X, y = regression_data()
    with pytest.warns(RuntimeWarning, match="no fast bfloat16 path.*trains in float32") as caught:
        model, _ = fit_loss("bfloat16", X, y, epochs=2)
    assert caught[0].filename == __file__  # points at the caller's line
    reference, _ = fit_loss(None, X, y, epochs=2)
    np.testing.assert_array_equal(model.get_parameters(), reference.get_parameters())


def test_a_forced_level_trains_with_it_and_tracks_float32(bf16_level):
    X, y = regression_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning: the level was chosen
        model, bf16_losses = fit_loss("bfloat16", X, y)
    reference, float32_losses = fit_loss(None, X, y)
    # bfloat16 products, so not float32's weights; the same training, within 2% of its loss.
    assert not np.array_equal(model.get_parameters(), reference.get_parameters())
    assert abs(bf16_losses[-1] - float32_losses[-1]) <= 0.02 * float32_losses[-1]
    assert bf16_losses[-1] < 0.2 * bf16_losses[0]


def test_digits_accuracy_within_one_point_of_float32(bf16_level, digits):
    X, labels = digits
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1400], order[1400:]

    def accuracy(precision):
        model = steepest.MLP([64, 128, 10], output_activation="softmax", seed=1, precision=precision)
        model.fit(X[train], labels[train], epochs=15, batch_size=32, loss="softmax_cross_entropy", optimizer=steepest.Adam(lr=1e-3), verbose=0)
        return float(np.mean(model.predict(X[test]).argmax(axis=1) == labels[test]))

    bf16, float32 = accuracy("bfloat16"), accuracy(None)
    assert float32 > 0.9
    assert abs(bf16 - float32) <= 0.01


def test_the_estimators_take_precision(bf16_level):
    from steepest.sklearn import AutoencoderTransformer, MLPClassifier, MLPRegressor

    X, y = regression_data()
    for estimator in (
        MLPRegressor(hidden_layer_sizes=(16,), max_iter=3, precision="bfloat16"),
        AutoencoderTransformer(n_components=4, max_iter=3, precision="bfloat16"),
    ):
        assert estimator.get_params()["precision"] == "bfloat16"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=Warning)  # ConvergenceWarning of 3 iterations
            estimator.fit(X, y.ravel())
        assert estimator.model_.precision == "bfloat16" and estimator.model_.dtype == np.float32
        assert estimator.set_params(precision=None).get_params()["precision"] is None
    with pytest.raises(ValueError, match="precision='bfloat16' trains float32 models"):
        MLPClassifier(dtype="float64", precision="bfloat16").fit(X, (y.ravel() > 0).astype(int))
    with pytest.raises(ValueError, match="precision must be None or 'bfloat16'"):
        MLPClassifier(precision="float16").fit(X, (y.ravel() > 0).astype(int))
