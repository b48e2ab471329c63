"""Benchmark: training, sampling and evaluation speed of GAN and SAGAN, against the framework's literal step.

    python -m bench            # the full run whose JSON is committed under bench/results/
    python -m bench --quick    # a smoke test of every measurement; its timings mean nothing

The configurations are timed in alternating blocks in one process, so a noisy, shared machine
slows them alike; read the ratios, not the absolute rates. The overhead of a real epoch and the
peak memory come from one child process per model, running train() as main.py does.
"""
import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench.tables import format_markdown, format_table
from bench.steps import CONFIGS, build, build_all, time_sn_cost, time_training
from config import MODEL_NAMES, ModelConfig
from common.tfenv import FLAGS_OF_INTEREST, bfloat16_in_hardware, cpu_flags
from training import samples, streams

TRAINING_TABLE, RECIPE_TABLE = ("literal", "default", "bfloat16"), ("sn", "paper")
QUICK_EPOCH_EVAL_SAMPLES = 64  # --quick's per-epoch FCD; the full run measures the trainer's own
SAMPLER_BATCH = 8  # --batch_size of a model that only samples; sampling runs 1,000 images per session.run
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # of the repository: the children import from it
EPOCH_CHILD = [sys.executable, "-m", "bench"]  # the command of the real-epoch child process
SCALING_CHILD = [sys.executable, "-m", "bench.scaling"]


@functools.lru_cache(maxsize=None)
def forward_macs(model_name, z_dim):
    """Multiply-adds per image of each net's forward pass, matmuls and convolutions only, counted on the nets as
    the model builds them: {'G', 'D', and each layer by its scope, e.g. 'g_fc1', 'd_conv1'}."""
    import tensorflow as tf
    from config import model_class
    tf1 = tf.compat.v1
    with tf.Graph().as_default() as graph:
        model = model_class(model_name)(ModelConfig(gan_type=model_name, z_dim=z_dim))
        model.generator(tf1.placeholder(tf.float32, [1, z_dim]), is_training=False)  # one image: static shapes
        model.discriminator(tf1.placeholder(tf.float32, [1, 28, 28, 1]), is_training=False)
        macs = {"G": 0, "D": 0}  # and each layer's
        for op in graph.get_operations():
            count = op_macs(op)
            if count:
                net, layer = op.name.split("/")[:2]
                macs["G" if net == "generator" else "D"] += count
                macs[layer] = macs.get(layer, 0) + count
    return macs


def op_macs(op):
    """Multiply-adds of one image through op (its batch is 1), if it is a matmul or a convolution; else 0."""
    def shape(tensor):
        return tensor.shape.as_list()
    if op.type == "MatMul":  # [1, k] x [k, n]
        return int(np.prod(shape(op.inputs[1])))
    if op.type == "BatchMatMulV2":  # [1, n, k] x [1, k, m] (or its transpose): n * k * m
        a, out = shape(op.inputs[0]), shape(op.outputs[0])
        inner = a[1] if op.get_attr("adj_x") else a[2]
        return int(np.prod(out[1:])) * inner
    if op.type == "Conv2D":  # each output position: the kernel [kh, kw, in, out]
        return int(np.prod(shape(op.outputs[0])[1:3])) * int(np.prod(shape(op.inputs[1])))
    if op.type == "Conv2DBackpropInput":  # a transposed convolution: each input position, the kernel
        return int(np.prod(shape(op.inputs[2])[1:3])) * int(np.prod(shape(op.inputs[1])))
    return 0


def flops_per_image(model_name, z_dim, train_step):
    """Floating-point operations per trained image of one D step and one G step (2 per multiply-add).

    A backward pass costs a forward pass for the weight gradients and another for the input
    gradients, except where no gradient is needed: the images' and z's, and D's weights in the G step.
    D step: G, D(real), D(fake), both backwards into D's weights. G step: G (again, in the literal
    step), D(fake), its input gradients, G's backward.
    """
    m = forward_macs(model_name, z_dim)
    g, d = m["G"], m["D"]
    d_step = g + 2 * d + 2 * (2 * d - m["d_conv1"])
    g_step = (g if train_step == "literal" else 0) + d + d + (2 * g - m["g_fc1"])
    return 2 * (d_step + g_step)


