"""The yardstick: its split, the floor at each sample count, the spread, the memorisation check, and the
classifier's migration from the old split."""
import json
import os

import numpy as np
import pytest

from evaluation import metrics
from evaluation import yardstick
from evaluation.yardstick import Yardstick, fcd_spread, memorisation_line, nearest_distances, split_indices


def test_the_split_is_disjoint_fixed_and_covers_every_image():
    parts = split_indices(70_000)
    assert {k: len(v) for k, v in parts.items()} == {"reference": 10_000, "floor": 20_000, "classifier": 40_000}
    everything = np.concatenate(list(parts.values()))
    assert len(np.unique(everything)) == 70_000 and everything.min() == 0 and everything.max() == 69_999
    again = split_indices(70_000)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)  # fixed: every run measures the same way
    assert not np.array_equal(split_indices(70_000, seed=1)["reference"], parts["reference"])
    # The test set (the last 10,000) is spread over all three parts: no part is one writer population.
    for part in parts.values():
        assert 0.1 < (part >= 60_000).mean() < 0.2
    small = split_indices(48)
    assert {k: len(v) for k, v in small.items()} == {"reference": 6, "floor": 12, "classifier": 30}


class PixelClassifier:
    """Stands in for the metrics' classifier: features are 4x4-pooled pixels, the class their brightest block."""

    def features_and_probs(self, images):
        pooled = images.reshape(len(images), 7, 4, 7, 4).mean((2, 4)).reshape(len(images), 49) / 255
        logits = pooled[:, :10] * 20
        probs = np.exp(logits - logits.max(1, keepdims=True))
        return pooled, probs / probs.sum(1, keepdims=True)

    def accuracy(self, images, labels):
        return float((self.features_and_probs(images)[1].argmax(1) == labels).mean())


def blob_images(rng, n):
    """Smooth random images: a few bright blobs each, uint8 [n, 28, 28, 1]."""
    yy, xx = np.mgrid[:28, :28]
    centres = rng.uniform(4, 24, (n, 3, 2))
    images = sum(np.exp(-((yy - centres[:, i, 0, None, None]) ** 2 + (xx - centres[:, i, 1, None, None]) ** 2) / 8)
                 for i in range(3))
    return (255 * np.clip(images, 0, 1)).astype(np.uint8)[..., None]


@pytest.fixture(scope="module")
def small_yardstick():
    rng = np.random.default_rng(0)
    images = blob_images(rng, 2800)  # a reference of 400, a floor set of 800
    labels = rng.integers(0, 10, len(images))
    return Yardstick(PixelClassifier(), images, labels)


def test_the_floor_is_measured_at_the_sample_count(small_yardstick):
    ys = small_yardstick
    assert len(ys.split["reference"]) == 400 and len(ys.split["floor"]) == 800
    for count, draws in ((100, 4), (250, 3), (400, 2), (800, 1), (5000, 1)):
        n = min(count, 800)
        expected = np.mean([metrics.fcd(ys.reference_features, ys.floor_features[i * n:(i + 1) * n])
                            for i in range(draws)])  # disjoint draws of as many real images, averaged
        assert ys.floor_fcd(count) == pytest.approx(expected, rel=1e-9)
        floor = ys.floor(count)
        assert (floor["num_images"], floor["draws"]) == (n, draws) and floor["fcd"] == ys.floor_fcd(count)
        assert floor["fcd_spread"] > 0 and floor["classes_covered"] >= 1
    # Fewer images sit further from the reference: a 100-image floor is higher than an 800-image one, which is
    # why a figure of 100 samples must not be read against the floor of 800.
    assert ys.floor_fcd(100) > ys.floor_fcd(800)
    fresh = blob_images(np.random.default_rng(1), 100)
    quick = ys.quick(fresh)
    assert quick["fcd_floor"] == ys.floor_fcd(100)
    assert quick["fcd_multiple"] == pytest.approx(quick["fcd"] / ys.floor_fcd(100))
    # New real images of the same distribution read close to the floor.
    assert 0.6 < ys.measure(blob_images(np.random.default_rng(5), 400))["fcd_multiple"] < 1.5


