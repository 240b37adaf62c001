"""Concurrency (issue 8): training releases the GIL and shares nothing between models, so
two threads training two models get what training them one after the other gets; predict
on a model another thread is training works on a consistent snapshot or raises a clear
RuntimeError, and never stops the training; the thread pool survives fork()."""

import multiprocessing
import os
import threading
import time
import warnings

import numpy as np
import pytest

import steepest
from steepest import ops


def training_data(features, outputs, rows=2048, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)).astype(np.float32)
    return X, rng.standard_normal((rows, outputs)).astype(np.float32)


def train(model, X, y, **kwargs):
    model.fit(X, y, epochs=3, batch_size=64, verbose=0, **kwargs)
    return model.get_parameters()


def run_in_threads(*calls):
    """Runs the calls at the same time, one thread each; returns their results in order."""
    results = [None] * len(calls)
    errors = []
    start = threading.Barrier(len(calls))

    def worker(i, call):
        try:
            start.wait()
            results[i] = call()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_two_threads_training_two_models_match_training_them_in_turn(dtype):
    X1, y1 = training_data(32, 4)
    X2, y2 = training_data(16, 16, seed=1)
    X2 = X2.astype(dtype)
    models = lambda: (  # noqa: E731
        steepest.MLP([32, 128, 128, 4], seed=1, dtype=dtype),
        steepest.Autoencoder([16, 64, 8], output_activation="identity", seed=2, dtype=dtype),
    )
    first, second = models()
    in_turn = [train(first, X1, y1, optimizer=steepest.SGD(lr=0.01, momentum=0.9)), train(second, X2, X2, optimizer=steepest.Adam())]
    first, second = models()
    together = run_in_threads(
        lambda: train(first, X1, y1, optimizer=steepest.SGD(lr=0.01, momentum=0.9)),
        lambda: train(second, X2, X2, optimizer=steepest.Adam()),
    )
    for got, want in zip(together, in_turn):
        assert np.array_equal(got, want)


def test_threads_sharing_the_pool_get_the_same_products():
    # Both threads want the pool for products big enough to use it; whichever finds it
    # busy runs its tasks alone, and the results are bitwise the same either way.
    a = np.random.default_rng(0).standard_normal((400, 400))
    expected = ops.matmul(a, a)
    results = run_in_threads(*[lambda: [ops.matmul(a, a) for _ in range(10)]] * 3)
    assert all(np.array_equal(product, expected) for thread in results for product in thread)


def test_predict_while_another_thread_trains_sees_whole_snapshots_or_a_clear_error():
    X, y = training_data(32, 4)
    probe = X[:64]
    model = steepest.MLP([32, 128, 128, 4], seed=3)
    snapshots = [model.get_parameters()]

    class Snapshot(steepest.Callback):
        # Runs in the training thread between chunks of one batch: the weights a predict
        # in the other thread can see are exactly these.
        every_n_batches = 1

        def on_batches_end(self, epoch, batch, logs=None):
            snapshots.append(model.get_parameters())

    predictions, refusals = [], []
    training_done = threading.Event()

    def predict_until_done():
        while not training_done.is_set():
            try:
                predictions.append(model.predict(probe))
            except RuntimeError as error:
                refusals.append(str(error))
            time.sleep(0)

    def fit():
        try:
            # Must not fail because the other thread holds the model for a predict.
            model.fit(X, y, epochs=2, batch_size=64, callbacks=[Snapshot()], verbose=0)
        finally:
            training_done.set()

    run_in_threads(fit, predict_until_done)
    assert set(refusals) <= {"predict: this model is being trained by another thread; predict after fit returns, or on a copy of the model"}
    assert predictions, "no predict got through between chunks: the test saw no snapshot"
    replay = steepest.MLP([32, 128, 128, 4], seed=3)
    expected = []
    for parameters in snapshots:
        replay.set_parameters(parameters)
        expected.append(replay.predict(probe))
    for prediction in predictions:
        assert any(np.array_equal(prediction, candidate) for candidate in expected)


def test_a_second_fit_of_a_model_in_training_is_refused_not_interleaved():
    X, y = training_data(32, 4, rows=8192)
    model = steepest.MLP([32, 256, 256, 4], seed=4)
    started = threading.Event()

    class Started(steepest.Callback):
        every_n_batches = 1

        def on_batches_end(self, epoch, batch, logs=None):
            started.set()

    def second_fit():
        started.wait(timeout=60)
        with pytest.raises(RuntimeError, match="being trained by another thread"):
            model.fit(X, y, epochs=1, verbose=0)

    run_in_threads(lambda: model.fit(X, y, epochs=2, batch_size=64, callbacks=[Started()], verbose=0), second_fit)
    assert np.isfinite(model.get_parameters()).all()


