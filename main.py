"""Command line: train, resume, sample, evaluate and compare the GAN and SAGAN of the article."""
import argparse
import dataclasses
import math
import os
import sys

from config import (MAX_EMA_WIDTH, MAX_IMAGES, MODEL_NAMES, PAPER_RECIPE, RETIRED_FLAGS, WEIGHTS, WIDTH_WEIGHTS,
                    EvalConfig, Folders, ModelConfig, ParallelConfig, TrainConfig, weights_width)

PHASES = ("train", "sample", "eval", "attention", "compare", "export")
RECIPES = {"article": {}, "paper": PAPER_RECIPE}  # presets of flags; a flag given explicitly wins
# The flags that stand for a preset besides its own: D's learning rate is --learning_rate unless --lr_d is given,
# G's is --learning_rate times --g_lr_ratio unless --lr_g is; any of them given keeps the preset off.
PRESET_FLAGS = {"lr_d": ("lr_d", "learning_rate"), "lr_g": ("lr_g", "learning_rate", "g_lr_ratio")}
TEST_IMAGES = 10_000  # the last of the dataset's images are its test set's, whose first D's attention is drawn on


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
    from evaluation.attention_maps import parse_queries
    try:
        return parse_queries(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}" if "grid" in str(e) else
                                         f"{text!r} is not 'row,col;row,col'") from None


def weights_name(text):
    """argparse type: raw, ema, or ema_sigma<width> of an --ema_widths average."""
    width = weights_width(text)
    if text not in WEIGHTS and (width is None or not 0 < width <= MAX_EMA_WIDTH):
        raise argparse.ArgumentTypeError(f"{text!r} is none of raw, ema, {WIDTH_WEIGHTS}<width> (e.g. "
                                         f"{WIDTH_WEIGHTS}0.1)")
    return text


def add_config_flags(parser, cls):
    """A flag for each field of the config dataclass cls that config.option made one, from the field's help, default
    and spec: a field is written once, and its flag follows it."""
    for field in dataclasses.fields(cls):
        spec = dict(field.metadata)
        if "help" not in spec:
            continue
        flag, default = "--" + spec.get("flag", field.name), field.default
        kwargs = dict(dest=field.name, default=default, help=spec["help"])
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif "choices" in spec:
            kwargs["choices"] = spec["choices"]
        elif "bounds" in spec:
            low, high = spec["bounds"]
            kwargs["type"] = (bounded_int(low, high) if isinstance(low, int) else
                              bounded_float(low, high, spec.get("low_open", True)))
        elif "parse" in spec:
            kwargs["type"] = parsed_by(spec["parse"])
        parser.add_argument(flag, **kwargs)


def parsed_by(parse):
    """argparse type: parse(text), its ValueError a one-line error."""
    def parse_text(text):
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None
    parse_text.__name__ = parse.__name__
    return parse_text


