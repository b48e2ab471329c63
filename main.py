"""Command line: train, resume, sample, evaluate and compare the GAN and SAGAN of the article."""
import argparse
import contextlib
import math
import os
import sys

from config import (ATTENTION_BLOCKS, ATTENTION_SIDES, DATASETS, LOSSES, MODEL_NAMES, PAPER_RECIPE, PRECISIONS,
                    SN_NETS, TRAIN_STEPS, Folders, ModelConfig, ParallelConfig, TrainConfig)

PHASES = ("train", "sample", "eval", "attention", "compare")
RECIPES = {"article": {}, "paper": PAPER_RECIPE}  # presets of flags; a flag given explicitly wins
MAX_NUM_SAMPLES = 1_000_000  # 784 MB of uint8


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def bounded_int(low, high):
    """argparse type: an integer in [low, high]."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in [{low}, {high}]")
        return value
    return parse


def bounded_float(low, high, low_open=True):
    """argparse type: a finite float in (low, high] (or [low, high] with low_open=False)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            raise argparse.ArgumentTypeError(f"{text} is not in {'(' if low_open else '['}{low}, {high}]")
        return value
    return parse


def query_list(text):
    """argparse type: attention query positions."""
    from attention_maps import parse_queries
    try:
        return parse_queries(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}" if "grid" in str(e) else
                                         f"{text!r} is not 'row,col;row,col'") from None