def test_changing_the_thread_count_while_another_thread_multiplies():
    a = np.random.default_rng(0).standard_normal((300, 300))
    expected = ops.matmul(a, a)
    before = steepest.get_num_threads()
    stop = threading.Event()
    seen = []

    def multiply():
        while not stop.is_set():
            seen.append(np.array_equal(ops.matmul(a, a), expected))

    thread = threading.Thread(target=multiply)
    thread.start()
    try:
        for n in (1, 3, 2, 4, 1, before):
            steepest.set_num_threads(n)
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=60)
        steepest.set_num_threads(before)
    assert seen and all(seen)


# ---- fork ------------------------------------------------------------------------------


def pooled_work():
    """A product big enough to use the thread pool (64M multiply-adds) and a short fit."""
    a = np.random.default_rng(0).standard_normal((400, 400))
    X, y = training_data(8, 2, rows=256)
    model = steepest.MLP([8, 32, 2], seed=5)
    model.fit(X, y, epochs=2, batch_size=32, verbose=0)
    return ops.matmul(a, a), model.get_parameters()


def fork_and_check(expected, timeout=60):
    """Forks; the child redoes pooled_work and exits 0 if it matches `expected`."""
    with warnings.catch_warnings():
        # Python 3.12+ warns that fork() in a multi-threaded process may deadlock the
        # child; the pool's fork handler is what this test checks.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        try:
            product, parameters = pooled_work()
            same = np.array_equal(product, expected[0]) and np.array_equal(parameters, expected[1])
            os._exit(0 if same else 3)
        finally:
            os._exit(4)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung (a thread pool lock inherited from the parent?)")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_the_pool_survives_fork():
    expected = pooled_work()  # the parent's pool is up and has run jobs
    assert steepest.get_num_threads() >= 2
    assert fork_and_check(expected) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_fork_while_another_thread_is_inside_a_pooled_product():
    expected = pooled_work()
    a = np.random.default_rng(1).standard_normal((400, 400))
    stop = threading.Event()
    thread = threading.Thread(target=lambda: [ops.matmul(a, a) for _ in iter(stop.is_set, True)])
    thread.start()
    try:
        time.sleep(0.05)
        # The pool's locks are held at random points of its jobs when these forks happen.
        codes = [fork_and_check(expected) for _ in range(5)]
    finally:
        stop.set()
        thread.join(timeout=60)
    assert codes == [0] * 5


def _pooled_work_matches(expected):
    product, parameters = pooled_work()
    return bool(np.array_equal(product, expected[0]) and np.array_equal(parameters, expected[1]))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork start method")
def test_multiprocessing_with_the_fork_start_method():
    expected = pooled_work()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with multiprocessing.get_context("fork").Pool(2) as pool:
            results = pool.map_async(_pooled_work_matches, [expected] * 4).get(timeout=120)
    assert results == [True] * 4


# ---- one rule for every reader and writer, and each fit's own thread count (issue 18) ---


def test_snapshots_taken_during_a_fit_are_states_the_model_had(tmp_path):
    import pickle

    # Many short epochs: each end of one is a chance for a header to miss its weights.
    X, y = training_data(32, 4, rows=1024)
    model = steepest.MLP([32, 64, 4], seed=6)
    states = {model.get_parameters().tobytes(): {0}}
    readers = []

    class SlowToRead(type(model._state)):
        # A reader that the system pauses (as a loaded machine does now and then) just
        # before it reads the epoch count, for a fraction of an epoch: the training thread
        # runs on meanwhile.
        @property
        def epochs_trained(self):
            if threading.current_thread() in readers:
                time.sleep(0.0005)
            return self.__dict__["_epochs"]

        @epochs_trained.setter
        def epochs_trained(self, value):
            self.__dict__["_epochs"] = value

    model._state.__class__ = SlowToRead
    model._state.epochs_trained = 0

    class Record(steepest.Callback):
        # In the training thread at every batch boundary: the only states a reader may see.
        every_n_batches = 1

        def on_batches_end(self, epoch, batch, logs=None):
            states.setdefault(model.get_parameters().tobytes(), set()).add(model._state.epochs_trained)

        def on_epoch_end(self, epoch, logs=None):
            states.setdefault(model.get_parameters().tobytes(), set()).add(model._state.epochs_trained)

    snapshots = []  # (parameters, epochs_trained or None)
    done = threading.Event()

    def read_until_done():
        readers.append(threading.current_thread())
        path = tmp_path / "m.steepest"
        reads = 0
        while not done.is_set():
            reads += 1
            snapshots.append((model.get_parameters(), None))
            copy = pickle.loads(pickle.dumps(model))
            snapshots.append((copy.get_parameters(), copy._state.epochs_trained))
            if reads % 5 == 0:
                model.save(path)
                saved = steepest.load(path)
                snapshots.append((saved.get_parameters(), saved._state.epochs_trained))

    def fit():
        try:
            model.fit(X, y, epochs=100, batch_size=64, callbacks=[Record()], verbose=0, diagnostics=False)
        finally:
            done.set()

    run_in_threads(fit, read_until_done)
    assert len(snapshots) > 6
    for parameters, epochs in snapshots:
        assert parameters.tobytes() in states, "a snapshot holds weights the model never had"
        if epochs is not None:
            assert epochs in states[parameters.tobytes()], "a snapshot's epochs_trained does not go with its weights"


