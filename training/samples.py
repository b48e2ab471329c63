"""The samples a trained G draws for --phase sample, eval and bench: from the run's sample streams, and written to
samples.npz and samples.png (samples_ema.* for the averaged G)."""
import os

import numpy as np

import config as run_config
from common.interrupts import replaced_atomically
from training import streams
from utils import save_grid, save_samples


def draw(runner, num_samples, weights="raw", digit=None):
    """num_samples images of model's G ('raw') or averaged G ('ema') as uint8 [N, 28, 28, 1], from sample_z; a
    conditional model draws digit, or the ten classes equally."""
    return runner.generate_from(streams.sample_z(runner.config, num_samples), weights,
                               streams.sample_labels(runner.config, num_samples, digit))


def write(runner, folders, num_samples, weights="raw", log=print, digit=None):
    """Restore the latest checkpoint and write samples.npz and samples.png (samples_<weights>.* for an average: samples_ema, samples_ema_sigma0.1) into the run's
    results folder; a conditional model's file also holds the labels it drew, and its grid has one row per digit."""
    from training import checkpoints  # TensorFlow's, imported once a model is built: eval --samples never needs it
    step = checkpoints.of_run(runner, folders).restore_trained(log)
    images = draw(runner, num_samples, weights, digit)
    result_dir = folders.made("result", runner.model_dir)
    stem = ("samples" if weights == "raw" else "samples_" + weights) + ("" if digit is None else f"_digit{digit}")
    path = os.path.join(result_dir, stem + ".npz")
    labels = streams.sample_labels(runner.config, num_samples, digit)
    arrays = {} if labels is None else {"labels": labels}
    with replaced_atomically(path) as tmp:
        save_samples(images, tmp, model_dir=runner.model_dir, step=step, weights=weights, seed=runner.config.seed,
                     **arrays)
    per_class = min(run_config.NUM_CLASSES, num_samples // run_config.NUM_CLASSES)
    if labels is not None and digit is None and per_class:  # one row per digit, as the per-epoch grid
        order = [i for d in range(run_config.NUM_CLASSES) for i in np.flatnonzero(labels == d)[:per_class]]
        save_grid(images[order], os.path.join(result_dir, stem + ".png"), columns=per_class)
    else:
        save_grid(images[:streams.GRID_SIZE], os.path.join(result_dir, stem + ".png"))
    log(f"wrote {num_samples} samples to {path}")
    return images