def build_parser():
    """The command line's parser, every flag with its default: the configs' fields' (add_config_flags), then the
    phases' own."""
    p = OneLineParser(description="SAGAN and its vanilla GAN baseline, TensorFlow 1 style.",
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    p.add_argument("--gan_type", choices=MODEL_NAMES, help="model to build; required but for --phase compare")
    p.add_argument("--phase", default="train", choices=PHASES,
                   help="train (resuming from the latest checkpoint); sample, evaluate or draw the attention "
                        "maps of the latest checkpoint; compare every run of the dataset, over its seeds; export the "
                        "latest checkpoint's G as a SavedModel")
    for cls in (ModelConfig, TrainConfig, EvalConfig, ParallelConfig, Folders):
        add_config_flags(p, cls)
    p.add_argument("--recipe", default="article", choices=tuple(RECIPES),
                   help="article: the framework's training; paper: hinge loss, --sn, the paper's block, lr_d 4e-4, "
                        "lr_g 1e-4, beta1 0, beta2 0.9 (flags given explicitly win)")
    p.add_argument("--digit", type=bounded_int(0, 9), default=None,
                   help="with --phase sample on a --conditional run: draw only this digit (default: the ten equally)")
    p.add_argument("--weights", default=None, type=weights_name,
                   help=f"which G the per-epoch grids, the best checkpoint, sample, attention and export use: raw (its "
                        f"own weights), ema (their moving average) or {WIDTH_WEIGHTS}<width> (one of --ema_widths') "
                        f"(default: {TrainConfig.weights}, and ema for export); eval and compare report each")
    p.add_argument("--num_samples", type=bounded_int(1, MAX_IMAGES), default=64,
                   help="images written by --phase sample")
    p.add_argument("--num_eval_samples", type=bounded_int(100, MAX_IMAGES), default=10_000,
                   help="generated images compared with the reference images by --phase eval (and compare)")
    p.add_argument("--samples", nargs="+", default=None, metavar="FILE",
                   help="with --phase eval: measure the images of these .npz files (from --phase sample, or "
                        "docs/samples/) instead of a checkpoint's; --gan_type is then not needed")
    p.add_argument("--grid", default=None, metavar="PNG",
                   help="with --samples: also draw the first images of each file side by side into this new PNG "
                        "(files of one seed and count share their z, so each position is one z through each model)")
    p.add_argument("--queries", type=query_list, default=None,
                   help="--phase attention: 7x7-grid positions 'row,col;row,col' (default: a spread of five)")
    p.add_argument("--cluster", default=None,
                   help="host:port of every machine, the chief first, to train on all of them (or set TF_CONFIG); "
                        "run the same command on each with its --task_index")
    p.add_argument("--task_index", type=bounded_int(0, 10_000), default=0, help="this machine's place in --cluster")
    p.add_argument("--measure", action="store_true",
                   help="with --phase compare: first measure each run whose checkpoint its metrics.json has not "
                        "measured (missing, or older), rewriting that metrics.json; without it compare only reads")
    p.add_argument("--report_dir", default=None,
                   help=f"with --phase compare: where the report goes (default: {Folders.result_dir}/compare_<dataset> "
                        "wherever the runs' results are read from, which compare writes into only with --measure)")
    return p


def explicit_flags(parser, argv, dests):
    """The dests among dests that argv sets explicitly, as argparse itself parses argv: argparse fills in a
    default only where the namespace lacks the attribute, so one that starts with a marker in each keeps the
    marker wherever the command line said nothing."""
    unset = object()
    parsed = parser.parse_args(argv, namespace=argparse.Namespace(**{dest: unset for dest in dests}))
    return {dest for dest in dests if getattr(parsed, dest) is not unset}


def parse_args(argv=None):
    """Parse and check the command line; returns the argparse Namespace, the recipe's presets applied where no
    flag given explicitly stands for them."""
    argv = sys.argv[1:] if argv is None else list(argv)
    p = build_parser()
    for flag, why in RETIRED_FLAGS.items():
        if any(arg == f"--{flag}" or arg.startswith(f"--{flag}=") for arg in argv):
            p.error(why)
    args = p.parse_args(argv)
    if args.weights is None:
        args.weights = "ema" if args.phase == "export" else TrainConfig.weights
    given = explicit_flags(p, argv, vars(args))
    for key, value in RECIPES[args.recipe].items():
        if not given & set(PRESET_FLAGS.get(key, (key,))):
            setattr(args, key, value)
    try:
        configs(args)  # a ModelConfig checks what no single flag can: flags that need each other
    except ValueError as e:
        p.error(str(e))
    if args.digit is not None and (args.phase != "sample" or not args.conditional):
        p.error("--digit draws one class of a conditional run: give it with --phase sample and --conditional")
    if args.samples and args.phase != "eval":
        p.error(f"--samples goes with --phase eval, not --phase {args.phase}")
    if args.grid and not args.samples:
        p.error("--grid draws samples files: give them with --samples")
    if args.phase == "train" and args.weights not in configs(args)[0].weights:
        p.error(f"--weights {args.weights} is not kept by this run: add its width to --ema_widths")
    if (args.measure or args.report_dir) and args.phase != "compare":
        p.error(f"--{'measure' if args.measure else 'report_dir'} goes with --phase compare")
    if args.report_dir and os.path.exists(args.report_dir) and not os.path.isdir(args.report_dir):
        p.error(f"--report_dir {args.report_dir} exists and is not a folder")
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
    from parallel import cluster
    tasks, index = (), 0
    if args.cluster:
        tasks, index = cluster.cluster_from_flags(args.cluster, args.task_index)
    elif environ.get("TF_CONFIG"):
        tasks, index = cluster.cluster_from_tf_config(environ["TF_CONFIG"])
    return ParallelConfig(devices=args.devices, sync_bn=args.sync_bn, cluster=tasks, task_index=index,
                          probe_seconds=args.probe_seconds)


class Run:
    """What a phase works with: the configurations, and the data and yardstick it asked for."""

    def __init__(self, args, parallel, log):
        self.args, self.parallel, self.log = args, parallel, log
        self.model_config, self.train_config, self.folders = configs(args)
        self.images = self.labels = self.yardstick = None

    def load_data(self):
        """All of the dataset's images and labels, train and test: what G learns from."""
        from common.data import load_dataset
        self.images, self.labels = load_dataset(self.model_config.dataset, self.folders.data_dir, self.log)

    def load_yardstick(self):
        """The metrics' classifier, trained once under the yardstick's split, and the yardstick."""
        from evaluation.classifier import trained_classifier
        from evaluation.yardstick import Yardstick
        classifier = trained_classifier(self.model_config.dataset, self.folders.checkpoint_dir, self.images,
                                        self.labels, self.log)
        self.yardstick = Yardstick(classifier, self.images, self.labels, self.args.cas_images)
        self.log(f"the metrics' classifier reads {100 * self.yardstick.accuracy:.2f}% of the "
                 f"{len(self.yardstick.split['reference']) + len(self.yardstick.split['floor'])} reference and "
                 "floor images right")

    def runner(self, sess, placement=None, images=None, labels=None):
        """The runner of the chosen model, its training graph built in sess's; images and labels to train on."""
        from training.runner import build
        return build(self.model_config, sess, images, labels, placement)

    def sampler(self, sess, discriminator=False):
        """The runner of the chosen model with only its samplers built in sess's graph (and D, for its attention
        maps), with every power-function average its newest checkpoint holds."""
        import dataclasses
        from config import model_dir
        from training.runner import build
        from training.checkpoints import stored_widths
        config = self.model_config
        stored = stored_widths(self.folders.of("checkpoint", model_dir(config)))
        config = dataclasses.replace(config, ema_widths=tuple(set(config.ema_widths) | set(stored)))
        return build(config, sess, sampler=True, discriminator=discriminator)


def train(run):
    """--phase train: train to --epoch, resuming from the newest checkpoint, evaluating every --eval_every."""
    from common.errors import UserError
    from common.interrupts import activity
    from evaluation.evaluate import epoch_evaluator
    from parallel import cluster
    from training import loop as trainer
    from utils import show_all_variables
    towers = run.parallel.tower_count
    if run.model_config.batch_size % towers:
        raise UserError(f"--batch_size {run.model_config.batch_size} does not split evenly over {towers} devices; "
                        f"give a multiple of {towers}")
    cluster.prepare_devices(run.parallel)  # before the classifier's session starts TensorFlow's runtime
    run.load_data()
    if run.train_config.eval_every > 0:
        run.load_yardstick()
    with cluster.training_session(run.parallel, run.log) as (sess, placement):
        runner = run.runner(sess, placement, run.images, run.labels)
        show_all_variables(runner.model.g_vars + runner.model.d_vars, run.log)
        checkpoint = run.folders.of("checkpoint", runner.model_dir)
        with activity(f"training {runner.model_dir}", f"its newest checkpoint in {checkpoint} is kept"):
            evaluate_epoch = (epoch_evaluator(run.yardstick, run.train_config.epoch_eval_samples) if run.yardstick
                              else None)
            trainer.train(runner, run.folders, run.train_config, run.log, evaluate_epoch)


def sample(run):
    """--phase sample: --num_samples images of the newest checkpoint into a samples file."""
    from common.interrupts import activity
    from common.tfenv import graph_session
    from training import samples
    with graph_session() as sess:
        runner = run.sampler(sess)
        with activity(f"sampling {runner.model_dir}", "no samples were written"):
            samples.write(runner, run.folders, run.args.num_samples, run.args.weights, run.log, run.args.digit)


def evaluate(run):
    """--phase eval: the newest checkpoint's samples measured, both weights, into metrics.json; or, with
    --samples, the samples files' images, written nowhere."""
    from common import tfenv
    from common.interrupts import activity
    from common.tfenv import graph_session
    from evaluation import evaluate as evaluation
    if run.args.samples:  # read before the classifier may train: a bad file costs nothing
        samples = evaluation.read_samples_files(run.args.samples)
        if run.args.grid:
            evaluation.draw_same_z(samples, run.args.grid, run.log)
    tfenv.tensorflow()
    run.load_data()
    run.load_yardstick()
    if run.args.samples:
        with activity("measuring the samples files", "nothing was written"):
            evaluation.evaluate_samples_files(samples, run.yardstick, run.log)
        return
    with graph_session() as sess:
        runner = run.sampler(sess)
        with activity(f"evaluating {runner.model_dir}", "no metrics.json was written"):
            evaluation.evaluate_checkpoint(runner, run.folders, run.yardstick, run.args.num_eval_samples, run.log)


def attention(run):
    """--phase attention: where each attention block of the newest checkpoint looks."""
    from common.interrupts import activity
    from common.tfenv import graph_session
    from evaluation.attention_maps import draw_attention
    run.load_data()
    with graph_session() as sess:
        runner = run.sampler(sess, discriminator=True)
        with activity(f"drawing the attention of {runner.model_dir}", "each picture is whole or absent"):
            draw_attention(runner, run.folders, run.images[-TEST_IMAGES:], run.args.queries, run.args.weights,
                           run.log)


def compare(run):
    """--phase compare: every run of the dataset evaluated where it needs it, then the report."""
    from common.tfenv import graph_session
    from evaluation.compare import compare as compare_runs

    def load_yardstick():
        run.load_data()
        run.load_yardstick()
        return run.yardstick
    compare_runs(run.model_config, run.folders, load_yardstick, run.args.num_eval_samples,
                 lambda: graph_session(), run.log, run.args.measure, run.args.report_dir)


def export_generator(run):
    """--phase export: the newest checkpoint's G as a SavedModel that plain TensorFlow loads, with a model card."""
    from common.tfenv import graph_session
    from export import saved_model
    with graph_session() as sess:
        saved_model.export(run.sampler(sess), run.folders, run.args.weights, run.log)


PHASE_RUNNERS = {"train": train, "sample": sample, "eval": evaluate, "attention": attention, "compare": compare,
                 "export": export_generator}


def serve(run):
    """A cluster's worker: serve this machine's devices to the chief until it is done."""
    from common.interrupts import activity
    from parallel import cluster
    with activity(f"serving task {run.parallel.task_index} of the cluster", "a worker keeps no files"):
        cluster.serve(run.parallel, run.log)


def run_phase(args, parallel, log=print):
    """Run the chosen phase, or serve the cluster's chief when this process is one of its workers."""
    from common import tfenv
    run = Run(args, parallel, log)
    if not parallel.is_chief:
        return serve(run)
    if run.model_config.precision == "bfloat16" and not tfenv.bfloat16_in_hardware():
        print("warning: this CPU has neither AVX512_BF16 nor AMX, so --precision bfloat16 is emulated here and "
              "runs several times slower than float32", file=sys.stderr)
    if not (args.phase == "eval" and args.samples):  # a samples file is read before TensorFlow starts
        tfenv.tensorflow()
    PHASE_RUNNERS[args.phase](run)


def main(argv=None):
    """Run the chosen phase; returns the exit status, which each deliberate exception carries.

    A cluster's worker leaves the process with os._exit instead: its TensorFlow server has no shutdown, and
    threads blocked in it can hang or abort the interpreter's exit.
    """
    from common.errors import Interrupted, NonFinite, UserError, WorkerLost
    from common.interrupts import stops_reported

    args = parse_args(argv)
    worker = False
    try:
        with stops_reported():
            parallel = parallel_config(args)
            worker = not parallel.is_chief
            run_phase(args, parallel)
        status = 0
    except Interrupted as e:
        print(e, flush=True)
        status = e.exit_status
    except (UserError, WorkerLost, NonFinite) as e:
        print(f"error: {e}", file=sys.stderr)
        status = e.exit_status
    except OSError as e:  # an output folder that is full or not writable
        print(f"error: {e.strerror or e}: {e.filename or ''}; free some space or fix permissions, "
              f"then run again", file=sys.stderr)
        status = UserError.exit_status
    if worker:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == "__main__":
    sys.exit(main())
