"""A run's random streams, every number of them written here: each draw comes from numpy's Generator seeded with
[seed, stream, ...], so it is the same for a given seed whether or not the run resumed, and no two streams overlap.
"""
import numpy as np

from config import NUM_CLASSES

SHUFFLE, Z, FIXED_Z, STANDING, LABELS, D_STEPS = 1, 2, 3, 4, 5, 6  # the streams
GRID_SIZE = 64  # the per-epoch grid's images, 8x8


def _uniform_z(config, seed_sequence, count):
    """[count, z_dim] float32 of U(-1, 1) from the stream seed_sequence names."""
    rng = np.random.default_rng(seed_sequence)
    return rng.uniform(-1, 1, (count, config.z_dim)).astype(np.float32)


def batch_z(config, step):
    """The z of a training step [batch_size, z_dim]."""
    return _uniform_z(config, [config.seed, Z, step], config.batch_size)


def batch_labels(config, step):
    """The labels a conditional G draws at a training step [batch_size], uniform over the classes."""
    rng = np.random.default_rng([config.seed, LABELS, step])
    return rng.integers(0, NUM_CLASSES, config.batch_size).astype(np.int32)


def d_step_inputs(config, step, extra):
    """(z [batch_size, z_dim], labels [batch_size]) of the extra-th of --d_steps' D updates before training step's
    own: G's images for D to judge, drawn apart from the step's own z and labels."""
    rng = np.random.default_rng([config.seed, D_STEPS, step, extra])
    z = rng.uniform(-1, 1, (config.batch_size, config.z_dim)).astype(np.float32)
    return z, rng.integers(0, NUM_CLASSES, config.batch_size).astype(np.int32)


def epoch_order(config, count, epoch):
    """The order of an epoch's count images, reshuffled each epoch."""
    return np.random.default_rng([config.seed, SHUFFLE, epoch]).permutation(count)


def fixed_z(config):
    """The z of the per-epoch grids: identical across epochs, and across GAN and SAGAN at one seed."""
    return _uniform_z(config, [config.seed, FIXED_Z], GRID_SIZE)


def grid_inputs(config):
    """(z, labels, columns) of the per-epoch grid: 8x8 from the fixed z; for a conditional model one row per class,
    each column one fixed z through every class."""
    z = fixed_z(config)
    if not config.conditional:
        return z, None, None
    return (np.tile(z[:NUM_CLASSES], (NUM_CLASSES, 1)), np.repeat(np.arange(NUM_CLASSES, dtype=np.int32), NUM_CLASSES),
            NUM_CLASSES)


def sample_z(config, num_samples):
    """The z of --phase sample, eval, attention and compare: the same for GAN and SAGAN at one seed."""
    return _uniform_z(config, [config.seed, FIXED_Z, num_samples], num_samples)


def sample_labels(config, num_samples, digit=None):
    """The labels of num_samples conditional samples: digit for each, or the ten classes in turn; None for an
    unconditional model."""
    if not config.conditional:
        return None
    if digit is not None:
        return np.full(num_samples, digit, np.int32)
    return (np.arange(num_samples) % NUM_CLASSES).astype(np.int32)


def standing_z(config):
    """The batches of z the averaged G's standing statistics are taken on [standing_batches, batch_size, z_dim]."""
    rng = np.random.default_rng([config.seed, STANDING])
    return rng.uniform(-1, 1, (config.standing_batches, config.batch_size, config.z_dim)).astype(np.float32)
