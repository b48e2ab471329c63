"""bench's scaling child: training speed on 1 device against 2 towers on 2 logical CPU devices.

Logical devices must exist before TensorFlow's runtime starts, hence a process of its own; it prints
one JSON line. Two logical CPU devices share this machine's cores, so 2 towers cannot be faster
here: the table shows what replication costs, not what it gains on 2 GPUs.
"""
import argparse
import json
import time

import numpy as np

from common import tfenv
from config import ModelConfig, ParallelConfig
from training import streams

PLACEMENTS = ("one device", "2 towers", "2 towers, --sync_bn")
DEVICES = ("/device:CPU:0", "/device:CPU:1")


def build(model_name, batch_size, placement_name):
    """A default model on the placement, in its own graph and session, variables initialised."""
    from parallel import cluster
    from training.runner import build as build_model
    from parallel.replicas import ONE_DEVICE, Placement
    tf = tfenv.tensorflow()
    placement = {"one device": ONE_DEVICE, "2 towers": Placement(DEVICES, DEVICES[0], False),
                 "2 towers, --sync_bn": Placement(DEVICES, DEVICES[0], True)}[placement_name]
    graph = tf.Graph()
    with graph.as_default():
        sess = tf.compat.v1.Session(config=cluster.session_config(ParallelConfig(devices=("2",)), tf))
        model = build_model(ModelConfig(gan_type=model_name, batch_size=batch_size), sess, placement=placement)
        model.initialize()
    return model


def time_gradient_sum(model, rounds):
    """Seconds to add, on the first device, a gradient of every trainable variable held on the second: the
    all-reduce that in-graph replication does once a step. On logical CPU devices the copy is a memory read."""
    tf = tfenv.tensorflow()
    tf1 = tf.compat.v1
    with model.sess.graph.as_default():
        pairs = []
        for i, v in enumerate(model.model.d_vars + model.model.g_vars):
            with tf.device(DEVICES[1]):
                remote = tf1.Variable(tf.ones(v.shape), trainable=False, name=f"bench_remote_{i}")
            with tf.device(DEVICES[0]):
                local = tf1.Variable(tf.ones(v.shape), trainable=False, name=f"bench_local_{i}")
            pairs.append((remote, local))
        with tf.device(DEVICES[0]):
            summed = tf.add_n([tf.reduce_sum(tf.add_n([r.read_value(), l.read_value()])) for r, l in pairs])
            alone = tf.add_n([tf.reduce_sum(l.read_value()) for _, l in pairs])
        model.sess.run(tf1.variables_initializer([v for pair in pairs for v in pair]))
    times = {"summed": [], "alone": []}
    model.sess.run([summed, alone])
    for _ in range(rounds):
        for key, fetch in (("summed", summed), ("alone", alone)):
            started = time.perf_counter()
            for _ in range(10):
                model.sess.run(fetch)
            times[key].append((time.perf_counter() - started) / 10)
    return max(0.0, float(np.median(times["summed"]) - np.median(times["alone"])))


def measure(model_name, batch_size, steps, rounds, warmup):
    """{placement: images per second (median of alternating blocks)}, and the gradient sum's seconds."""
    cluster_config = ParallelConfig(devices=("2",))
    from parallel import cluster
    cluster.prepare_devices(cluster_config)
    rng = np.random.default_rng(0)
    data = rng.random((steps, batch_size, 28, 28, 1), dtype=np.float32)
    models = {name: build(model_name, batch_size, name) for name in PLACEMENTS}
    for model in models.values():
        for step in range(warmup):
            model.run_train_step(data[step % steps], streams.batch_z(model.config, step))
    rates = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            started = time.perf_counter()
            for step in range(steps):
                model.run_train_step(data[step], streams.batch_z(model.config, step))
            rates[name].append(steps * batch_size / (time.perf_counter() - started))
    gradient_seconds = time_gradient_sum(models["2 towers"], rounds)
    medians = {name: float(np.median(r)) for name, r in rates.items()}
    return {"images_per_second": medians, "of_one_device": {n: r / medians["one device"] for n, r in medians.items()},
            "block_images_per_second": rates, "gradient_sum_seconds": gradient_seconds,
            "gradient_sum_share_of_2_tower_step": gradient_seconds / (batch_size / medians["2 towers"])}


def main(argv=None):
    """Print the measurement as one JSON line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model_name")
    for flag, default in (("--batch_size", 64), ("--steps", 40), ("--rounds", 5), ("--warmup", 10)):
        p.add_argument(flag, type=int, default=default)
    args = p.parse_args(argv)
    tfenv.tensorflow()
    print(json.dumps(measure(args.model_name, args.batch_size, args.steps, args.rounds, args.warmup)))


if __name__ == "__main__":
    main()
