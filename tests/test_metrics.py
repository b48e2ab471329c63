"""metrics.py against closed forms and known extremes, on synthetic features."""
import numpy as np
import pytest

from evaluation import metrics


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    var1, var2 = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    # Diagonal covariances: ||mu1-mu2||^2 + sum(v1 + v2 - 2 sqrt(v1 v2)).
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    got = metrics.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
    assert got == pytest.approx(expected, rel=1e-6)
    # Full covariances, one a rotation of the other: the trace term is the same as for the diagonal pair.
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    assert metrics.frechet_distance(mu1, q @ np.diag(var1) @ q.T, mu1, q @ np.diag(var1) @ q.T) == \
        pytest.approx(0, abs=1e-6)
    samples1 = rng.normal(mu1, np.sqrt(var1), size=(20000, 5))
    samples2 = rng.normal(mu2, np.sqrt(var2), size=(20000, 5))
    assert metrics.fcd(samples1, samples2) == pytest.approx(expected, rel=0.05)


def test_frechet_distance_survives_singular_covariances():
    features = np.zeros((100, 4))
    features[:, 0] = np.linspace(0, 1, 100)  # rank one
    assert np.isfinite(metrics.fcd(features, features + 0.1))


def test_same_distribution_sits_at_the_floor_and_distance_grows_with_noise():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(3000, 8))
    other_real = rng.normal(size=(3000, 8))
    floor = metrics.fcd(real, other_real)
    assert floor < 0.05
    assert abs(metrics.kid(real, other_real)) < 0.01
    distances = [metrics.fcd(real, other_real + noise * rng.normal(size=other_real.shape))
                 for noise in (0.25, 0.5, 1.0, 2.0)]
    assert floor < distances[0] and all(a < b for a, b in zip(distances, distances[1:]))
    kids = [metrics.kid(real, other_real * scale) for scale in (1.5, 2.0, 3.0)]
    assert all(a < b for a, b in zip(kids, kids[1:]))


def _clusters(rng, n, classes):
    centres = np.eye(10, 16) * 10
    labels = rng.choice(classes, n)
    return centres[labels] + rng.normal(size=(n, 16)), labels


def test_a_single_repeated_mode_gets_low_coverage_and_recall():
    rng = np.random.default_rng(2)
    real, _ = _clusters(rng, 2000, np.arange(10))
    diverse, diverse_labels = _clusters(rng, 2000, np.arange(10))
    single, single_labels = _clusters(rng, 2000, np.array([7]))
    p_diverse, r_diverse = metrics.precision_recall(real, diverse)
    p_single, r_single = metrics.precision_recall(real, single)
    assert p_diverse > 0.7 and r_diverse > 0.7
    assert p_single > 0.7 and r_single < 0.2
    one_hot = np.eye(10)[single_labels] * 0.99 + 0.001
    coverage = metrics.mode_coverage(one_hot)
    assert coverage["classes_covered"] == 1 and coverage["histogram"][7] == 1.0
    assert coverage["kl_from_uniform"] == pytest.approx(np.log(10))
    assert metrics.mode_coverage(np.eye(10)[diverse_labels])["classes_covered"] == 10
    assert metrics.classifier_score(one_hot)[0] == pytest.approx(1.0, abs=0.01)
    assert metrics.classifier_score(np.eye(10)[diverse_labels] * 0.99 + 0.001)[0] > 9
