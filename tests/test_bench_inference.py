"""The inference benchmark's plumbing on a toy model: every library computes steepest's
probabilities, a wrong one is refused before anything is timed, and the table and the JSON
file say what was measured. Never speed (that is the report's job, not CI's)."""

import importlib.util
import json

import numpy as np
import pytest

from steepest.bench import inference

TOY = inference.InferenceConfig("toy", (64, 8, 10))


@pytest.fixture(scope="module")
def toy():
    estimator, X = inference.digits_model(TOY)
    return estimator, X, inference.libraries(estimator)


def test_every_library_computes_steepests_probabilities(toy):
    estimator, X, found = toy
    assert {"steepest", "estimator", "sklearn"} <= set(found) <= set(inference.LIBRARIES)
    differences = inference.check_agreement(found, X)
    assert set(differences) == set(found) and max(differences.values()) <= inference.AGREEMENT
    np.testing.assert_allclose(found["sklearn"](X), estimator.predict_proba(X), rtol=0, atol=1e-5)


def test_a_library_that_computes_something_else_is_refused(toy):
    _, X, found = toy
    wrong = dict(found, torch=lambda x: found["steepest"](x)[:, ::-1])
    with pytest.raises(ValueError, match="do not compute steepest's probabilities.*torch"):
        inference.check_agreement(wrong, X)


def test_measure_gives_a_median_time_per_call_for_each_library(toy):
    _, X, found = toy
    seconds = inference.measure(found, X[:1], repeats=2, seconds=1e-4)
    assert set(seconds) == set(found) and all(value > 0 for value in seconds.values())


def test_the_table_and_the_json_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(inference, "CONFIGS", (TOY,))
    path = tmp_path / "out" / "inference.json"
    assert inference.main(["--quick", "--json", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "CPU:" in printed and "1 thread" in printed
    assert "| toy 64-8-10 | latency, 1 row, labels (us) |" in printed
    assert "| toy 64-8-10 | latency, 1 row (us) |" in printed and "| toy 64-8-10 | throughput, batch 1024 (rows/s) |" in printed
    report = json.loads(path.read_text())
    (row,) = report["rows"]
    assert report["machine"]["cpu"] and row["sizes"] == [64, 8, 10]
    assert set(row["latency_us"]) == set(row["rows_per_second"]) == set(row["largest_difference"])
    assert set(row["predict_latency_us"]) == {"estimator", "sklearn"}


@pytest.mark.parametrize("rows", [1, 3])
def test_the_profile_times_each_layer_and_each_onnxruntime_node(rows):
    lines = inference.profile(TOY, rows, repeats=1, seconds=1e-4)
    assert lines[0].startswith(f"toy, {rows} row")
    assert any(f"steepest layer 0: dense_forward {rows}x64x8 relu" in line for line in lines)
    assert any(f"steepest layer 1: dense_forward {rows}x8x10 softmax" in line for line in lines)
    if importlib.util.find_spec("onnxruntime") is not None:
        assert any("onnxruntime" in line and "Gemm" in line for line in lines)
        assert any("whole run" in line for line in lines)
