"""The training benchmark's plumbing on a toy configuration: structure, never speed."""

import numpy as np

from steepest.bench import training


def test_every_library_trains_the_same_work_and_the_table_reports_it():
    toy = training.TrainingConfig("toy", (3, 5, 2), "relu", "identity", 8, "softmax_cross_entropy", 64)
    rows = training.run([toy], threads=1, repeats=1)
    (row,) = rows
    assert row["config"] == "toy" and row["threads"] == 1 and row["samples"] == 64
    assert {"steepest", "numpy"} <= set(row["samples_per_second"])
    assert all(value > 0 for value in row["samples_per_second"].values())
    for peer, ratio in row["ratio"].items():
        assert np.isclose(ratio, row["samples_per_second"]["steepest"] / row["samples_per_second"][peer])
    table = training.format_table(rows + [dict(row, threads=2, ratio={"numpy": 1.0}, samples_per_second={"steepest": 1.0, "numpy": 1.0})])
    assert "toy" in table and "nan" not in table


def test_flops_count_forward_and_both_gradients_except_the_inputs():
    config = training.TrainingConfig("c", (4, 3, 2), "relu", "identity", 1, "mse", 1)
    # forward 4·3 + 3·2, weight gradients the same, input gradient of the second layer only
    assert config.flops_per_sample == 2 * (2 * (12 + 6) + 6)


def test_a_run_leaves_the_thread_settings_as_it_found_them():
    import os

    import steepest

    before_threads = steepest.get_num_threads()
    before_cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    toy = training.TrainingConfig("toy", (2, 2), "relu", "identity", 4, "mse", 16)
    training.run([toy], threads=1, repeats=1)
    assert steepest.get_num_threads() == before_threads
    if before_cpus is not None:
        assert os.sched_getaffinity(0) == before_cpus