def matmul_peak(dtype_name, size, seconds):
    """The best GFLOP/s of square matmuls of the given dtype, eight per session.run."""
    import tensorflow as tf
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as sess:
        rng = np.random.default_rng(0)
        a = [tf1.get_variable(f"a{i}", initializer=rng.normal(size=(size, size)).astype(np.float32))
             for i in range(8)]
        b = tf1.get_variable("b", initializer=rng.normal(size=(size, size)).astype(np.float32))
        dtype = tf.dtypes.as_dtype(dtype_name)
        # Each product is reduced and fetched: grappler prunes ops whose results nothing reads.
        products = tf.add_n([tf.reduce_sum(tf.cast(tf.matmul(tf.cast(x, dtype), tf.cast(b, dtype)), tf.float32))
                             for x in a])
        sess.run(tf1.global_variables_initializer())
        sess.run(products)
        best, deadline = 0.0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            sess.run(products)
            best = max(best, 8 * 2 * size ** 3 / (time.perf_counter() - started) / 1e9)
    return best


def time_sampling(model_name, num_samples):
    """Images per second of the default configuration's sampler, 1,000 per session.run."""
    model = build(model_name, "default", SAMPLER_BATCH, sampler=True)
    samples.draw(model, min(num_samples, 1000))  # warm-up
    started = time.perf_counter()
    samples.draw(model, num_samples)
    rate = num_samples / (time.perf_counter() - started)
    model.sess.close()
    return rate


def time_evaluation(model_name, num_samples, yardstick):
    """Seconds to evaluate num_samples generated images: sampling, features and every metric."""
    from evaluation.evaluate import evaluate
    model = build(model_name, "default", SAMPLER_BATCH, sampler=True)
    started = time.perf_counter()
    evaluate(model, yardstick, num_samples)
    seconds = time.perf_counter() - started
    model.sess.close()
    return seconds


