"""The sizes of the tests' tiny runs, as main.py's own flags: in-process calls and child processes read the same."""

# The averaged G's standing statistics over 8 batches, the per-epoch FCD of 64 images, the classification
# accuracy score's classifiers on 40: each use of them would otherwise cost more than the tiny run itself.
SIZE_FLAGS = {"standing_batches": 8, "epoch_eval_samples": 64, "cas_images": 40}
# A run_main() of the tests: 6 batches of 8 per epoch of the tiny dataset, two epochs, no per-epoch FCD.
RUN_FLAGS = {"batch_size": 8, "log_every": 2, "epoch": 2, "eval_every": 0, **SIZE_FLAGS}


def size_argv():
    """SIZE_FLAGS as command-line arguments; a flag given after them wins."""
    return [f"--{name}={value}" for name, value in SIZE_FLAGS.items()]