def test_the_spread_is_the_fcds_sampling_noise():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(4000, 8))
    few, many = rng.normal(0.3, 1, (300, 8)), rng.normal(0.3, 1, (3000, 8))
    assert 0 < fcd_spread(reference, many) < fcd_spread(reference, few)
    # Against the FCD's spread over independent draws of 300 images of the same distribution:
    draws = [metrics.fcd(reference, rng.normal(0.3, 1, (300, 8))) for _ in range(40)]
    assert 0.5 < fcd_spread(reference, few) / np.std(draws) < 2.5


def test_copies_of_the_images_g_learned_from_are_flagged_and_new_images_are_not(small_yardstick):
    ys = small_yardstick
    copies = ys.images[ys.split["classifier"][:300]]
    copied = ys.measure(copies)["memorisation"]
    assert copied["median_nearest"] == 0 and copied["near_copies"] == 1.0 and copied["closer_than_real"]
    assert "CLOSER than real images" in memorisation_line(copied)
    new = ys.measure(blob_images(np.random.default_rng(3), 300))["memorisation"]
    assert not new["closer_than_real"] and new["near_copies"] < yardstick.NEAR_COPY_ALARM
    assert "not closer than real images" in memorisation_line(new)
    floor = ys.floor(300)["memorisation"]  # against the other images: its own image does not count
    assert floor["median_nearest"] > 0 and not floor["closer_than_real"]


def test_nearest_distances_match_a_direct_search():
    rng = np.random.default_rng(4)
    pool = rng.integers(0, 256, (60, 28, 28, 1), dtype=np.uint8)
    queries = pool[[3, 7]]
    direct = np.sqrt(((queries.reshape(2, 1, -1) / 255. - pool.reshape(1, 60, -1) / 255.) ** 2).sum(-1))
    assert list(nearest_distances(queries, pool)) == [0, 0]  # a copy sits at exactly 0 whatever the CPU's rounding
    direct[[0, 1], [3, 7]] = np.inf
    assert nearest_distances(queries, pool, exclude=np.array([3, 7])) == pytest.approx(direct.min(1), rel=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_the_classifier_score_of_one_class_is_one_not_a_rounding_below(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(500, 10)).astype(np.float32)
    logits[:, seed] += 40  # every sample confidently one class, as a degenerate G's
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs = (probs / probs.sum(1, keepdims=True)).astype(np.float32)
    score, _ = metrics.classifier_score(probs)
    assert score >= 1.0 and score == pytest.approx(1.0, abs=1e-6)


@pytest.mark.trains
def test_an_old_classifier_is_retrained_once_with_one_line_and_a_stop_keeps_it_whole(workdir, run_main, tiny_run,
                                                                                     monkeypatch, capsys):
    from evaluation import classifier
    tiny_run("GAN", 1)  # a checkpoint to evaluate
    assert run_main("--gan_type", "GAN", "--phase", "eval", "--num_eval_samples", 100) == 0
    folder = workdir / "checkpoint" / "classifier_mnist"
    split = json.loads((folder / classifier.SPLIT_FILE).read_text())
    assert split["version"] == yardstick.SPLIT_VERSION and split["classifier_images"] == 48 - 6 - 12
    os.remove(folder / classifier.SPLIT_FILE)  # as a classifier of the old yardstick left it
    old_files = sorted(os.listdir(folder))
    capsys.readouterr()

    def stop(*args, **kwargs):
        raise KeyboardInterrupt
    with monkeypatch.context() as m:
        m.setattr(classifier, "shifted", stop)  # a stop while the new classifier trains
        assert run_main("--gan_type", "GAN", "--phase", "eval", "--num_eval_samples", 100) == 130
    out = capsys.readouterr().out
    assert "old yardstick" in out and "retraining" in out
    assert sorted(os.listdir(folder)) == old_files  # the old one, whole
    assert not [n for n in os.listdir(folder.parent) if n.startswith(".")]  # no partial folder left

    assert run_main("--gan_type", "GAN", "--phase", "eval", "--num_eval_samples", 100) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("retraining")] == [
        f"retraining the mnist classifier in {os.path.join('checkpoint', 'classifier_mnist')}: it learned from the "
        "60,000 training images and was measured against the test set (the old yardstick)"]
    assert json.loads((folder / classifier.SPLIT_FILE).read_text()) == split
    assert run_main("--gan_type", "GAN", "--phase", "eval", "--num_eval_samples", 100) == 0
    assert "training the mnist classifier" not in capsys.readouterr().out  # once
