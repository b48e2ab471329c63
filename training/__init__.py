"""How a model learns and what a run keeps: the losses, the step's schedules (schedules), the moving average of G's
weights (ema), the run's random streams (streams), the training loop with its per-epoch outputs (loop), checkpoints,
the samples files (samples), and the run's CSV logs (runlog).

May import common, parallel, extensions and the top-level ops, utils and config; never evaluation or bench.
GAN.py builds its graph from losses, schedules and ema; main hands the built model to loop.train.
"""
