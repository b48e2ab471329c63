"""The yardstick on known corruptions of real images: what a difference of 1 FCD, or of 0.1 of a multiple, means.

    python -m evaluation.calibrate [--data_dir data] [--checkpoint_dir checkpoint]

Every row is measured as --phase eval measures samples: against the reference, beside the floor of as many
real images. The corruptions are of the floor set's first 10,000 images, whose clean row is one of the two
draws the floor of 10,000 averages. "near copies" counts images nearer to another image of the dataset than
99% of the floor set's images are: real images of the dataset are found in it, at distance 0, and so are
flagged, as copies of training images would be. Prints a markdown table (docs/metrics.md has one).
"""
import argparse

import numpy as np
import scipy.ndimage

from common import tfenv

SEED = 1
COUNT = 10_000  # images of each row but the one missing a class
REMOVED_CLASS = 1
REPLACED_CLASS, REPLACEMENT_CLASS = 3, 8


def noisy(images, sigma, rng):
    """Gaussian pixel noise of std sigma (pixels in [0, 1]), clipped."""
    return np.clip(images / 255 + rng.normal(0, sigma, images.shape), 0, 1) * 255


def corruptions(yardstick, labels, rng):
    """[(name, uint8 images)]: the floor set clean, corrupted, and other real images for comparison."""
    split, images = yardstick.split, yardstick.images
    first = split["floor"][:COUNT]  # the floor set's first draw
    floor, floor_labels = images[first], labels[first]
    outside_reference = np.concatenate([split["classifier"], split["floor"]])
    rows = [("the floor set's first 10,000, clean", floor),
            ("10,000 random of the 70,000 outside the reference", images[rng.choice(outside_reference, COUNT,
                                                                                     replace=False)]),
            ("10,000 random of all 70,000 (about 1,400 of them in the reference)",
             images[rng.choice(len(images), COUNT, replace=False)]),
            ("10,000 of the classifier's own training images", images[rng.choice(split["classifier"], COUNT,
                                                                                  replace=False)])]
    for sigma in (0.02, 0.05, 0.1, 0.2):
        rows.append((f"Gaussian noise, σ = {sigma}", noisy(floor, sigma, rng)))
    for sigma in (0.5, 1.0):
        rows.append((f"Gaussian blur, σ = {sigma} px", scipy.ndimage.gaussian_filter(floor, (0, sigma, sigma, 0))))
    shifted = np.zeros_like(floor)
    shifted[:, :, 2:] = floor[:, :, :-2]
    rows.append(("shifted 2 px right", shifted))
    kept = floor[floor_labels != REMOVED_CLASS]
    rows.append((f"digit {REMOVED_CLASS} removed ({len(kept):,} images)", kept))
    replaced = floor.copy()
    targets = np.flatnonzero(floor_labels == REPLACED_CLASS)
    targets = targets[:len(targets) // 2]
    donors = split["classifier"][labels[split["classifier"]] == REPLACEMENT_CLASS]
    replaced[targets] = images[rng.choice(donors, len(targets), replace=False)]
    rows.append((f"half the {REPLACED_CLASS}s replaced by {REPLACEMENT_CLASS}s", replaced))
    return [(name, np.clip(np.rint(x), 0, 255).astype(np.uint8)) for name, x in rows]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data_dir", default="data")
    p.add_argument("--checkpoint_dir", default="checkpoint", help="where the metrics' classifier is kept")
    p.add_argument("--dataset", default="mnist")
    args = p.parse_args(argv)
    tfenv.tensorflow()
    from evaluation.classifier import trained_classifier
    from common.data import load_splits, train_and_test
    from evaluation.yardstick import Yardstick
    images, labels = train_and_test(load_splits(args.dataset, args.data_dir))
    yardstick = Yardstick(trained_classifier(args.dataset, args.checkpoint_dir, images, labels), images, labels)
    print(f"| {args.dataset}: images against the reference | FCD ± spread | × floor | KID | precision | recall | "
          "classifier score | near copies |")
    print("|---|---|---|---|---|---|---|---|")
    for name, corrupted in corruptions(yardstick, labels, np.random.default_rng(SEED)):
        m = yardstick.measure(corrupted)
        print(f"| {name} | {m['fcd']:.2f} ± {m['fcd_spread']:.2f} | {m['fcd_multiple']:.2f} | {m['kid']:.3f} | "
              f"{m['precision']:.3f} | {m['recall']:.3f} | {m['classifier_score']:.2f} | "
              f"{100 * m['memorisation']['near_copies']:.1f}% |", flush=True)
    print(f"\nclassifier accuracy on the reference and floor sets: {100 * yardstick.accuracy:.2f}%; floor of 10,000: "
          f"FCD {yardstick.floor_fcd(10_000):.3f}; CPU: {tfenv.describe_cpu()}")


if __name__ == "__main__":
    main()
