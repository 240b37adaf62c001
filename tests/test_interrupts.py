"""Ctrl-C for real (issue 18): SIGINTs sent to a child process that runs loops of short fits
must never leave a model marked "being trained" (every later fit refused), and a long
partial_fit must stop within about a batch, as fit does."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")

# Each interrupt raises KeyboardInterrupt wherever Python is inside the try (as the default
# handler does) and then disarms itself until the next call, so that none lands in the
# loop's own bookkeeping. Prints one line per call: "ok", "interrupted" or the refusal.
SHORT_FITS = textwrap.dedent(
    """
    import signal, sys, time
    import numpy as np
    import steepest

    armed = False

    def interrupt(signum, frame):
        global armed
        if armed:
            armed = False
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    rng = np.random.default_rng(0)
    X = rng.random((96, 4), dtype=np.float32)
    y = X[:, :1].copy()
    model = steepest.MLP([4, 4, 1], seed=0)
    calls = [
        lambda: model.fit(X, y, epochs=1, batch_size=32, verbose=0, diagnostics=False),
        lambda: model.partial_fit(X, y, batch_size=32),
        lambda: model.lr_range_test(X, y, steps=8, batch_size=8),
    ]
    print("ready", flush=True)
    interrupts = refusals = 0
    deadline = time.monotonic() + float(sys.argv[1])
    call = 0
    while time.monotonic() < deadline:
        try:
            armed = True
            calls[call % len(calls)]()
            armed = False
        except KeyboardInterrupt:
            interrupts += 1
        except RuntimeError as error:
            armed = False
            refusals += 1
            print("refused:", error, flush=True)
        call += 1
    armed = False
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    model.fit(X, y, epochs=1, verbose=0)  # still trainable
    print("calls", call, "interrupts", interrupts, "refusals", refusals, flush=True)
    """
)


def test_ctrl_c_during_short_fits_never_leaves_the_model_marked_being_trained():
    seconds = 8.0
    child = subprocess.Popen([sys.executable, "-c", SHORT_FITS, str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        sent = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end and child.poll() is None:
            # Every 0.3 to 2.3 ms: most land inside set-up, tear-down or a short run.
            time.sleep(0.0003 + (sent % 7) * 0.0003)
            child.send_signal(signal.SIGINT)
            sent += 1
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert "refused" not in out, out
    summary = out.strip().splitlines()[-1].split()
    interrupts = int(summary[summary.index("interrupts") + 1])
    assert interrupts > 200, f"too few interrupts landed ({out}) to test anything"


LONG_CALL = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import steepest

    # About ten seconds of batches here, a minute on a slow machine.
    X = np.random.default_rng(0).random((200_000, 64), dtype=np.float32)
    y = X[:, :8].copy()
    model = steepest.MLP([64, 512, 512, 8], seed=0)
    model.partial_fit(X[:64], y[:64])
    model.fit(X[:64], y[:64], epochs=1, verbose=0)
    print("ready", flush=True)
    started = time.monotonic()
    try:
        if sys.argv[1] == "partial_fit":
            model.partial_fit(X, y, batch_size=32)
        else:
            model.fit(X, y, epochs=1, batch_size=32, verbose=0)
        print("finished", time.monotonic() - started, flush=True)
    except KeyboardInterrupt:
        print("interrupted", time.monotonic() - started, flush=True)
    model.fit(X[:64], y[:64], epochs=1, verbose=0)
    print("trainable", flush=True)
    """
)


@pytest.mark.parametrize("call", ["partial_fit", "fit"])
def test_a_long_call_stops_soon_after_ctrl_c(call):
    child = subprocess.Popen([sys.executable, "-c", LONG_CALL, call], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    lines = out.split()
    # Interrupted, not run to the end.
    assert lines[0] == "interrupted", out
    assert lines[-1] == "trainable", out