def test_writes_from_another_thread_never_land_inside_a_fit():
    X, y = training_data(8, 2, rows=256)
    model = steepest.MLP([8, 16, 2], seed=7)
    zeros = np.zeros(model.parameter_count, np.float32)
    stop = threading.Event()
    refusals = []
    runs = []  # (parameters and epochs_trained at a fit's start, parameters at its end)

    class Ends(steepest.Callback):
        # Both inside the fit's session, where no other thread may write.
        def on_train_begin(self, logs=None):
            runs.append([model.get_parameters(), model._state.epochs_trained])

        def on_train_end(self, logs=None):
            runs[-1].append(model.get_parameters())

    def write_until_stopped():
        while not stop.is_set():
            try:
                model.set_parameters(zeros)
            except RuntimeError as error:
                refusals.append(str(error))

    def fit_many():
        try:
            for _ in range(60):
                model.fit(X, y, epochs=1, batch_size=32, callbacks=[Ends()], verbose=0, diagnostics=False)
        finally:
            stop.set()

    run_in_threads(fit_many, write_until_stopped)
    assert refusals and set(refusals) == {steepest.engine.BEING_TRAINED}
    # A fit is deterministic from its start: replayed alone, each must end where it ended,
    # or a write landed inside it.
    replay = steepest.MLP([8, 16, 2], seed=7)
    for start, epochs_trained, end in runs:
        replay.set_parameters(start)
        replay._state.epochs_trained = epochs_trained
        replay.fit(X, y, epochs=1, batch_size=32, verbose=0, diagnostics=False)
        np.testing.assert_array_equal(replay.get_parameters(), end, err_msg="another thread's write landed inside a fit")


def test_parts_sharing_the_weights_are_always_refused_while_the_whole_trains():
    X, _ = training_data(16, 1, rows=512)
    codes = np.zeros((512, 4), np.float32)
    for attempt in range(40):
        ae = steepest.Autoencoder([16, 8, 4], seed=attempt)
        began, release = threading.Event(), threading.Event()
        refusals = []

        class Hold(steepest.Callback):
            # The fit is under way (inside its session) from its first epoch's end until released.
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 0:
                    began.set()
                    release.wait(timeout=60)

        def train_parts():
            began.wait(timeout=60)
            try:
                for part, data, target in ((ae.encoder, X, codes), (ae.decoder, codes, X)):
                    for call in (
                        lambda: part.fit(data, target, epochs=1, verbose=0),
                        lambda: part.partial_fit(data, target),
                        lambda: part.lr_range_test(data, target, steps=4, batch_size=8),
                        lambda: part.set_parameters(part.get_parameters()),
                    ):
                        try:
                            call()
                        except RuntimeError as error:
                            refusals.append(str(error))
            finally:
                release.set()

        history = run_in_threads(lambda: ae.fit(X, epochs=2, batch_size=64, callbacks=[Hold()], verbose=0), train_parts)[0]
        assert len(refusals) == 8 and all("being trained by another thread" in r for r in refusals), refusals
        assert len(history.epochs) == 2, "the running fit was stopped"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_two_estimators_fitting_at_once_keep_their_own_thread_counts():
    from steepest.sklearn import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.random((400, 8))
    y = X.sum(axis=1)
    before = steepest.get_num_threads()
    try:
        steepest.set_num_threads(2)
        for _ in range(20):
            fits = [lambda n=n: MLPRegressor(hidden_layer_sizes=(16,), max_iter=3, n_threads=n, random_state=0).fit(X, y).predict(X) for n in (1, 3)]
            one, three = run_in_threads(*fits)
            assert steepest.get_num_threads() == 2, "a fit's n_threads leaked into the process's count"
            np.testing.assert_array_equal(one, three)  # results do not depend on threads
    finally:
        steepest.set_num_threads(before)


def test_a_threads_own_count_is_seen_by_it_alone():
    from steepest.runtime import local_threads

    a = np.random.default_rng(0).random((200, 200))
    before = steepest.get_num_threads()
    seen = {1: set(), 3: set()}
    barrier = threading.Barrier(2)

    def count_in(n):
        with local_threads(n):
            for _ in range(100):
                barrier.wait(timeout=60)
                seen[n].add(steepest.get_num_threads())
                ops.matmul(a, a)

    run_in_threads(lambda: count_in(1), lambda: count_in(3))
    assert seen == {1: {1}, 3: {3}}
    assert steepest.get_num_threads() == before
