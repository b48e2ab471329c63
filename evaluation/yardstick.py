"""The yardstick every quality figure is read off, and its floor.

G learns from all 70,000 images of the dataset (train and test together, as the framework trains). They are
split once, with a fixed seed, into three disjoint parts:

- the reference: 10,000 images that samples are measured against;
- the floor set: 20,000 other images. The floor of n samples is the mean score of the floor set's disjoint
  draws of n real images (two at 10,000, four at 5,000), each measured against the reference as samples are:
  the score of real images G could have drawn. One draw alone is noisy: 10,000-image draws of MNIST score
  FCDs from 2.1 to 2.9 against one reference;
- the metrics' classifier's training images: the other 40,000.

The classifier never sees the reference or the floor set, so neither the train/test shift of MNIST nor the
classifier's memory of its own training images can put samples below the floor.
"""
import numpy as np

from config import EvalConfig
from evaluation.metrics import all_metrics, classifier_score, fcd

SPLIT_SEED = 0
REFERENCE_SIZE = 10_000  # images in the reference
FLOOR_SIZE = 20_000  # images in the floor set
MAX_FLOOR_DRAWS = 4  # disjoint draws of the floor set averaged into a floor
SPLIT_VERSION = 2  # 1 was the old yardstick: the classifier on the 60,000 training images, the test set as reference
SPREAD_RESAMPLES = 20  # bootstrap resamples behind each FCD's spread
SPREAD_SEED = 0
NEAR_COPY_QUANTILE = 0.01  # a sample nearer to the dataset than this share of real images is a near copy
NEAR_COPY_ALARM = 0.05  # samples are flagged as copies when more than this share are near copies
NN_CHUNK = 500  # queries per block of the nearest-neighbour search


