"""What a conditional model is measured by beside the unconditional metrics, on the same yardstick.

- label accuracy: the share of samples the metrics' classifier reads as the digit asked for, beside its
  accuracy on real images it never saw;
- intra-class FCD: each class's samples against that class's reference images, beside the floor of as many
  real images of that class from the floor set, and their means;
- classification accuracy score (Ravuri and Vinyals 2019): a fresh copy of the classifier trained on
  generated images with their labels, tested on the reference, beside the same classifier trained on as many
  real images from outside the reference: whether the samples carry what a class needs, not only its look.
"""
import numpy as np

from config import NUM_CLASSES
from evaluation.metrics import fcd

MIN_CLASS_IMAGES = 2  # below this, a class's FCD is not measured


def label_accuracy(yardstick, images, labels):
    """The share of images the metrics' classifier reads as their label."""
    return float((yardstick.classifier.features_and_probs(images)[1].argmax(1) == labels).mean())


def intra_class_fcd(yardstick, images, labels):
    """{'intra_fcd', 'intra_fcd_floor', 'intra_fcd_multiple', 'intra_fcd_per_class', 'intra_fcd_floor_per_class'}:
    per class, the FCD of its samples against its reference images, and the floor of as many of its floor-set
    images (the mean over up to two disjoint draws); then the means over the classes measured."""
    features, _ = yardstick.classifier.features_and_probs(images)
    split, all_labels = yardstick.split, yardstick.labels
    reference_labels, floor_labels = all_labels[split["reference"]], all_labels[split["floor"]]
    per_class, floors = [], []
    for digit in range(NUM_CLASSES):
        samples = features[labels == digit]
        reference = yardstick.reference_features[reference_labels == digit]
        pool = yardstick.floor_features[floor_labels == digit]
        n = min(len(samples), len(pool))
        if n < MIN_CLASS_IMAGES or len(reference) < MIN_CLASS_IMAGES:
            per_class.append(None)
            floors.append(None)
            continue
        draws = [pool[i * n:(i + 1) * n] for i in range(min(2, len(pool) // n))]
        per_class.append(fcd(reference, samples))
        floors.append(float(np.mean([fcd(reference, draw) for draw in draws])))
    measured = [i for i, value in enumerate(per_class) if value is not None]
    mean = float(np.mean([per_class[i] for i in measured])) if measured else float("nan")
    floor = float(np.mean([floors[i] for i in measured])) if measured else float("nan")
    return {"intra_fcd": mean, "intra_fcd_floor": floor, "intra_fcd_multiple": mean / floor,
            "intra_fcd_per_class": per_class, "intra_fcd_floor_per_class": floors}


def classification_accuracy(train_images, train_labels, test_images, test_labels, dataset="mnist"):
    """Accuracy on the test images of a fresh, unsaved copy of the metrics' classifier trained on the others."""
    from evaluation.classifier import Classifier  # TensorFlow, which the samples files' path starts late
    classifier = Classifier(dataset)
    try:
        classifier.fit(train_images, train_labels)
        return classifier.accuracy(test_images, test_labels)
    finally:
        classifier.sess.close()


def real_classification_accuracy(yardstick):
    """The classification accuracy score's baseline: the classifier trained on real images from outside the
    reference (as many as yardstick.cas_images, where there are), tested on the reference. Computed once per
    yardstick."""
    if yardstick.real_cas is None:
        split, rng = yardstick.split, np.random.default_rng(0)
        outside = np.concatenate([split["classifier"], split["floor"]])
        chosen = rng.choice(outside, min(yardstick.cas_images, len(outside)), replace=False)
        reference = split["reference"]
        yardstick.real_cas = classification_accuracy(yardstick.images[chosen], yardstick.labels[chosen],
                                                      yardstick.images[reference], yardstick.labels[reference])
    return yardstick.real_cas


def measure_conditional(yardstick, images, labels, generate=None):
    """Label accuracy and intra-class FCD of labelled images; with generate(n) -> (images, labels), also the
    classification accuracy score of yardstick.cas_images generated images beside real images'."""
    result = {"label_accuracy": label_accuracy(yardstick, images, labels),
              **intra_class_fcd(yardstick, images, labels)}
    if generate is not None:
        reference = yardstick.split["reference"]
        train_images, train_labels = generate(yardstick.cas_images)
        result["cas"] = classification_accuracy(train_images, train_labels, yardstick.images[reference],
                                                yardstick.labels[reference])
        result["cas_real"] = real_classification_accuracy(yardstick)
    return result
