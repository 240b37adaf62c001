"""Faults (issue 8): Ctrl-C during fit and predict, saving when the disk is full, the folder
is not writable or the process is killed mid-write, and numerical faults (exploding loss,
overflowing activations, dead ReLU networks). Nothing crashes, nothing is lost, and every
failure says what went wrong."""

import errno
import math
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import steepest

# How long a Ctrl-C may take to stop fit or predict. fit returns to Python every ~0.1 s of
# batches and predict looks in every 50 ms; the rest is slack for a loaded CI machine.
PROMPT_SECONDS = 3.0


def run_child(source, *, signal_after=None, signal_number=signal.SIGINT, timeout=60):
    """Runs `source` in a fresh interpreter. With `signal_after`, waits for the child to
    print READY, then that many seconds, then sends the signal. Returns (process,
    stdout, stderr, seconds from the signal to the child's exit)."""
    # A shell without job control starts background jobs with SIGINT ignored, and Python
    # then never raises KeyboardInterrupt: give the child the default disposition back.
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as child:
        stopped_after = None
        try:
            if signal_after is not None:
                line = child.stdout.readline()
                assert line.strip() == "READY", line + child.stderr.read()
                time.sleep(signal_after)
                child.send_signal(signal_number)
                sent = time.perf_counter()
                child.wait(timeout=timeout)
                stopped_after = time.perf_counter() - sent
            stdout, stderr = child.communicate(timeout=timeout)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    return child, stdout, stderr, stopped_after


# A fit that would run for hours, and a predict that takes several seconds on 2 cores.
LONG_FIT = """
    import os, sys, tempfile, time, numpy as np, steepest
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4096, 64)).astype(np.float32)
    y = rng.integers(0, 10, 4096)
    model = steepest.MLP([64, 256, 256, 10], seed=0)
    print("READY", flush=True)
"""
LONG_PREDICT = """
    import sys, time, numpy as np, steepest
    X = np.random.default_rng(0).standard_normal((20000, 64)).astype(np.float32)
    model = steepest.MLP([64, 2048, 2048, 2048, 2048, 10], seed=0)
    small = model.predict(X[:5])
    print("READY", flush=True)
"""
FIT_FOREVER = "model.fit(X, y, loss='softmax_cross_entropy', epochs=10**6, batch_size=32, verbose=0)"


def test_ctrl_c_stops_fit_promptly_and_exits_with_keyboard_interrupt():
    child, _, stderr, stopped_after = run_child(LONG_FIT + "    " + FIT_FOREVER + "\n", signal_after=0.5)
    # An uncaught KeyboardInterrupt ends Python by SIGINT, as shells expect.
    assert child.returncode == -signal.SIGINT
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr
    assert stopped_after < PROMPT_SECONDS


def test_ctrl_c_during_fit_leaves_a_usable_model_when_caught():
    source = (
        LONG_FIT
        + f"""
    try:
        {FIT_FOREVER}
    except KeyboardInterrupt:
        pass
    assert np.isfinite(model.get_parameters()).all()
    assert isinstance(model.history_, steepest.History)
    # The usage lock was released and the weights are whole: it trains, saves and loads.
    history = model.fit(X, y, loss="softmax_cross_entropy", epochs=1, verbose=0)
    path = os.path.join(tempfile.mkdtemp(), "model.steepest")
    model.save(path)
    loaded = steepest.load(path)
    assert np.array_equal(loaded.predict(X[:8]), model.predict(X[:8]))
    print("USABLE", history["loss"][-1], flush=True)
    """
    )
    child, stdout, stderr, stopped_after = run_child(source, signal_after=0.5)
    assert child.returncode == 0, stderr
    assert "USABLE" in stdout
    assert stopped_after < PROMPT_SECONDS + 5  # + one more epoch and a save after the interrupt


def test_ctrl_c_stops_predict_promptly():
    child, _, stderr, stopped_after = run_child(LONG_PREDICT + "    model.predict(X)\n", signal_after=0.3)
    assert child.returncode == -signal.SIGINT
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr
    assert stopped_after < PROMPT_SECONDS


def test_ctrl_c_during_predict_leaves_a_usable_model_when_caught():
    source = (
        LONG_PREDICT
        + """
    started = time.perf_counter()
    try:
        model.predict(X)
        print("NOT INTERRUPTED", flush=True)
    except KeyboardInterrupt:
        pass
    assert np.array_equal(model.predict(X[:5]), small)
    print("USABLE", flush=True)
    """
    )
    child, stdout, stderr, stopped_after = run_child(source, signal_after=0.3)
    assert child.returncode == 0, stderr
    assert stdout.split() == ["USABLE"]
    assert stopped_after < PROMPT_SECONDS


# ---- saving never destroys the previous file ---------------------------------------------


@pytest.fixture
def saved_model(tmp_path):
    """A model saved at tmp_path/model.steepest, and the bytes of that file."""
    path = tmp_path / "model.steepest"
    model = steepest.MLP([8, 16, 2], seed=1)
    model.save(path)
    return path, path.read_bytes()