def _sizes(num_images):
    """(reference, floor set) sizes: REFERENCE_SIZE and FLOOR_SIZE, or a seventh and two sevenths of a smaller
    dataset."""
    return min(REFERENCE_SIZE, num_images // 7), min(FLOOR_SIZE, 2 * (num_images // 7))


def split_indices(num_images, seed=SPLIT_SEED):
    """{'classifier', 'reference', 'floor'}: disjoint indices into the dataset's images, fixed by seed.

    The floor set keeps its random order, so that its consecutive blocks are random draws of it.
    """
    reference, floor = _sizes(num_images)
    order = np.random.default_rng(seed).permutation(num_images)
    return {"reference": np.sort(order[:reference]), "floor": order[reference:reference + floor],
            "classifier": np.sort(order[reference + floor:])}


def split_description(num_images):
    """What a classifier trained under this split records beside its weights, to be told from another's."""
    reference, floor = _sizes(num_images)
    return {"version": SPLIT_VERSION, "seed": SPLIT_SEED, "num_images": num_images, "reference": reference,
            "floor": floor, "classifier_images": num_images - reference - floor}


def fcd_spread(reference_features, features, resamples=SPREAD_RESAMPLES, seed=SPREAD_SEED):
    """Standard deviation of the FCD over bootstrap resamples of both sets: its sampling noise."""
    rng = np.random.default_rng(seed)
    values = [fcd(reference_features[rng.integers(0, len(reference_features), len(reference_features))],
                  features[rng.integers(0, len(features), len(features))]) for _ in range(resamples)]
    return float(np.std(values, ddof=1))


def nearest_distances(queries, pool, exclude=None):
    """Euclidean distance in pixels (scaled to [0, 1]) from each uint8 query image to its nearest pool image.

    exclude[i], when given, is the pool index of query i itself, which does not count as its neighbour.
    """
    pool = pool.reshape(len(pool), -1).astype(np.float32) / 255
    pool_norms = (pool * pool).sum(1)
    nearest = np.empty(len(queries))
    for start in range(0, len(queries), NN_CHUNK):
        block = queries[start:start + NN_CHUNK].reshape(-1, pool.shape[1]).astype(np.float32) / 255
        squared = (block * block).sum(1)[:, None] + pool_norms[None, :] - 2 * block @ pool.T  # [chunk, pool]
        if exclude is not None:
            squared[np.arange(len(block)), exclude[start:start + NN_CHUNK]] = np.inf
        # The expansion above loses ~1e-3 to float32 cancellation, which would hide an exact copy: it only picks
        # the neighbour, whose distance is then taken directly.
        neighbour = pool[squared.argmin(1)].astype(np.float64)
        nearest[start:start + len(block)] = np.sqrt(((block.astype(np.float64) - neighbour) ** 2).sum(1))
    return nearest


class Yardstick:
    """The classifier's view of the reference and the floor set, and the measure of a set of images by it."""

    def __init__(self, classifier, images, labels, cas_images=EvalConfig.cas_images):
        """images, labels: all the dataset's images (uint8 [N, 28, 28, 1]) in the order G trains on them;
        cas_images: how many images the classification accuracy score's classifiers learn from."""
        self.classifier, self.images, self.labels, self.cas_images = classifier, images, labels, cas_images
        self.split = split_indices(len(images))
        self.reference_features, _ = classifier.features_and_probs(images[self.split["reference"]])
        held_out = np.concatenate([self.split["reference"], self.split["floor"]])
        self.accuracy = classifier.accuracy(images[held_out], labels[held_out])
        self.floor_features, self.floor_probs = classifier.features_and_probs(images[self.split["floor"]])
        self._floor_fcds, self._floor_nearest = {}, None
        self.real_cas = None  # the classification accuracy score's real baseline, once conditional.py measures it

    @property
    def about(self):
        """The split's sizes and the classifier's accuracy on the images it never saw."""
        return {"reference_images": len(self.split["reference"]), "floor_images": len(self.split["floor"]),
                "classifier_images": len(self.split["classifier"]), "classifier_accuracy": self.accuracy}

    def floor_draws(self, count):
        """[slice] of the floor set's disjoint draws that stand beside count samples: as many images each, as
        far as the floor set goes, and at most MAX_FLOOR_DRAWS of them."""
        n = min(count, len(self.split["floor"]))
        return [slice(i * n, (i + 1) * n) for i in range(min(MAX_FLOOR_DRAWS, len(self.split["floor"]) // n))]

    def floor_fcd(self, count):
        """The floor of count samples: the mean FCD of the floor set's draws against the reference (cached)."""
        if count not in self._floor_fcds:
            self._floor_fcds[count] = float(np.mean([fcd(self.reference_features, self.floor_features[draw])
                                                     for draw in self.floor_draws(count)]))
        return self._floor_fcds[count]

    def floor(self, count):
        """Every metric of count real images of the floor set, as measure() gives them for samples: the mean
        over its draws, with the FCD's spread over them (a bootstrap's, when there is one draw)."""
        draws = self.floor_draws(count)
        each = [all_metrics(self.reference_features, self.floor_features[d], self.floor_probs[d]) for d in draws]
        metrics = {key: each[0][key] if isinstance(each[0][key], list) else _mean([m[key] for m in each])
                   for key in each[0]}
        metrics["fcd"] = self.floor_fcd(count)
        spread = (np.std([m["fcd"] for m in each], ddof=1) if len(each) > 1 else
                  fcd_spread(self.reference_features, self.floor_features[draws[0]]))
        nearest = self.floor_nearest()
        metrics.update(fcd_spread=float(spread), fcd_multiple=1.0, num_images=draws[0].stop, draws=len(draws),
                       memorisation=self._memorisation(nearest, nearest))
        return metrics

    def quick(self, images):
        """FCD, its multiple of the floor of as many images, and classifier score: the per-epoch figures."""
        features, probs = self.classifier.features_and_probs(images)
        value = fcd(self.reference_features, features)
        floor = self.floor_fcd(len(images))
        return {"fcd": value, "fcd_floor": floor, "fcd_multiple": value / floor,
                "classifier_score": classifier_score(probs)[0]}

    def measure(self, images):
        """Every metric of images against the reference, with the FCD's spread, its multiple of the floor of as
        many real images, and how near the images sit to the ones G learned from."""
        features, probs = self.classifier.features_and_probs(images)
        metrics = all_metrics(self.reference_features, features, probs)
        metrics.update(fcd_spread=fcd_spread(self.reference_features, features),
                       fcd_multiple=metrics["fcd"] / self.floor_fcd(len(images)), num_images=len(images))
        metrics["memorisation"] = self._memorisation(nearest_distances(images, self.images), self.floor_nearest())
        return metrics

    def floor_nearest(self):
        """Distances from each floor-set image to its nearest other image of the dataset (cached)."""
        if self._floor_nearest is None:
            floor = self.split["floor"]
            self._floor_nearest = nearest_distances(self.images[floor], self.images, exclude=floor)
        return self._floor_nearest

    @staticmethod
    def _memorisation(nearest, floor_nearest):
        """The images' distances to their nearest image of the dataset, beside real images' own."""
        threshold = float(np.quantile(floor_nearest, NEAR_COPY_QUANTILE))
        near = float((nearest < threshold).mean())
        median, floor_median = float(np.median(nearest)), float(np.median(floor_nearest))
        return {"median_nearest": median, "floor_median_nearest": floor_median, "near_copy_threshold": threshold,
                "near_copies": near, "closer_than_real": bool(median < floor_median or near > NEAR_COPY_ALARM)}


def _mean(values):
    """The mean of a metric over draws; an int where every draw's is the same int (classes covered)."""
    if all(isinstance(v, int) for v in values) and len(set(values)) == 1:
        return values[0]
    return float(np.mean(values))


def memorisation_line(memorisation):
    """One line: are the images closer to the ones G learned from than real images are?"""
    m = memorisation
    verdict = ("CLOSER than real images are: look for copies of training images" if m["closer_than_real"]
               else "not closer than real images are")
    return (f"memorisation: median distance to the nearest of the dataset's images {m['median_nearest']:.3f} "
            f"(real images: {m['floor_median_nearest']:.3f}); {100 * m['near_copies']:.1f}% nearer than "
            f"{100 * (1 - NEAR_COPY_QUANTILE):.0f}% of real images ({100 * NEAR_COPY_QUANTILE:.0f}% expected); "
            f"{verdict}")
