"""The comparison report's figures: seeds drawn as a mean and a band over the steps they share."""
import numpy as np

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
