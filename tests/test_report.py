"""The comparison report: its rows of verdicts, and seeds drawn as a mean and a band over the steps they share."""
import json

import numpy as np

import report
import utils


def test_seed_bands_average_only_the_steps_every_seed_has():
    x, ys = utils._aligned([([1, 2, 3], [1.0, 2.0, 3.0]), ([1, 2, 3, 4], [3.0, 4.0, 5.0, 6.0])])
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_array_equal(ys.mean(0), [2.0, 3.0, 4.0])
    x, ys = utils._aligned([([1, 2, 3], [1.0, 2.0, 3.0]), ([1, 2, 5], [3.0, 4.0, 5.0])])  # logged at other steps
    np.testing.assert_array_equal(x, [1, 2])
    assert ys.shape == (2, 2)


def test_many_series_with_bands_and_seed_lines_are_drawn(tmp_path):
    columns = {f"run{i}": [([1, 2, 3], [3.0, 2.0, 1.0 + i]), ([1, 2, 3], [4.0, 3.0, 2.0])] for i in range(8)}
    columns["one seed"] = ([1, 2], [5.0, 4.0])
    for band in (True, False):
        path = tmp_path / f"band_{band}.png"
        utils.plot_curves(columns, str(path), "test", log_y=True, styles={"run0": {"linestyle": "--"}}, band=band)
        assert path.stat().st_size > 0


def fake_run(folder, fcd, fcd_ema):
    """A results folder with the logs and metrics.json a finished run leaves."""
    folder.mkdir()
    metrics = {key: 1.0 for key, _, _ in report.REPORTED}
    json.dump({"num_samples": 100, "real_floor": metrics, "model": {**metrics, "fcd": fcd},
               "model_ema": {**metrics, "fcd": fcd_ema}}, open(folder / "metrics.json", "w"))
    (folder / "steps.csv").write_text("step,d_loss,g_loss\n50,1.0,2.0\n100,0.9,2.1\n")
    (folder / "train_log.csv").write_text("step,epoch,d_loss,g_loss,seconds\n100,1,0.9,2.1,12.5\n")


def test_each_comparison_row_names_its_sides_in_the_order_of_its_difference(tmp_path):
    fake_run(tmp_path / "GAN", 30.0, 10.0)
    fake_run(tmp_path / "SAGAN", 25.0, 12.0)
    runs = {"GAN": {0: str(tmp_path / "GAN")}, "SAGAN": {0: str(tmp_path / "SAGAN")}}
    text = report.write_report(runs, [("attention against its control", "GAN", "SAGAN")],
                               {"GAN": (1, 2), "SAGAN": (3, 4)}, str(tmp_path / "report"), log=lambda *a: None)
    rows = [line for line in text.splitlines() if "FCD:" in line]
    assert any(r.startswith("| SAGAN against GAN (attention against its control) | raw |")
               and "(difference -5)" in r for r in rows), rows
    assert any(r.startswith("| SAGAN: averaged G against raw | ema against raw |")
               and "(difference -13)" in r for r in rows), rows
    assert not any("SAGAN against SAGAN" in r for r in rows)
