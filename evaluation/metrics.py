"""Sample-quality metrics on classifier features: FCD, classifier score, KID, precision/recall, mode coverage."""
import numpy as np
import scipy.special


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2), the FID formula.

    Tr((S1 S2)^1/2) is the sum of the square roots of the eigenvalues of S1^1/2 S2 S1^1/2, which is symmetric
    and positive semi-definite: computed so, in float64, it stays real and exact where covariances are singular
    (fewer images than feature dimensions), where a general matrix square root of S1 S2 turns complex.
    """
    mu1, mu2, sigma1, sigma2 = (np.asarray(a, dtype=np.float64) for a in (mu1, mu2, sigma1, sigma2))
    diff = mu1 - mu2
    values, vectors = np.linalg.eigh(sigma1)
    root1 = (vectors * np.sqrt(np.maximum(values, 0))) @ vectors.T
    inner = np.linalg.eigvalsh(root1 @ sigma2 @ root1)
    trace_covmean = np.sqrt(np.maximum(inner, 0)).sum()
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_covmean)


def fcd(features1, features2):
    """Fréchet distance between two feature sets [N, D]."""
    return frechet_distance(features1.mean(0), np.cov(features1, rowvar=False),
                            features2.mean(0), np.cov(features2, rowvar=False))


def classifier_score(probs, splits=10):
    """The Inception Score's analogue, exp E[KL(p(y|x) || p(y))]: (mean, std) over splits.

    In float64, each KL from rel_entr (0 log 0 = 0) and clipped at 0, so the score is >= 1 as in exact
    arithmetic: a G whose samples fall in one class scores 1, not 0.9999999 on one CPU and 1.0000001 on another.
    """
    probs = np.asarray(probs, dtype=np.float64)
    probs = probs / probs.sum(1, keepdims=True)
    scores = []
    for part in np.array_split(probs, min(splits, len(probs))):
        marginal = part.mean(0, keepdims=True)
        kl = np.maximum(scipy.special.rel_entr(part, marginal).sum(1), 0.0)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def kid(features1, features2, subset_size=1000, subsets=10, seed=0):
    """Kernel Inception Distance: unbiased MMD^2 with the kernel (x.y / d + 1)^3, mean over subsets."""
    rng = np.random.default_rng(seed)
    d = features1.shape[1]
    m = min(subset_size, len(features1), len(features2))
    values = []
    for _ in range(subsets):
        x = features1[rng.choice(len(features1), m, replace=False)]
        y = features2[rng.choice(len(features2), m, replace=False)]
        kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                      - 2 * kxy.mean())
    return float(np.mean(values))


def _pairwise_distances(a, b):
    """Euclidean distances [len(a), len(b)]."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0))


def _knn_radii(features, k):
    """Distance of each point to its k-th nearest other point."""
    radii = np.empty(len(features))
    for start in range(0, len(features), 1000):
        distances = _pairwise_distances(features[start:start + 1000], features)
        radii[start:start + 1000] = np.partition(distances, k, axis=1)[:, k]  # index 0 is the point itself
    return radii


def _coverage_of(points, manifold, radii):
    """Share of points inside the union of balls around manifold with the given radii."""
    inside = np.zeros(len(points), dtype=bool)
    for start in range(0, len(points), 1000):
        distances = _pairwise_distances(points[start:start + 1000], manifold)
        inside[start:start + 1000] = (distances <= radii[None, :]).any(1)
    return float(inside.mean())


def precision_recall(real_features, fake_features, k=3):
    """Kynkäänniemi et al. 2019: precision = fakes on the real manifold, recall = reals on the fake one."""
    precision = _coverage_of(fake_features, real_features, _knn_radii(real_features, k))
    recall = _coverage_of(real_features, fake_features, _knn_radii(fake_features, k))
    return precision, recall


def mode_coverage(probs, num_classes=10):
    """Histogram of predicted classes, classes with at least half their share, KL from uniform, confidence."""
    predicted = probs.argmax(1)
    histogram = np.bincount(predicted, minlength=num_classes) / len(predicted)
    nonzero = histogram[histogram > 0]
    return {"histogram": histogram.round(4).tolist(),
            "classes_covered": int((histogram >= 0.5 / num_classes).sum()),
            "kl_from_uniform": float(np.sum(nonzero * np.log(nonzero * num_classes))),
            "mean_confidence": float(probs.max(1).mean())}


def all_metrics(real_features, fake_features, fake_probs):
    """Every metric of fake against real, as a flat-ish dict."""
    precision, recall = precision_recall(real_features, fake_features)
    score_mean, score_std = classifier_score(fake_probs)
    return {"fcd": fcd(real_features, fake_features), "classifier_score": score_mean,
            "classifier_score_std": score_std, "kid": kid(real_features, fake_features),
            "precision": precision, "recall": recall, **mode_coverage(fake_probs)}
