"""The yardstick every quality figure is read off, and its floor.

G learns from all 70,000 images of the dataset (train and test together, as the framework trains). They are
split once, with a fixed seed, into three disjoint parts:

- the metrics' classifier's training images (the rest);
- the reference: 10,000 images that samples are measured against;
- the floor set: 10,000 other images; as many of them as there are samples, measured against the reference
  in the same way, give the floor, the score of real images G could have drawn.

The classifier never sees the reference or the floor set, so neither the train/test shift of MNIST nor the
classifier's memory of its own training images can put samples below the floor.
"""
import numpy as np

from metrics import all_metrics, classifier_score, fcd

SPLIT_SEED = 0
REFERENCE_SIZE = 10_000  # images in the reference, and in the floor set
SPLIT_VERSION = 2  # 1 was the old yardstick: the classifier on the 60,000 training images, the test set as reference
SPREAD_RESAMPLES = 20  # bootstrap resamples behind each FCD's spread
SPREAD_SEED = 0
NEAR_COPY_QUANTILE = 0.01  # a sample nearer to the 70,000 than this share of real images is a near copy
NEAR_COPY_ALARM = 0.05  # samples flagged as copies when more than this share are near copies
NN_CHUNK = 500  # queries per block of the nearest-neighbour search


def split_indices(num_images, seed=SPLIT_SEED):
    """{'classifier', 'reference', 'floor'}: disjoint indices into the dataset's images, fixed by seed.

    The reference and the floor set each take REFERENCE_SIZE images, or a seventh of a smaller dataset.
    The floor set keeps its random order, so that its first n images are a random n of it.
    """
    part = min(REFERENCE_SIZE, num_images // 7)
    order = np.random.default_rng(seed).permutation(num_images)
    return {"reference": np.sort(order[:part]), "floor": order[part:2 * part],
            "classifier": np.sort(order[2 * part:])}


def split_description(num_images):
    """What a classifier trained under this split records beside its weights, to be told from another's."""
    part = min(REFERENCE_SIZE, num_images // 7)
    return {"version": SPLIT_VERSION, "seed": SPLIT_SEED, "num_images": num_images, "reference": part,
            "floor": part, "classifier_images": num_images - 2 * part}


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
        nearest[start:start + len(block)] = np.sqrt(np.maximum(squared.min(1), 0))
    return nearest


class Yardstick:
    """The classifier's view of the reference and the floor set, and the measure of a set of images by it."""

    def __init__(self, classifier, images, labels):
        """images, labels: all the dataset's images (uint8 [N, 28, 28, 1]) in the order G trains on them."""
        self.classifier, self.images = classifier, images
        self.split = split_indices(len(images))
        self.reference_features, _ = classifier.features_and_probs(images[self.split["reference"]])
        held_out = np.concatenate([self.split["reference"], self.split["floor"]])
        self.accuracy = classifier.accuracy(images[held_out], labels[held_out])
        floor_images = images[self.split["floor"]]
        self.floor_features, self.floor_probs = classifier.features_and_probs(floor_images)
        self._floors, self._floor_distances = {}, {}

    @property
    def about(self):
        """The reference's size and the classifier's accuracy on the images it never saw."""
        return {"reference_images": len(self.split["reference"]), "floor_images": len(self.split["floor"]),
                "classifier_images": len(self.split["classifier"]), "classifier_accuracy": self.accuracy}

    def floor_count(self, count):
        """How many floor images stand beside count samples: as many, as far as the floor set goes."""
        return min(count, len(self.split["floor"]))

    def floor_fcd(self, count):
        """The FCD of count floor images against the reference (cached)."""
        n = self.floor_count(count)
        if n not in self._floors:
            self._floors[n] = fcd(self.reference_features, self.floor_features[:n])
        return self._floors[n]

    def floor(self, count):
        """Every metric of the first count floor images, as measure() gives them for samples."""
        n = self.floor_count(count)
        metrics = all_metrics(self.reference_features, self.floor_features[:n], self.floor_probs[:n])
        metrics.update(fcd_spread=fcd_spread(self.reference_features, self.floor_features[:n]), fcd_multiple=1.0,
                       num_images=n)
        metrics["memorisation"] = self._memorisation(self._floor_nearest(n), self._floor_nearest(n))
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
        nearest = nearest_distances(images, self.images)
        metrics["memorisation"] = self._memorisation(nearest, self._floor_nearest(self.floor_count(len(images))))
        return metrics

    def _floor_nearest(self, n):
        """Distances from the first n floor images to their nearest other image of the dataset (cached)."""
        if n not in self._floor_distances:
            floor = self.split["floor"][:n]
            self._floor_distances[n] = nearest_distances(self.images[floor], self.images, exclude=floor)
        return self._floor_distances[n]

    @staticmethod
    def _memorisation(nearest, floor_nearest):
        """The samples' distances to their nearest image of the dataset, beside real images' own."""
        threshold = float(np.quantile(floor_nearest, NEAR_COPY_QUANTILE))
        near = float((nearest < threshold).mean())
        median, floor_median = float(np.median(nearest)), float(np.median(floor_nearest))
        return {"median_nearest": median, "floor_median_nearest": floor_median, "near_copy_threshold": threshold,
                "near_copies": near, "closer_than_real": bool(median < floor_median or near > NEAR_COPY_ALARM)}


def memorisation_line(memorisation):
    """One line: are the images closer to the ones G learned from than real images are?"""
    m = memorisation
    verdict = ("CLOSER than real images are: look for copies of training images" if m["closer_than_real"]
               else "not closer than real images are")
    return (f"memorisation: median distance to the nearest of the dataset's images {m['median_nearest']:.3f} "
            f"(real images: {m['floor_median_nearest']:.3f}); {100 * m['near_copies']:.1f}% nearer than "
            f"{100 * (1 - NEAR_COPY_QUANTILE):.0f}% of real images ({100 * NEAR_COPY_QUANTILE:.0f}% expected); "
            f"{verdict}")