def other_model():
    return steepest.MLP([8, 16, 2], seed=2)


def assert_intact(path, original):
    assert path.read_bytes() == original
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "a temporary file was left behind"


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_full_disk_leaves_the_previous_file_intact(saved_model, monkeypatch, failing):
    path, original = saved_model

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if failing == "write":
        real_fdopen = os.fdopen

        class FullDisk:
            def __init__(self, file):
                self.file = file

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.file.close()

            def write(self, data):
                self.file.write(data[: len(data) // 2])  # part of it lands, then the disk is full
                no_space()

        monkeypatch.setattr(os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(os, failing, no_space)
    with pytest.raises(OSError) as raised:
        other_model().save(path)
    assert raised.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert_intact(path, original)


def test_file_size_limit_hit_by_the_kernel_leaves_the_previous_file_intact(saved_model):
    # A real failing write(2): RLIMIT_FSIZE below the new file's size makes the kernel
    # refuse the write with EFBIG, as a full disk refuses it with ENOSPC.
    path, original = saved_model
    child, stdout, stderr, _ = run_child(
        f"""
        import resource, signal, steepest
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(original) // 2}, {len(original) // 2}))
        try:
            steepest.MLP([8, 16, 2], seed=2).save({str(path)!r})
        except OSError as error:
            print("REFUSED", error.errno, error, flush=True)
        """
    )
    assert child.returncode == 0, stderr
    assert stdout.split()[:2] == ["REFUSED", str(errno.EFBIG)]
    assert_intact(path, original)


def make_unwritable(folder):
    """Makes `folder` refuse new files, even to root (via the immutable attribute); returns
    the undo function, or None when this system cannot."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        return None
    return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_folder_not_writable_leaves_the_previous_file_intact_with_a_clear_error(saved_model):
    path, original = saved_model
    undo = make_unwritable(path.parent)
    if undo is None:
        pytest.skip("cannot make a folder unwritable for root here (no chattr)")
    try:
        with pytest.raises(PermissionError) as raised:
            other_model().save(path)
    finally:
        undo()
    assert str(path.parent) in str(raised.value)
    assert_intact(path, original)


@pytest.mark.parametrize("killed_in", ["write", "fsync"])
def test_killed_mid_save_leaves_the_previous_file_loadable(saved_model, killed_in):
    path, original = saved_model
    # The child stops inside the save (half the bytes written, or all written but not yet
    # renamed) and is killed there with SIGKILL: no handler, no cleanup runs.
    child, stdout, stderr, _ = run_child(
        f"""
        import os, time, steepest
        real_fdopen, real_fsync = os.fdopen, os.fsync

        def hang(*args):
            print("READY", flush=True)
            time.sleep(600)

        class HalfWritten:
            def __init__(self, file):
                self.file = file
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                self.file.close()
            def write(self, data):
                self.file.write(data[: len(data) // 2])
                self.file.flush()
                hang()

        if {killed_in!r} == "write":
            os.fdopen = lambda *a, **k: HalfWritten(real_fdopen(*a, **k))
        else:
            os.fsync = hang
        steepest.MLP([8, 16, 2], seed=2).save({str(path)!r})
        """,
        signal_after=0.1,
        signal_number=signal.SIGKILL,
    )
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == original
    loaded = steepest.load(path)
    assert np.array_equal(loaded.get_parameters(), steepest.MLP([8, 16, 2], seed=1).get_parameters())
    # What a kill cannot clean up: the partial temporary file, hidden and named after the
    # model so that it is clear what it was.
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.steepest.") and leftovers[0].endswith(".tmp")


@pytest.mark.skipif(os.name != "posix", reason="folders are synced on POSIX only")
def test_save_flushes_the_file_then_the_folder_that_records_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        synced.append(stat.S_ISDIR(os.fstat(descriptor).st_mode))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    other_model().save(tmp_path / "model.steepest")
    assert synced == [False, True]


def test_saved_file_has_the_usual_permissions(tmp_path):
    # Written through a temporary file, the model must still get the mode any new file
    # gets (0o666 less the umask), not the 0o600 of a private temporary file.
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "model.steepest"
    other_model().save(path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    # Replacing a file keeps the mode its owner gave it.
    path.chmod(0o640)
    other_model().save(path)
    assert path.stat().st_mode & 0o777 == 0o640


# ---- numerical faults ------------------------------------------------------------------


def regression_data(dtype, rows=256, features=8, scale=1.0):
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((rows, features)) * scale).astype(dtype)
    y = (X @ rng.standard_normal((features, 1))).astype(dtype)
    return X, y


def explode_at_epoch(epoch, lr):
    """A schedule that trains sensibly, then jumps to `lr` at `epoch`."""
    return lambda e: 1e-3 if e < epoch else lr


SGD = lambda lr: steepest.SGD(lr=lr)  # noqa: E731
NESTEROV = lambda lr: steepest.SGD(lr=lr, momentum=0.9, nesterov=True)  # noqa: E731
ADAM = lambda lr: steepest.Adam(lr=lr)  # noqa: E731


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "optimizer, huge_lr",
    # Adam's steps are about lr in size whatever the gradient: only an lr near the top of
    # float64's range makes it overflow within a few epochs.
    [(SGD, 1e10), (SGD, 1e38), (SGD, 1e300), (NESTEROV, 1e10), (NESTEROV, 1e300), (ADAM, 1e300)],
    ids=["sgd-1e10", "sgd-1e38", "sgd-1e300", "nesterov-1e10", "nesterov-1e300", "adam-1e300"],
)
def test_exploding_loss_raises_with_history_and_finite_weights(dtype, optimizer, huge_lr):
    X, y = regression_data(dtype)
    model = steepest.MLP([8, 32, 32, 1], seed=0, dtype=dtype)
    with pytest.raises(steepest.TrainingDivergedError) as raised:
        model.fit(X, y, epochs=20, batch_size=16, optimizer=optimizer(explode_at_epoch(2, huge_lr)), verbose=0)
    error = raised.value
    assert error.epoch == 2
    assert f"epoch 3, batch {error.batch + 1}" in str(error)
    assert "learning rate" in str(error)
    assert len(error.history) == 2 and all(math.isfinite(v) for v in error.history["loss"])
    # An update can overflow the weights while its own batch's loss was still finite; the
    # model must come back with weights that give a finite loss all the same, and keep working.
    assert np.isfinite(model.get_parameters()).all()
    assert np.isfinite(model.predict(X)).all()
    assert math.isfinite(steepest.ops.loss("mse", model.predict(X), y)[0])
    model.fit(X, y, epochs=1, batch_size=16, optimizer=steepest.SGD(lr=1e-4), verbose=0)
    assert np.isfinite(model.get_parameters()).all()


def test_exploding_loss_in_partial_fit_keeps_finite_weights():
    X, y = regression_data(np.float32)
    model = steepest.MLP([8, 32, 1], seed=0)
    with pytest.raises(steepest.TrainingDivergedError):
        for _ in range(5):
            model.partial_fit(X, y, batch_size=16, optimizer=steepest.SGD(lr=1e38))
    assert np.isfinite(model.get_parameters()).all()
    assert np.isfinite(model.predict(X)).all()


def test_inputs_that_overflow_the_activations_stop_training_before_any_update():
    # Finite float32 inputs near the top of its range overflow X @ W to inf in the first
    # layer: the first batch's loss is not finite, so no update happens at all.
    X, y = regression_data(np.float32, scale=1e37)
    model = steepest.MLP([8, 16, 1], activation="relu", seed=0)
    initial = model.get_parameters()
    with pytest.raises(steepest.TrainingDivergedError) as raised:
        model.fit(X, y, epochs=3, batch_size=32, verbose=0)
    assert (raised.value.epoch, raised.value.batch) == (0, 0)
    assert len(raised.value.history) == 0
    assert np.array_equal(model.get_parameters(), initial)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_saturating_activations_stay_finite_on_overflowing_inputs(activation):
    # Pre-activations near 1e37: exp() of them overflows unless computed stably.
    X, _ = regression_data(np.float32, scale=1e36)
    model = steepest.MLP([8, 16, 3], activation=activation, output_activation=activation, seed=0)
    prediction = model.predict(X)
    low = 0.0 if activation == "sigmoid" else -1.0
    assert np.isfinite(prediction).all()
    assert ((prediction >= low) & (prediction <= 1.0)).all()


def test_softmax_output_on_overflowing_inputs_gives_probabilities():
    X, _ = regression_data(np.float32, scale=1e37)
    model = steepest.MLP([8, 4, 3], activation="tanh", output_activation="softmax", seed=0)
    for layer in model.layers:
        layer.weight[...] *= 1e30  # logits of about ±1e31: exp() would overflow unshifted
    prediction = model.predict(X)
    assert np.isfinite(prediction).all()
    assert np.allclose(prediction.sum(axis=1), 1.0, atol=1e-6)


def test_an_all_dead_relu_network_is_reported_not_crashed():
    X, y = regression_data(np.float32)
    model = steepest.MLP([8, 16, 16, 1], activation="relu", seed=0)
    model.layers[0].bias[...] = -1e3  # no input of this scale reaches zero: every unit is dead
    with pytest.warns(steepest.DeadNetworkWarning, match="layers 0, 1"):
        history = model.fit(X, y, epochs=3, batch_size=32, verbose=0)
    assert history.dead_layers() == [0, 1]
    dead = history.layer_diagnostic("dead_fraction")
    assert [epoch[0] for epoch in dead] == [1.0, 1.0, 1.0]
    # Nothing flows back through dead units: the first layer's gradient is exactly zero,
    # and the loss is finite (the output layer still learns its bias).
    assert [epoch[0] for epoch in history.layer_diagnostic("gradient_norm")] == [0.0, 0.0, 0.0]
    assert all(math.isfinite(v) for v in history["loss"])
    assert np.isfinite(model.predict(X)).all()
