"""On the real MNIST, opt-in: SAGAN_MNIST_DIR=data/mnist python -m pytest -q tests/test_real_mnist.py (~3 min).

The classifier reaches 99% on the test set, and FCD grows step by step as real images are degraded.
The suite's other tests use tiny synthetic files; these need the real ones, which CI does not fetch.
"""
import os

import numpy as np
import pytest
from scipy import ndimage

from evaluation import metrics
from common import data
from evaluation.classifier import trained_classifier

MNIST_DIR = os.environ.get("SAGAN_MNIST_DIR")
pytestmark = pytest.mark.skipif(not MNIST_DIR, reason="set SAGAN_MNIST_DIR to a folder of the MNIST IDX files")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The real splits (hash-checked) and a classifier trained afresh on them."""
    splits = data.read_split_files(MNIST_DIR, "mnist")
    return splits, trained_classifier("mnist", str(tmp_path_factory.mktemp("checkpoint")), splits)


def test_classifier_reaches_99_percent_on_the_test_set(trained):
    splits, classifier = trained
    assert classifier.accuracy(*splits["t10k"]) >= 0.99


@pytest.mark.parametrize("degrade", ["noise", "blur"])
def test_fcd_grows_as_real_images_are_degraded(trained, degrade):
    splits, classifier = trained
    test_features, _ = classifier.features_and_probs(splits["t10k"][0])
    images = splits["train"][0][:10_000].astype(np.float32)
    rng = np.random.default_rng(0)

    def degraded(level):
        if degrade == "noise":
            out = images + rng.normal(0, 255 * level, images.shape)
        else:
            out = ndimage.gaussian_filter(images, sigma=(0, level, level, 0)) if level else images
        return np.clip(out, 0, 255).astype(np.uint8)

    levels = (0, 0.1, 0.2, 0.4) if degrade == "noise" else (0, 0.5, 1.0, 2.0)
    distances = [metrics.fcd(test_features, classifier.features_and_probs(degraded(level))[0])
                 for level in levels]
    assert all(a < b for a, b in zip(distances, distances[1:])), distances