def measure_epoch(model_name, batch_size, data_dir, checkpoint_dir, workdir, bare_steps, epoch_images):
    """In this (child) process: one real epoch of train(), every overhead on, then bare steps; JSON on stdout.

    The overhead is the epoch's time over num_batches bare steps of the same session, minus one.
    """
    from evaluation.classifier import trained_classifier
    from config import Folders, TrainConfig
    from common.data import load_splits, train_and_test
    from evaluation.evaluate import epoch_evaluator
    from evaluation.yardstick import Yardstick
    from training import loop as trainer
    all_images, all_labels = train_and_test(load_splits("mnist", data_dir))
    yardstick = Yardstick(trained_classifier("mnist", checkpoint_dir, all_images, all_labels), all_images, all_labels)
    images = all_images[:epoch_images]  # the 70,000 the training uses, unless --quick
    folders = Folders(**{f"{kind}_dir": os.path.join(workdir, kind) for kind in ("checkpoint", "result", "log")})
    model = build(model_name, "default", batch_size, images)
    quick = [QUICK_EPOCH_EVAL_SAMPLES] if epoch_images else []  # --quick trains on a few images
    evaluate_epoch = epoch_evaluator(yardstick, *quick)
    batch = model.images[:model.config.batch_size].astype(np.float32) / 255.0
    model.run_train_step(batch, streams.batch_z(model.config, 0))  # TF optimises the graph on the first run
    started = time.perf_counter()
    with model.sess.graph.as_default():
        trainer.train(model, folders, TrainConfig(epoch=1), lambda message: print(message, file=sys.stderr),
                      evaluate_epoch)
    epoch_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for step in range(bare_steps):
        model.run_train_step(batch, streams.batch_z(model.config, step))
    step_seconds = (time.perf_counter() - started) / bare_steps
    print(json.dumps({"epoch_seconds": epoch_seconds, "num_batches": model.num_batches,
                      "bare_step_seconds": step_seconds,
                      "overhead": epoch_seconds / (model.num_batches * step_seconds) - 1,
                      "peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb():
    """This process's peak resident memory since exec (VmHWM; a child's ru_maxrss counts its parent's pages)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024  # kB


def run_epoch_child(model_name, batch_size, data_dir, checkpoint_dir, bare_steps, epoch_images):
    """measure_epoch in a child process, which also reports its peak resident memory in MB."""
    with tempfile.TemporaryDirectory() as workdir:
        command = EPOCH_CHILD + ["--child_epoch", model_name, "--batch_size", str(batch_size), "--data_dir", data_dir,
                                 "--checkpoint_dir", checkpoint_dir, "--workdir", workdir,
                                 "--bare_steps", str(bare_steps)]
        command += ["--epoch_images", str(epoch_images)] if epoch_images else []
        return run_child(command)


def run_child(command):
    """The JSON line a child measurement prints; a clear error if it fails."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    child = subprocess.run(command, capture_output=True, text=True, env=env)
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"the child {' '.join(command[1:3])} failed with status {child.returncode}: {last}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def machine():
    """What the numbers were measured on, with the CPU flags that decide them."""
    import tensorflow as tf
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    flags = cpu_flags()
    return {"cpu": model, "cpu_flags": [flag for flag in FLAGS_OF_INTEREST if flag in flags],
            "bfloat16_in_hardware": bfloat16_in_hardware(flags),
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
            "cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": tf.__version__, "gpu": bool(tf.config.list_physical_devices("GPU")),
            "load_average_at_start": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def parse_args(argv=None):
    """The benchmark's command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a smoke test: tiny sizes, meaningless timings")
    p.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    p.add_argument("--data_dir", default="data", help="MNIST lives in <this>/mnist (fetched if missing)")
    p.add_argument("--checkpoint_dir", default="checkpoint", help="where the metrics' classifier is kept")
    p.add_argument("--output", default=None, help="JSON file (default bench/results/<date>[_quick].json)")
    p.add_argument("--no_epoch", action="store_true", help="skip the real epoch (overheads and memory)")
    p.add_argument("--no_scaling", action="store_true", help="skip 1 device against 2 towers")
    p.add_argument("--rounds", type=int, default=None, help="rounds of alternating training blocks (default 7)")
    p.add_argument("--markdown", metavar="JSON", help="print a committed result as README's tables, and stop")
    p.add_argument("--child_epoch", choices=MODEL_NAMES, help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    p.add_argument("--bare_steps", type=int, default=200, help=argparse.SUPPRESS)
    p.add_argument("--batch_size", type=int, default=64, help=argparse.SUPPRESS)
    p.add_argument("--epoch_images", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        p.error(f"--rounds must be at least 1, not {args.rounds}")
    return args


def main(argv=None):
    """Run the benchmark; returns the report."""
    args = parse_args(argv)
    if args.markdown:
        with open(args.markdown) as f:
            print(format_markdown(json.load(f)))
        return None
    from common import tfenv
    tfenv.tensorflow()
    if args.child_epoch:
        measure_epoch(args.child_epoch, args.batch_size, args.data_dir, args.checkpoint_dir, args.workdir,
                      args.bare_steps, args.epoch_images)
        return None
    from evaluation.classifier import trained_classifier
    from common.data import load_splits

    quick_scaling = ["--batch_size", "8", "--steps", "3", "--rounds", "2", "--warmup", "1"]
    settings = dict(batch_size=8, steps=3, rounds=2, warmup=1, matmul_size=256, matmul_seconds=0.5,
                    sn_iterations=3, sample_count=64, eval_samples=64, bare_steps=3, epoch_images=256,
                    scaling=quick_scaling) if args.quick else \
        dict(batch_size=64, steps=40, rounds=7, warmup=10, matmul_size=2048, matmul_seconds=10,
             sn_iterations=200, sample_count=10_000, eval_samples=10_000, bare_steps=200, epoch_images=None, scaling=[])
    if args.rounds:
        settings["rounds"] = args.rounds
    report = {"machine": machine(), "settings": settings, "quick": args.quick, "models": {}}
    print(f"bench on {report['machine']['cpu']} ({report['machine']['cores']} cores)", flush=True)
    peaks = {dtype: matmul_peak(dtype, settings["matmul_size"], settings["matmul_seconds"])
             for dtype in ("float32", "bfloat16")}
    report["matmul_peak_gflops"] = peaks
    from common.data import train_and_test
    from evaluation.yardstick import Yardstick
    images, labels = train_and_test(load_splits("mnist", args.data_dir))
    yardstick = Yardstick(trained_classifier("mnist", args.checkpoint_dir, images, labels), images, labels)
    for model_name in args.models:
        print(f"{model_name}: training steps", flush=True)
        models = build_all(model_name, settings["batch_size"])  # each configuration's graph, built once
        medians, blocks, ema_seconds = time_training(models, settings["steps"], settings["rounds"], settings["warmup"])
        training = {}
        for config in TRAINING_TABLE:
            rate, model_config = medians[config], ModelConfig(model_name, **CONFIGS[config])
            flops = flops_per_image(model_name, 62, model_config.train_step)
            gflops = rate * flops / 1e9
            training[config] = {"train_step": model_config.train_step, "precision": model_config.precision,
                                "images_per_second": rate, "speedup": rate / medians["literal"],
                                "block_images_per_second": blocks[config], "flops_per_image": flops,
                                "gflops": gflops, "share_of_fp32_peak": gflops / peaks["float32"],
                                "share_of_bf16_peak": gflops / peaks["bfloat16"]}
        step_seconds = settings["batch_size"] / medians["default"]
        recipe = {config: {"images_per_second": medians[config], "of_default": medians[config] / medians["default"],
                           "block_images_per_second": blocks[config]} for config in RECIPE_TABLE}
        recipe["average_update"] = {"seconds": ema_seconds, "share_of_default_step": ema_seconds / step_seconds}
        # The averaged G's update runs inside every step, so it is timed alone. Spectral norm's cost is
        # timed step against step: blocks of 40 steps drift apart by more than the 10% at stake.
        print(f"{model_name}: spectral norm, step against step", flush=True)
        sn_cost = time_sn_cost(models, settings["sn_iterations"])
        for model in models.values():
            model.sess.close()
        average_share = ema_seconds / step_seconds
        recipe["sn_step_slowdown"] = sn_cost
        recipe["sn_and_average_share"] = sn_cost["median"] + average_share
        recipe["sn_and_average_interval90"] = [bound + average_share for bound in sn_cost["interval90"]]
        result = {"training": training, "recipe": recipe}
        print(f"{model_name}: sampling and evaluation", flush=True)
        result["sampling_images_per_second"] = time_sampling(model_name, settings["sample_count"])
        result["evaluation_seconds"] = time_evaluation(model_name, settings["eval_samples"], yardstick)
        if not args.no_epoch:
            print(f"{model_name}: one real epoch in a child process", flush=True)
            result["epoch"] = run_epoch_child(model_name, settings["batch_size"], args.data_dir, args.checkpoint_dir,
                                              settings["bare_steps"], settings["epoch_images"])
        if not args.no_scaling:
            print(f"{model_name}: 1 device against 2 towers, in a child process", flush=True)
            result["scaling"] = run_child(SCALING_CHILD + [model_name, *settings["scaling"]])
        report["models"][model_name] = result
    print(format_table(report))
    output = args.output or os.path.join("bench", "results",
                                         time.strftime("%Y-%m-%d") + ("_quick" if args.quick else "") + ".json")
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
    with open(output, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {output}")
    return report


if __name__ == "__main__":
    main()
