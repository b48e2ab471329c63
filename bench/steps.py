"""bench's timing of training steps: configurations in alternating blocks, spectral norm's cost step
against step, and the averaged G's update alone. Timings are ratios within one run, never verdicts."""
import time

import numpy as np

from config import PAPER_RECIPE, ModelConfig
from training import streams

CONFIGS = {  # name: the ModelConfig fields it changes, in the order the blocks run (default next to sn)
    "literal": dict(train_step="literal"),
    "bfloat16": dict(precision="bfloat16"),
    "default": {},
    "sn": dict(spectral_norm=True),  # the default with spectral norm on every layer
    "paper": PAPER_RECIPE,  # --recipe paper
}
SN_BATCHES = 8  # distinct synthetic batches that the step-against-step timing cycles through
BOOTSTRAP_DRAWS = 2000  # resamples for the interval of spectral norm's median slowdown


def build(model_name, config, batch_size, images=None, sampler=False):
    """A model of the configuration in its own graph and session, variables initialised; with sampler, only what
    sampling and measuring run (GAN.build_sampler), as --phase sample and eval build it."""
    import tensorflow as tf
    from common import tfenv
    from training.runner import build as build_model
    model_config = ModelConfig(gan_type=model_name, batch_size=batch_size, **CONFIGS[config])
    graph = tf.Graph()
    with graph.as_default():
        sess = tf.compat.v1.Session(config=tfenv.session_config())
        model = build_model(model_config, sess, images, sampler=sampler)
        model.initialize()
    return model


def build_all(model_name, batch_size):
    """{configuration: model} of every configuration in CONFIGS, each in its own graph and session."""
    return {config: build(model_name, config, batch_size) for config in CONFIGS}


def time_training(models, steps, rounds, warmup):
    """Images per second of each configuration's model, timed in alternating blocks of steps; the median block."""
    batch_size = models["default"].config.batch_size
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (batch_size * steps, 28, 28, 1), dtype=np.uint8)

    def block(model, count):
        # As the training loop does: gather, scale, draw z, step.
        for step in range(count):
            batch = data[step % steps * batch_size:(step % steps + 1) * batch_size].astype(np.float32) / 255.0
            model.run_train_step(batch, streams.batch_z(model.config, step))

    for model in models.values():
        block(model, warmup)
    rates = {config: [] for config in models}
    for round_index in range(rounds):
        # Every other round runs backwards, so a machine drifting during a round favours no configuration.
        order = list(models) if round_index % 2 == 0 else list(models)[::-1]
        for config in order:
            started = time.perf_counter()
            block(models[config], steps)
            rates[config].append(steps * batch_size / (time.perf_counter() - started))
    ema_seconds = time_average_update(models["default"], rounds)
    return {config: float(np.median(r)) for config, r in rates.items()}, rates, ema_seconds


def time_sn_cost(models, iterations):
    """Spectral norm's slowdown of a step, from default and --sn steps run in alternation.

    Each iteration runs two steps of each configuration and times the second, so both see the machine
    of the same second and a warm cache of their own; the order swaps every iteration. Returns the
    median of the per-iteration slowdowns (sn time / default time − 1), its 90% bootstrap interval, and
    the two configurations' median step times.
    """
    batch_size = models["default"].config.batch_size
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (batch_size * SN_BATCHES, 28, 28, 1), dtype=np.uint8).astype(np.float32) / 255.0
    models = {config: models[config] for config in ("default", "sn")}
    seconds = {config: [] for config in models}

    def step(model, index):
        batch = index % SN_BATCHES
        model.run_train_step(data[batch * batch_size:(batch + 1) * batch_size], streams.batch_z(model.config, index))

    for model in models.values():
        for index in range(3):
            step(model, index)
    for iteration in range(iterations):
        for config in (("default", "sn") if iteration % 2 == 0 else ("sn", "default")):
            step(models[config], iteration)
            started = time.perf_counter()
            step(models[config], iteration + 1)
            seconds[config].append(time.perf_counter() - started)
    slowdowns = np.array(seconds["sn"]) / np.array(seconds["default"]) - 1
    medians = [np.median(rng.choice(slowdowns, len(slowdowns))) for _ in range(BOOTSTRAP_DRAWS)]
    return {"median": float(np.median(slowdowns)), "interval90": [float(np.percentile(medians, 5)),
                                                                  float(np.percentile(medians, 95))],
            "iterations": iterations, "step_ms": {config: 1000 * float(np.median(s)) for config, s in seconds.items()}}


def time_average_update(model, rounds):
    """Seconds of the averaged G's update alone (it runs inside every step), median of rounds of 20 runs."""
    with model.sess.graph.as_default():
        update = tf_group(model.model.averaged.build_update(model.model.g_vars))
    model.sess.run(update)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(20):
            model.sess.run(update)
        times.append((time.perf_counter() - started) / 20)
    return float(np.median(times))


def tf_group(ops):
    """tf.group, imported late: the module loads without TensorFlow."""
    import tensorflow as tf
    return tf.group(*ops)