def side_list(text):
    """argparse type: attention positions, as the sides of the maps, e.g. '7,14'."""
    try:
        sides = tuple(sorted({int(part) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 7,14") from None
    if not set(sides) <= set(ATTENTION_SIDES):
        raise argparse.ArgumentTypeError(f"{text!r}: attention goes on maps of side {ATTENTION_SIDES}")
    return sides


def device_list(text):
    """argparse type: a count of devices, or device names separated by commas."""
    if text.isdigit():
        if not 1 <= int(text) <= 1024:
            raise argparse.ArgumentTypeError(f"{text} is not in [1, 1024]")
        return (str(int(text)),)
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if len(names) < 1 or not all(n.startswith("/") for n in names):
        raise argparse.ArgumentTypeError(f"{text!r} is neither a count nor device names like /gpu:0,/gpu:1")
    return names


def parse_args(argv=None):
    """Parse and check the command line; returns the argparse Namespace, the recipe's presets applied."""
    argv = sys.argv[1:] if argv is None else list(argv)
    model, train, folders = ModelConfig, TrainConfig, Folders
    p = OneLineParser(description="SAGAN and its vanilla GAN baseline, TensorFlow 1 style.",
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    p.add_argument("--gan_type", choices=MODEL_NAMES, help="model to build; required but for --phase compare")
    p.add_argument("--dataset", default=model.dataset, choices=DATASETS, help="dataset")
    p.add_argument("--phase", default="train", choices=PHASES,
                   help="train (resuming from the latest checkpoint); sample, evaluate or draw the attention "
                        "maps of the latest checkpoint; compare the GAN and SAGAN runs of every seed")
    p.add_argument("--epoch", type=bounded_int(1, 100_000), default=train.epoch, help="epochs to train in all")
    p.add_argument("--batch_size", type=bounded_int(1, 70_000), default=model.batch_size, help="batch size")
    p.add_argument("--z_dim", type=bounded_int(1, 10_000), default=model.z_dim, help="dimension of z")
    p.add_argument("--learning_rate", type=bounded_float(0.0, 1.0), default=model.learning_rate,
                   help="D's Adam learning rate")
    p.add_argument("--g_lr_ratio", type=bounded_float(0.0, 1000.0), default=model.g_lr_ratio,
                   help="G's learning rate as a multiple of D's")
    p.add_argument("--beta1", type=bounded_float(0.0, 0.999, low_open=False), default=model.beta1, help="Adam beta1")
    p.add_argument("--lr_d", type=bounded_float(0.0, 1.0), default=model.lr_d,
                   help="D's Adam learning rate, instead of --learning_rate")
    p.add_argument("--lr_g", type=bounded_float(0.0, 1.0), default=model.lr_g,
                   help="G's Adam learning rate, instead of --learning_rate times --g_lr_ratio")
    p.add_argument("--beta2", type=bounded_float(0.0, 0.9999, low_open=False), default=model.beta2, help="Adam beta2")
    p.add_argument("--loss", default=model.loss, choices=LOSSES,
                   help="bce: the framework's sigmoid cross-entropy; hinge: the SAGAN paper's")
    p.add_argument("--sn", dest="spectral_norm", action=argparse.BooleanOptionalAction, default=model.spectral_norm,
                   help="spectral norm on every convolution, transposed convolution and linear layer of G and D")
    p.add_argument("--sn_nets", default=model.sn_nets, choices=SN_NETS,
                   help="with --sn: both nets (the paper's), or d: D alone, G without spectral norm")
    p.add_argument("--attention", default=model.attention, choices=ATTENTION_BLOCKS,
                   help="SAGAN's block: the article's (4x4 convolutions, batch norm, ReLU) or the SAGAN paper's "
                        "(1x1 convolutions, pooled keys, an output convolution)")
    p.add_argument("--attention_at", type=side_list, default=model.attention_at,
                   help="SAGAN's attention positions, as the sides of the maps: 7 (the article's), 14, or 7,14")
    p.add_argument("--recipe", default="article", choices=tuple(RECIPES),
                   help="article: the framework's training; paper: hinge loss, --sn, the paper's block, lr_d 4e-4, "
                        "lr_g 1e-4, beta1 0, beta2 0.9 (flags given explicitly win)")
    p.add_argument("--ema_decay", type=bounded_float(0.0, 0.99999, low_open=False), default=model.ema_decay,
                   help="decay of the moving average of G's weights that every run keeps beside them")
    p.add_argument("--ema_warmup", action=argparse.BooleanOptionalAction, default=model.ema_warmup,
                   help="warm the average up: at G update t its decay is min(--ema_decay, (1 + t) / (10 + t)), as "
                        "in TensorFlow's ExponentialMovingAverage with num_updates")
    p.add_argument("--lr_decay_start", type=bounded_float(0.0, 0.999, low_open=False), default=model.lr_decay_start,
                   help="both learning rates fall linearly to 0 from this fraction of the --epoch steps to the last")
    p.add_argument("--weights", default=train.weights, choices=("raw", "ema"),
                   help="which G the per-epoch grids, the best checkpoint, sample and attention use: its own "
                        "weights or their moving average; eval and compare report both")
    p.add_argument("--train_step", default=model.train_step, choices=TRAIN_STEPS,
                   help="fused: D and G steps in one session.run, G's forward pass shared; literal: the article's "
                        "two session.run calls and ops; the same updates")
    p.add_argument("--precision", default=model.precision, choices=PRECISIONS,
                   help="arithmetic of the nets; bfloat16 is mixed precision, with float32 weights, batch-norm "
                        "statistics and losses; fast only on CPUs with AVX512_BF16 or AMX, and on GPUs")
    p.add_argument("--seed", type=bounded_int(0, 2**31 - 1), default=model.seed,
                   help="seed of weights, data order and z; other than 0 it is added to model_dir")
    p.add_argument("--save_every", type=bounded_int(1, 10**9), default=train.save_every,
                   help="checkpoint every N steps")
    p.add_argument("--log_every", type=bounded_int(1, 10**9), default=train.log_every,
                   help="losses to steps.csv and TensorBoard every N steps")
    p.add_argument("--eval_every", type=bounded_int(0, 100_000), default=train.eval_every,
                   help="FCD and classifier score of 5,000 samples every N epochs while training; 0 turns it off")
    p.add_argument("--stop_after_steps", type=bounded_int(1, 10**9), default=train.stop_after_steps,
                   help="save and stop after N steps of this run; run again to continue")
    p.add_argument("--num_samples", type=bounded_int(1, MAX_NUM_SAMPLES), default=64,
                   help="images written by --phase sample")
    p.add_argument("--num_eval_samples", type=bounded_int(100, MAX_NUM_SAMPLES), default=10_000,
                   help="generated images compared with the test set by --phase eval")
    p.add_argument("--samples", nargs="+", default=None, metavar="FILE",
                   help="with --phase eval: measure the images of these .npz files (from --phase sample, or "
                        "docs/samples/) instead of a checkpoint's; --gan_type is then not needed")
    p.add_argument("--grid", default=None, metavar="PNG",
                   help="with --samples: also draw the first images of each file side by side into this new PNG "
                        "(files of one seed and count share their z, so each position is one z through each model)")
    p.add_argument("--queries", type=query_list, default=None,
                   help="--phase attention: 7x7-grid positions 'row,col;row,col' (default: a spread of five)")
    p.add_argument("--devices", type=device_list, default=ParallelConfig.devices,
                   help="train on N devices of this machine (its GPUs, else N logical CPUs), or on the devices "
                        "named, e.g. /gpu:0,/gpu:1; the batch is split over them")
    p.add_argument("--sync_bn", action=argparse.BooleanOptionalAction, default=ParallelConfig.sync_bn,
                   help="with several devices, batch norm takes the statistics of the whole batch, not each "
                        "device's slice")
    p.add_argument("--cluster", default=None,
                   help="host:port of every machine, the chief first, to train on all of them (or set TF_CONFIG); "
                        "run the same command on each with its --task_index")
    p.add_argument("--task_index", type=bounded_int(0, 10_000), default=0, help="this machine's place in --cluster")
    p.add_argument("--checkpoint_dir", default=folders.checkpoint_dir, help="checkpoints go in <this>/<model_dir>")
    p.add_argument("--result_dir", default=folders.result_dir, help="images and CSV logs go in <this>/<model_dir>")
    p.add_argument("--log_dir", default=folders.log_dir, help="TensorBoard logs go in <this>/<model_dir>")
    p.add_argument("--data_dir", default=folders.data_dir, help="datasets live in <this>/<dataset>")
    args = p.parse_args(argv)
    given = {token.split("=")[0][2:].replace("no-", "") for token in argv if token.startswith("--")}
    for key, value in RECIPES[args.recipe].items():
        if {"spectral_norm": "sn"}.get(key, key) not in given:
            setattr(args, key, value)
    if args.sn_nets != "both" and not args.spectral_norm:
        p.error(f"--sn_nets {args.sn_nets} needs spectral norm on: add --sn or --recipe paper")
    if args.samples and args.phase != "eval":
        p.error(f"--samples goes with --phase eval, not --phase {args.phase}")
    if args.grid and not args.samples:
        p.error("--grid draws samples files: give them with --samples")
    if args.gan_type is None and args.phase != "compare" and not args.samples:
        p.error("the following arguments are required: --gan_type")
    for flag in ("checkpoint_dir", "result_dir", "log_dir", "data_dir"):
        path = getattr(args, flag)
        if os.path.exists(path) and not os.path.isdir(path):
            p.error(f"--{flag} {path} exists and is not a folder")
    return args


def configs(args):
    """(ModelConfig, TrainConfig, Folders) of parsed arguments; compare's model config names GAN."""
    def pick(cls, **changes):
        return cls(**{f: getattr(args, f) for f in cls.__dataclass_fields__ if f not in changes}, **changes)
    return (pick(ModelConfig, gan_type=args.gan_type or MODEL_NAMES[0]), pick(TrainConfig), pick(Folders))


def parallel_config(args, environ=os.environ):
    """The ParallelConfig of --devices, --sync_bn and --cluster/--task_index or TF_CONFIG."""
    import cluster
    tasks, index = (), 0
    if args.cluster:
        tasks, index = cluster.cluster_from_flags(args.cluster, args.task_index)
    elif environ.get("TF_CONFIG"):
        tasks, index = cluster.cluster_from_tf_config(environ["TF_CONFIG"])
    return ParallelConfig(devices=args.devices, sync_bn=args.sync_bn, cluster=tasks, task_index=index)


@contextlib.contextmanager
def sessions(phase, parallel, train_step, log):
    """(session, replicas.Placement): training goes on parallel's devices, the other phases on one."""
    import tfenv
    from replicas import ONE_DEVICE
    if phase == "train":
        import cluster
        with cluster.training_session(parallel, train_step, log) as session_and_placement:
            yield session_and_placement
    else:
        with tfenv.graph_session(train_step) as sess:
            yield sess, ONE_DEVICE


def run_phase(args, log=print):
    """Load what the phase needs, build the model in its own graph and run the phase."""
    import tfenv
    from data import load_splits, train_and_test
    from interrupts import activity

    model_config, train_config, folders = configs(args)
    parallel = parallel_config(args)
    if not parallel.is_chief:
        import cluster
        global _serving
        _serving = True
        with activity(f"serving task {parallel.task_index} of the cluster", "a worker keeps no files"):
            cluster.serve(parallel, model_config.train_step, log)
        return
    if model_config.precision == "bfloat16" and not tfenv.bfloat16_in_hardware():
        print("warning: this CPU has neither AVX512_BF16 nor AMX, so --precision bfloat16 is emulated here and "
              "runs several times slower than float32", file=sys.stderr)
    if args.samples:  # read before the classifier may train: a bad file costs nothing
        from evaluate import read_samples_files
        samples = read_samples_files(args.samples)
        if args.grid:
            from evaluate import draw_same_z
            draw_same_z(samples, args.grid, log)
    tfenv.tensorflow()
    if args.phase == "train":
        import cluster
        cluster.prepare_devices(parallel)  # before the classifier's session starts TensorFlow's runtime
    splits = load_splits(model_config.dataset, folders.data_dir, log) if args.phase != "sample" else None
    images, labels = train_and_test(splits) if splits else (None, None)  # what G learns from
    yardstick = None
    if args.phase in ("eval", "compare") or (args.phase == "train" and train_config.eval_every > 0):
        from classifier import trained_classifier
        from yardstick import Yardstick
        yardstick = Yardstick(trained_classifier(model_config.dataset, folders.checkpoint_dir, images, labels, log),
                              images, labels)
        log(f"the metrics' classifier reads {100 * yardstick.accuracy:.2f}% of the "
            f"{len(yardstick.split['reference']) + len(yardstick.split['floor'])} reference and floor images right")

    if args.samples:
        from evaluate import evaluate_samples_files
        with activity("measuring the samples files", "nothing was written"):
            evaluate_samples_files(samples, yardstick, log)
        return
    if args.phase == "compare":
        from compare import compare
        compare(model_config, folders, yardstick, args.num_eval_samples,
                lambda: tfenv.graph_session(model_config.train_step), log)
        return
    from models import model_class
    images = images if args.phase == "train" else None
    with sessions(args.phase, parallel, model_config.train_step, log) as (sess, placement):
        model = model_class(model_config.gan_type)(sess, model_config, folders, images, placement)
        model.build_model()
        checkpoint = folders.of("checkpoint", model.model_dir)
        if args.phase == "train":
            from evaluate import epoch_evaluator
            evaluate_epoch = epoch_evaluator(yardstick) if yardstick else None
            with activity(f"training {model.model_dir}", f"its newest checkpoint in {checkpoint} is kept"):
                model.train(train_config, log, evaluate_epoch)
        elif args.phase == "sample":
            with activity(f"sampling {model.model_dir}", "no samples were written"):
                model.sample(args.num_samples, args.weights, log)
        elif args.phase == "eval":
            from evaluate import evaluate_checkpoint
            with activity(f"evaluating {model.model_dir}", "no metrics.json was written"):
                evaluate_checkpoint(model, yardstick, args.num_eval_samples, log)
        else:
            from attention_maps import draw_attention
            with activity(f"drawing the attention of {model.model_dir}", "each picture is whole or absent"):
                draw_attention(model, splits["t10k"][0], args.queries, args.weights, log)


def main(argv=None):
    """Run the chosen phase; returns the exit status."""
    from errors import Interrupted, NonFinite, UserError, WorkerLost
    from interrupts import stops_reported

    args = parse_args(argv)
    try:
        with stops_reported():
            run_phase(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # an output folder that is full or not writable
        print(f"error: {e.strerror or e}: {e.filename or ''}; free some space or fix permissions, "
              f"then run again", file=sys.stderr)
        return 2
    except Interrupted as e:
        print(e, flush=True)
        return e.exit_status
    except WorkerLost as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_status
    except NonFinite as e:
        print(f"error: training stopped: {e}; the last finite checkpoint is kept", file=sys.stderr)
        return 1
    return 0


_serving = False  # this process served a cluster's devices


def exit_with(status):
    """sys.exit, or for a cluster's worker os._exit: its TensorFlow server has no shutdown, and threads
    blocked in it can hang or abort the interpreter's exit."""
    if _serving:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    exit_with(main())
